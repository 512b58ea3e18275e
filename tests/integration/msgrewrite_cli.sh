#!/bin/sh
# msgrewrite_cli.sh MSGREWRITE MSGSHOW MSGCHECK - the command line: exit
# codes, inputs and outputs (stdin, -o, --in-place, --dry-run, --json),
# mbox archives, spool entries, and idempotence. Run from the top of the
# source tree.
set -u
bin=$1 show=$2 check=$3
. "$(dirname "$0")/lib.sh"

clean=testdata/clean/plain-us-ascii.eml
utf8=testdata/clean/plain-utf8-8bit.eml
py=/usr/bin/python3

# same A B: the files have the same bytes.
same() {
    cmp -s "$1" "$2" || { echo "FAIL: $1 and $2 differ"; cmp "$1" "$2"; fail=1; }
}
# parts FILE: the section and decoded sha256 of every part, one a line.
parts() {
    "$show" --json "$1" | "$py" -c 'import json,sys
for p in json.loads(sys.stdin.readline())["parts"]: print(p["section"], p["sha256"])'
}
# text_parts FILE: the same, a text part's line breaks taken as CRLF, the
# canonical form text made base64 is written in (RFC 2045 6.8) whatever the
# message's own: the text a reader sees, in every part.
text_parts() {
    "$py" -c 'import email, email.policy, hashlib, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
for i, p in enumerate(m.walk()):
    if p.is_multipart(): continue
    d = p.get_payload(decode=True) or b""
    if p.get_content_maintype() == "text": d = d.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    print(i, hashlib.sha256(d).hexdigest())' "$1"
}
# stamp FILE: inode, modification time (ns) and permission bits.
stamp() {
    "$py" -c 'import os,sys; s=os.stat(sys.argv[1]); print(s.st_ino, s.st_mtime_ns, oct(s.st_mode & 0o7777))' "$1"
}

# --- usage and exit codes ---------------------------------------------------
expect 0 "" "$bin" --help
has "$tmp/out" '--add-message-id'
expect 0 "" "$bin" --version
expect 64 "unrecognised option" "$bin" --no-such-option "$clean"
expect 64 "exclude each other" "$bin" --crlf --lf "$clean"
expect 64 "needs --output\|with --output or --in-place" "$bin" --json --7bit "$clean"
expect 64 "give 'Name: value'" "$bin" --set 'no colon here' "$clean"
expect 64 "give 'Name: value'" "$bin" --set 'Bad Name: x' "$clean"
expect 64 "give 'Name: value'" "$bin" --add ': empty name' "$clean"
# a line break in a value only folds it: no second field, no end of the header
expect 64 "give 'Name: value'" "$bin" --set "$(printf 'Subject: x\nBcc: evil@example.org')" "$clean"
expect 64 "give 'Name: value'" "$bin" --add "$(printf 'X-A: x\r\n\r\nbody')" "$clean"
expect 0 "" "$bin" --set "$(printf 'Subject: two\n lines')" "$clean"
has "$tmp/out" '^ lines$'
# --add-message-id[=DOMAIN]: the domain only after '='; the word after the
# bare option (abbreviated too) is an input, not a domain (standard input,
# empty here, is not read).
draft=testdata/rewrite/draft.eml
expect 0 "" "$bin" --help
has "$tmp/out" '^  --add-message-id\[=DOMAIN\]  '
for opt in --add-message-id --add-message; do
    expect 0 "" "$bin" "$opt" "$draft" </dev/null
    has "$tmp/out" '^Message-ID: <[^@]*@[^>]*>$'
    lacks "$tmp/out" '^Message-ID: .*draft'
    has "$tmp/out" "^$(grep '^Subject:' "$draft")\$"
done
expect 0 "" "$bin" --add-message-id=example.org "$draft" </dev/null
has "$tmp/out" '^Message-ID: <[^@]*@example\.org>$'
expect 0 "" "$bin" "$draft" --add-message-id </dev/null
has "$tmp/out" '^Message-ID: <'
expect 64 "should follow immediately after the equal sign" "$bin" --add-message-id= "$draft" </dev/null
expect 64 "more than once" "$bin" --add-message-id=example.org --add-message-id "$draft" </dev/null
expect 64 "several inputs (or a directory) need --in-place" "$bin" --7bit "$clean" "$utf8"
expect 66 "cannot open" "$bin" --7bit "$tmp/missing.eml"
# A directory holds several messages: one output cannot take them.
mkdir "$tmp/several" && cp "$clean" "$utf8" "$tmp/several/"
expect 64 "several inputs (or a directory) need --in-place" "$bin" --7bit -o "$tmp/one.eml" "$tmp/several"
[ ! -e "$tmp/one.eml" ] || { echo "FAIL: -o written for a directory"; fail=1; }
# A symbolic link another user planted in a sticky directory is never
# written through, with -o or --in-place (the kernel's protected_symlinks
# rule, which renaming over the target would sidestep).
if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
    mkdir "$tmp/sticky" && chmod 1777 "$tmp/sticky"
    cp "$utf8" "$tmp/secret"
    ln -s "$tmp/secret" "$tmp/sticky/x.eml" && chown -h nobody "$tmp/sticky/x.eml"
    expect 73 "refusing to write through" "$bin" --7bit -o "$tmp/sticky/x.eml" "$utf8"
    expect 73 "refusing to write through" "$bin" --7bit --in-place "$tmp/sticky/x.eml"
    same "$tmp/secret" "$utf8"
    [ -L "$tmp/sticky/x.eml" ] || { echo "FAIL: the planted link was replaced"; fail=1; }
else
    echo "note: not root (or no user nobody): the planted-link case is skipped"
fi
# A walk with --in-place does not follow links out of its tree.
mkdir "$tmp/tree" && cp "$utf8" "$tmp/outside.eml" && cp "$utf8" "$tmp/tree/inside.eml"
ln -s "$tmp/outside.eml" "$tmp/tree/link.eml"
expect 0 "" "$bin" --7bit --in-place "$tmp/tree"
same "$tmp/outside.eml" "$utf8"
cmp -s "$tmp/tree/inside.eml" "$utf8" && { echo "FAIL: the file inside the tree was not rewritten"; fail=1; }
# A file with other hard links is left alone without --force.
cp "$utf8" "$tmp/hard.eml" && ln "$tmp/hard.eml" "$tmp/hard2.eml"
expect 73 "hard links" "$bin" --7bit --in-place "$tmp/hard.eml"
same "$tmp/hard.eml" "$utf8"
has "$tmp/err" "1 message, 0 changed"   # the summary counts changes written
mkdir "$tmp/hardmbox" && printf 'From x\n' > "$tmp/hardmbox/a.mbox" && cat "$utf8" >> "$tmp/hardmbox/a.mbox"
ln "$tmp/hardmbox/a.mbox" "$tmp/hardmbox/b.mbox"
expect 73 "hard links" "$bin" --mbox --7bit --in-place "$tmp/hardmbox/a.mbox"
has "$tmp/err" "0 messages, 0 changed"
expect 0 "" "$bin" --7bit --in-place --force "$tmp/hard.eml"
same "$tmp/hard2.eml" "$utf8"
# A new output file is private.
expect 0 "" "$bin" --7bit -o "$tmp/new.eml" "$utf8"
[ "$(stat -c %a "$tmp/new.eml")" = 600 ] || { echo "FAIL: a new -o file is $(stat -c %a "$tmp/new.eml"), not 600"; fail=1; }

# --in-place through a symbolic link replaces the file it names and keeps the link.
cp "$utf8" "$tmp/real.eml" && ln -s real.eml "$tmp/link.eml"
expect 0 "" "$bin" --7bit --in-place "$tmp/link.eml"
[ -L "$tmp/link.eml" ] || { echo "FAIL: --in-place replaced the symbolic link"; fail=1; }
has "$tmp/real.eml" "^Content-Transfer-Encoding: quoted-printable"
# Nothing asked for, or nothing to change: the message comes out as it went in.
expect 0 "" "$bin" "$clean"
same "$tmp/out" "$clean"
expect 0 "" "$bin" --fix --7bit --fold "$clean"
same "$tmp/out" "$clean"

# 0 when --fix repairs everything; 1 when an error remains (reported on stderr).
expect 0 "" "$bin" --fix testdata/defects/header.8bit/raw-utf8-subject.eml
expect 1 "\[field.missing\]" "$bin" --fix testdata/defects/field.missing/no-date.eml
# 1 when an operation cannot do its work: 8-bit in an address needs SMTPUTF8.
printf 'From: J\303\266rg <j\303\266rg@example.de>\nTo: b@example.net\nSubject: x\nDate: Mon, 6 May 2024 11:24:09 +0200\nMessage-ID: <a.1@example.de>\n\nhi\n' >"$tmp/8bit-addr.eml"
expect 1 "" "$bin" --7bit "$tmp/8bit-addr.eml"
[ -s "$tmp/err" ] || { echo "FAIL: --7bit with an 8-bit address reported nothing"; fail=1; }
has "$tmp/err" '8-bit text in an address'
# placed as a compiler places it: at the address's first 8-bit byte
has "$tmp/err" '8bit-addr.eml:1:8: warning: header From: 8-bit text in an address'
# in an archive, at the archive's line and column, after a step that changed
# the message before it (--fix adds MIME-Version above the body's 8-bit line)
printf 'From a@example.de Mon May  6 11:24:09 2024\n' >"$tmp/8bit-body.mbox"
printf 'From: a@example.de\nTo: b@example.net\nSubject: x\nDate: Mon, 6 May 2024 11:24:09 +0200\nMessage-ID: <a.2@example.de>\nContent-Type: text/plain; charset=us-ascii\n\nok\n>From here: caf\351\n' >>"$tmp/8bit-body.mbox"
expect 1 "" "$bin" --mbox --fix --to-utf8 -o "$tmp/8bit-body.out" "$tmp/8bit-body.mbox"
has "$tmp/err" '8bit-body.mbox:10:16: warning: message 1: message: 8-bit bytes do not decode in us-ascii'
# --json places it alike
expect 1 "" "$bin" --json --dry-run --mbox --fix --to-utf8 "$tmp/8bit-body.mbox"
has "$tmp/out" '"what": "8-bit bytes do not decode in us-ascii: left as it is", "line": 10, "column": 16}'
expect 1 "" "$bin" --to-utf8 testdata/defects/charset.unknown/made-up-charset.eml

# --- standard input and -o ----------------------------------------------------
expect 0 "" sh -c "\"$bin\" --7bit < \"$utf8\""
cp "$tmp/out" "$tmp/stdin.eml"
expect 0 "" sh -c "\"$bin\" --7bit - < \"$utf8\""
same "$tmp/out" "$tmp/stdin.eml"
has "$tmp/stdin.eml" '^Content-Transfer-Encoding: quoted-printable$'
lacks "$tmp/stdin.eml" '[^ -~	]'
expect 0 "" "$bin" --7bit -o "$tmp/o.eml" "$utf8"
[ -s "$tmp/out" ] && { echo "FAIL: -o also wrote to standard output"; fail=1; }
same "$tmp/o.eml" "$tmp/stdin.eml"
[ "$(ls "$tmp" | grep -c '^o\.eml')" = 1 ] || { echo "FAIL: -o left files behind"; ls "$tmp"; fail=1; }
# the decoded content is unchanged
parts "$utf8" >"$tmp/p1"; parts "$tmp/o.eml" >"$tmp/p2"; same "$tmp/p1" "$tmp/p2"

# --- --dry-run and --json -------------------------------------------------------
mkdir "$tmp/dry"
cp "$utf8" "$tmp/dry/m.eml"
before=$(stamp "$tmp/dry/m.eml")
expect 0 "" "$bin" --dry-run --7bit "$tmp/dry/m.eml"
[ -s "$tmp/out" ] && { echo "FAIL: --dry-run wrote the message"; fail=1; }
same "$tmp/dry/m.eml" "$utf8"
[ "$(stamp "$tmp/dry/m.eml")" = "$before" ] || { echo "FAIL: --dry-run touched the file"; fail=1; }
[ "$(ls "$tmp/dry")" = m.eml ] || { echo "FAIL: --dry-run left files"; ls "$tmp/dry"; fail=1; }
expect 0 "" "$bin" --dry-run --json --fix --7bit --fold "$tmp/dry/m.eml"
"$py" - "$tmp/out" "$tmp/dry/m.eml" <<'PY' || fail=1
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert set(o) == {"source", "index", "changed", "changes", "problems", "remaining"}, o
assert o["source"] == sys.argv[2] and o["index"] == 0 and o["changed"] is True, o
assert o["changes"] and all(set(c) == {"step", "where", "what"} for c in o["changes"]), o
assert any(c["step"] == "7bit" for c in o["changes"]), o
assert o["problems"] == [] and o["remaining"] == [], o
PY
# without --fix there is no "remaining"; an unchanged message says so
expect 0 "" "$bin" --json -o "$tmp/j.eml" --7bit "$clean"
"$py" -c '
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert set(o) == {"source", "index", "changed", "changes", "problems"}, o
assert o["changed"] is False and o["changes"] == [] and o["problems"] == [], o
' "$tmp/out" || { echo "FAIL: --json for an unchanged message"; cat "$tmp/out"; fail=1; }
same "$tmp/j.eml" "$clean"
# a problem and what --fix leaves, in JSON
expect 1 "" "$bin" --json --dry-run --fix --7bit "$tmp/8bit-addr.eml" testdata/defects/field.missing/no-date.eml
"$py" -c '
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert a["problems"] and all(set(p) == {"step", "where", "what", "line", "column"} for p in a["problems"]), a
assert [(p["line"], p["column"]) for p in a["problems"]] == [(1, 8), (1, 8)], a   # the first 8-bit byte of From
assert [r["defect"] for r in b["remaining"]] == ["field.missing"], b
assert set(b["remaining"][0]) >= {"defect", "severity", "line", "column"}, b
' "$tmp/out" || { echo "FAIL: --json problems/remaining"; cat "$tmp/out"; fail=1; }

# --- --in-place -----------------------------------------------------------------
mkdir "$tmp/ip"
cp "$utf8" "$tmp/ip/a.eml"
cp "$clean" "$tmp/ip/b.eml"
chmod 640 "$tmp/ip/a.eml"
chmod 604 "$tmp/ip/b.eml"
a0=$(stamp "$tmp/ip/a.eml")
touch -d '2020-01-01 00:00:00' "$tmp/ip/b.eml"
b0=$(stamp "$tmp/ip/b.eml")
expect 0 "" "$bin" --7bit --fold --in-place "$tmp/ip/a.eml" "$tmp/ip/b.eml"
[ -s "$tmp/out" ] && { echo "FAIL: --in-place wrote to standard output"; fail=1; }
same "$tmp/ip/a.eml" "$tmp/stdin.eml"
same "$tmp/ip/b.eml" "$clean"
a1=$(stamp "$tmp/ip/a.eml")
[ "${a1##* }" = 0o640 ] || { echo "FAIL: --in-place lost the permission bits: $a1"; fail=1; }
[ "${a1%% *}" != "${a0%% *}" ] || { echo "FAIL: --in-place did not replace the file (same inode)"; fail=1; }
[ "$(stamp "$tmp/ip/b.eml")" = "$b0" ] || { echo "FAIL: --in-place rewrote an unchanged file"; fail=1; }
[ "$(ls -A "$tmp/ip" | tr '\n' ' ')" = "a.eml b.eml " ] || { echo "FAIL: --in-place left files"; ls -A "$tmp/ip"; fail=1; }
# again: nothing changes, nothing is rewritten
expect 0 "" "$bin" --7bit --fold --in-place "$tmp/ip/a.eml"
[ "$(stamp "$tmp/ip/a.eml")" = "$a1" ] || { echo "FAIL: a second --in-place rewrote the file"; fail=1; }

# --- mbox archives --------------------------------------------------------------
# count FILE: the messages msgshow --stats finds in an archive
count() { "$show" --stats --mbox "$1" | sed -n 's/^messages: //p'; }
gz=testdata/mbox/sample.mbox.gz
n=$(count "$gz")
expect 0 "" "$bin" --mbox --7bit --fold -o "$tmp/s.mbox" "$gz"
[ "$(count "$tmp/s.mbox")" = "$n" ] || { echo "FAIL: --mbox changed the number of messages"; fail=1; }
[ "$(grep -c '^From ' "$tmp/s.mbox")" = "$(gzip -dc "$gz" | grep -c '^From ')" ] || { echo "FAIL: From_ lines"; fail=1; }
"$check" -q --mbox --select header.8bit,body.8bit-in-7bit "$tmp/s.mbox" || { echo "FAIL: --mbox --7bit left 8-bit"; fail=1; }
# messages no operation touches are byte-identical: with nothing asked, the whole archive is
gzip -dc "$gz" >"$tmp/plain.mbox"
expect 0 "" "$bin" --mbox -o "$tmp/same.mbox" "$gz"
same "$tmp/same.mbox" "$tmp/plain.mbox"
# and with --7bit --fold, each unchanged message (per --json) is the same bytes
expect 0 "" "$bin" --mbox --json -o "$tmp/s2.mbox" --7bit --fold "$tmp/plain.mbox"
"$py" - "$tmp/out" "$tmp/plain.mbox" "$tmp/s2.mbox" <<'PY' || { echo "FAIL: unchanged mbox messages differ"; fail=1; }
import json, re, sys
report = [json.loads(l) for l in open(sys.argv[1])]
def split(path):
    data = open(path, "rb").read()
    starts = [m.start() for m in re.finditer(rb"(?m)^From ", data)]
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]
a, b = split(sys.argv[2]), split(sys.argv[3])
assert len(a) == len(b) == len(report), (len(a), len(b), len(report))
assert any(r["changed"] for r in report)
for r, x, y in zip(report, a, b):
    assert r["changed"] or x == y, r["index"]
PY
# .gz output is compressed; the same archive comes back
expect 0 "" "$bin" --mbox --7bit --fold -o "$tmp/s.mbox.gz" "$gz"
[ "$(od -An -tx1 -N2 "$tmp/s.mbox.gz" | tr -d ' ')" = 1f8b ] || { echo "FAIL: -o x.mbox.gz is not gzip"; fail=1; }
gzip -dc "$tmp/s.mbox.gz" | cmp -s - "$tmp/s.mbox" || { echo "FAIL: the .gz archive differs"; fail=1; }
# in place on an archive
cp testdata/mbox/mboxrd/archive.mbox "$tmp/ip/box.mbox"
n=$(count "$tmp/ip/box.mbox")
expect 0 "" "$bin" --mbox --crlf --in-place "$tmp/ip/box.mbox"
[ "$(count "$tmp/ip/box.mbox")" = "$n" ] || { echo "FAIL: --in-place --mbox changed the number of messages"; fail=1; }
grep -q "$(printf '\r')\$" "$tmp/ip/box.mbox" || { echo "FAIL: --in-place --mbox --crlf did nothing"; fail=1; }
[ "$(ls -A "$tmp/ip" | tr '\n' ' ')" = "a.eml b.eml box.mbox " ] || { echo "FAIL: --in-place --mbox left files"; ls -A "$tmp/ip"; fail=1; }
expect 65 "" "$bin" --mbox --7bit "$clean"

# --- not mail: refused, left as it is, exit 65 --------------------------------------
printf '\320\317\021\340\241\261\032\341\000\000:\000\nbinary\r\ndata\n' >"$tmp/outlook.msg"
cp "$tmp/outlook.msg" "$tmp/outlook.orig"
expect 65 "not a message: binary data" "$bin" --fix "$tmp/outlook.msg"
expect 65 "not a message: binary data" "$bin" -q --fix "$tmp/outlook.msg"  # an error: said under -q too
[ -s "$tmp/out" ] && { echo "FAIL: output written for input that is not mail"; fail=1; }
expect 65 "left as it is" "$bin" --fix --in-place "$tmp/outlook.msg"
same "$tmp/outlook.msg" "$tmp/outlook.orig"
expect 65 "" "$bin" --fix -o "$tmp/nm.eml" "$tmp/outlook.msg"
[ ! -e "$tmp/nm.eml" ] || { echo "FAIL: -o written for input that is not mail"; fail=1; }
printf 'Just a note, no header.\nSecond line.\n' >"$tmp/note.txt"
expect 65 "no header field" "$bin" --fix --crlf "$tmp/note.txt"
expect 65 "" "$bin" --fix --json --dry-run "$tmp/note.txt"
has "$tmp/out" '"not_mail": "not a message: no header field at the start"'
{ printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\n'; cat "$tmp/outlook.orig"; } >"$tmp/nm.entry"
cp "$tmp/nm.entry" "$tmp/nm.entry.orig"
expect 65 "" "$bin" --fix --in-place "$tmp/nm.entry"
same "$tmp/nm.entry" "$tmp/nm.entry.orig"
# In an archive, such a message is copied as it is; the others are rewritten.
{ printf 'From a@example.org Mon Nov 23 09:15:00 2026\n'; cat "$tmp/note.txt"; printf '\n';
  printf 'From a@example.org Mon Nov 23 09:16:00 2026\n'; cat "$utf8"; } >"$tmp/nm.mbox"
expect 65 "nm.mbox:1:1: error: message 1: not a message" "$bin" --mbox --7bit -o "$tmp/nm.out.mbox" "$tmp/nm.mbox"
has "$tmp/nm.out.mbox" '^Just a note, no header.$'
has "$tmp/nm.out.mbox" '^Content-Transfer-Encoding: quoted-printable'

# --- over --max-size: refused the same way ----------------------------------------
cp "$utf8" "$tmp/big.eml"
size=$(wc -c <"$tmp/big.eml")
expect 65 "$size bytes, over the limit of 100 (--max-size); left as it is" "$bin" --7bit --max-size 100 -o "$tmp/big.out" "$tmp/big.eml"
[ ! -e "$tmp/big.out" ] || { echo "FAIL: -o written for a message over --max-size"; fail=1; }
expect 65 "" "$bin" --7bit --max-size 100 --in-place "$tmp/big.eml"
same "$tmp/big.eml" "$utf8"
expect 65 "" "$bin" --7bit --max-size 100 --json --dry-run "$tmp/big.eml"
has "$tmp/out" '"too_large": true'
expect 0 "" "$bin" --7bit --max-size "$size" -o "$tmp/big.out" "$tmp/big.eml"
expect 0 "" "$bin" --7bit --max-size 0 -o "$tmp/big.out" "$tmp/big.eml"
# In an archive: copied as it is, the smaller message rewritten.
expect 65 ": error: message 2: .* bytes, over the limit" "$bin" --mbox --7bit --max-size "$(wc -c <"$tmp/note.txt")" \
    -o "$tmp/nm.out.mbox" "$tmp/nm.mbox"
cmp -s "$tmp/nm.out.mbox" "$tmp/nm.mbox" || { echo "FAIL: an archive of refused messages changed"; fail=1; }

# --- --fix leaves nothing it could repair, or says why -------------------------
"$bin" --fix --json --dry-run testdata/defects/*/*.eml testdata/clean/*.eml testdata/messages/* \
    testdata/mimekit/messages/* 2>/dev/null | "$py" -c '
import json, sys
bad = 0
for line in sys.stdin:
    o = json.loads(line)
    left = [r["defect"] for r in o["remaining"] if r["repairable"]]
    why = [p["what"] for p in o["problems"]]
    if left and (not why or any("no rule of --fix" in w for w in why)):
        print("FAIL: --fix %s left %s without saying why: %s" % (o["source"], left, why))
        bad = 1
sys.exit(bad)
' || fail=1

# --- spool entries --------------------------------------------------------------
{ printf 'MAIL FROM:<a@example.org> BODY=8BITMIME\nRCPT TO:<b@example.net>\n\n'; cat "$utf8"; } >"$tmp/entry"
expect 0 "" "$bin" --7bit "$tmp/entry"
cp "$tmp/out" "$tmp/entry.out"
head -n 3 "$tmp/entry.out" >"$tmp/env.out"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\n' >"$tmp/env.want"
same "$tmp/env.out" "$tmp/env.want"
tail -n +4 "$tmp/entry.out" >"$tmp/entry.msg"
same "$tmp/entry.msg" "$tmp/stdin.eml"
expect 0 "" "$check" "$tmp/entry.out"
# with --spool too, and a message that needs no change keeps BODY=8BITMIME
{ printf 'MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=900\nRCPT TO:<b@example.net>\n\n'; cat "$clean"; } >"$tmp/entry2"
expect 0 "" "$bin" --spool --fold "$tmp/entry2"
same "$tmp/out" "$tmp/entry2"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n' >"$tmp/cut.entry"
expect 1 "" "$bin" --spool --7bit "$tmp/cut.entry"
same "$tmp/out" "$tmp/cut.entry"

# --- --7bit --fold output passes msgcheck; idempotence ------------------------------
for f in testdata/clean/*; do
    "$bin" --7bit --fold "$f" >"$tmp/c.eml" 2>"$tmp/err" || { echo "FAIL: --7bit --fold $f"; cat "$tmp/err"; fail=1; }
    "$check" -q "$tmp/c.eml" || { echo "FAIL: --7bit --fold $f: msgcheck finds errors"; fail=1; }
    text_parts "$f" >"$tmp/p1"; text_parts "$tmp/c.eml" >"$tmp/p2"
    cmp -s "$tmp/p1" "$tmp/p2" || { echo "FAIL: --7bit --fold $f changed decoded content"; fail=1; }
done
for f in testdata/clean/* testdata/defects/*/*.eml testdata/rewrite/*.eml; do
    "$bin" --fix --7bit --fold "$f" >"$tmp/i1.eml" 2>/dev/null
    "$bin" --fix --7bit --fold "$tmp/i1.eml" >"$tmp/i2.eml" 2>/dev/null
    cmp -s "$tmp/i1.eml" "$tmp/i2.eml" || { echo "FAIL: --fix --7bit --fold is not idempotent on $f"; fail=1; }
done

# An archive's bytes before its first From_ line stay where they are.
cp testdata/mbox-leading/junk-before-first.mbox "$tmp/lead.mbox"
expect 0 "" "$bin" --mbox --7bit --in-place "$tmp/lead.mbox"
[ "$(head -n 3 "$tmp/lead.mbox")" = "$(head -n 3 testdata/mbox-leading/junk-before-first.mbox)" ] ||
    { echo "FAIL: msgrewrite --mbox lost the bytes before the first From_ line"; fail=1; }
grep -q '^Content-Transfer-Encoding: ' "$tmp/lead.mbox" || { echo "FAIL: the archive was not rewritten"; fail=1; }

# Bytes before an archive's first message go back only at the start of the
# output: those of a second archive are left out, said, exit 1.
printf 'junk\n\nFrom a@example.org Mon Nov 23 09:00:00 2026\nFrom: a@example.org\nTo: b@example.net\nDate: Mon, 23 Nov 2026 09:00:00 +0000\n\none\n' >"$tmp/lead1.mbox"
cp "$tmp/lead1.mbox" "$tmp/lead2.mbox"
expect 1 "lead2.mbox: the 6 bytes before its archive's first message are not written" \
    "$bin" --mbox "$tmp/lead1.mbox" "$tmp/lead2.mbox" -o "$tmp/lead.out"
[ "$(grep -c '^junk$' "$tmp/lead.out")" = 1 ] && [ "$(grep -c '^From ' "$tmp/lead.out")" = 2 ] ||
    { echo "FAIL: leading bytes of the second archive"; cat "$tmp/lead.out"; fail=1; }

# Stopped by SIGTERM while it writes -o FILE: no temporary left beside it,
# and an older FILE as it was. (The input is a pipe kept open, so the run is
# waiting for more of the archive when the signal comes.)
mkdir "$tmp/stopped"
printf 'old\n' >"$tmp/stopped/out.mbox"
mkfifo "$tmp/stopped.fifo"
"$bin" --mbox --fold -o "$tmp/stopped/out.mbox" "$tmp/stopped.fifo" 2>/dev/null &
pid=$!
exec 9>"$tmp/stopped.fifo"
printf 'From a@example.org Mon Nov 23 09:00:00 2026\nFrom: a@example.org\n\none\n' >&9
tries=0
while [ -z "$(ls -A "$tmp/stopped" | grep '\.tmp$')" ] && [ $tries -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
[ $tries -lt 50 ] || { echo "FAIL: msgrewrite -o made no temporary file beside its output"; fail=1; }
kill -TERM $pid
wait $pid
rc=$?
exec 9>&-
[ $rc = 143 ] || { echo "FAIL: msgrewrite stopped by SIGTERM exited $rc, not 143"; fail=1; }
[ "$(ls -A "$tmp/stopped")" = out.mbox ] || { echo "FAIL: left after SIGTERM:"; ls -A "$tmp/stopped"; fail=1; }
[ "$(cat "$tmp/stopped/out.mbox")" = old ] || { echo "FAIL: out.mbox changed by a stopped run"; fail=1; }

exit $fail
