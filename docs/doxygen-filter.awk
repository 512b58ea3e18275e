# doxygen-filter.awk - libmsg's public headers as Doxygen is to read them.
#
# The headers are commented with plain // comments, which Doxygen ignores.
# This filter (Doxyfile.in's INPUT_FILTER) turns them into Doxygen's own
# comments on the fly, and leaves the headers as they are:
#  - the block that opens a file ("// name.hpp - what it is", and the comment
#    lines after it) documents the file;
#  - a comment on lines of its own documents what follows it (///);
#  - a comment after a declaration documents that declaration (///<), and so
#    do the comment lines below it that start in the same column;
#  - comment lines indented by three spaces or more (tables, grammars,
#    examples) are shown as they are written (a Markdown code block);
#  - a heading between groups of declarations ("// --- title ---") stays a
#    plain comment, and "--" (as in --json) stays two dashes, not a dash.
# No line is added or removed: line numbers stay those of the header.

# The column (1-based) of the first "//" outside a string literal, or 0.
function comment_column(s,    i, c, quoted) {
    quoted = 0
    for (i = 1; i < length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\" && quoted) { i++; continue }
        if (c == "\"") quoted = !quoted
        else if (!quoted && substr(s, i, 2) == "//") return i
    }
    return 0
}

# A Doxygen comment: "//" becomes MARK ("///" or "///<"), "--" stays "--".
# A list item ("//  - item") goes on in lines indented by four spaces.
function doc(code, mark, text) {
    if (text ~ /^  ?- /) in_list = 1
    else if (!(in_list && text ~ /^    [^ ]/)) in_list = 0
    if (!in_list && text ~ /^   /) return code mark "  " text   # preformatted
    gsub(/--/, "\\--", text)
    return code mark text
}

BEGIN { opening = 1; trailing = 0 }

{
    line = $0
    col = comment_column(line)
    code = col ? substr(line, 1, col - 1) : line
    text = col ? substr(line, col + 2) : ""
    own_line = col && code ~ /^[ \t]*$/

    if (opening) {
        if (own_line && FNR == 1 && match(text, /^ [^ ]+ - /)) {
            # "// name.hpp - what it is" -> "/// \file name.hpp \brief what it is"
            name = substr(text, 2, RLENGTH - 4)
            print doc(code, "/// \\file " name " \\brief ", substr(text, RLENGTH + 1))
            next
        }
        if (own_line) { print doc(code, "///", text); next }
        opening = 0
    }
    if (!col || substr(text, 1, 1) == "/" || code ~ /^[ \t]*#/ || (own_line && text ~ /^ ---/)) {
        # no comment, a Doxygen comment already, a preprocessor line, a heading
        trailing = 0
        print line
    } else if (own_line && trailing && col == trailing) {
        print doc(code, "///<", text)   # the trailing comment above, continued
    } else if (own_line) {
        trailing = 0
        print doc(code, "///", text)
    } else {
        trailing = col
        print doc(code, "///<", text)
    }
}
