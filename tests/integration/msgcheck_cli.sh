#!/bin/sh
# msgcheck_cli.sh MSGCHECK - the command line: inputs, output forms, filters,
# exit codes. Run from the top of the source tree.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"

clean=testdata/clean/plain-us-ascii.eml
expect 0 "" "$bin" --help
has "$tmp/out" '--werror'
expect 0 "" "$bin" --version
expect 64 "unrecognised option" "$bin" --no-such-option
expect 64 "unknown defect code or group 'nosuch'" "$bin" --ignore nosuch "$clean"
expect 64 "no defect is called" "$bin" --explain nosuch
expect 0 "" "$bin" --explain line.long
has "$tmp/out" 'line.long (warning, RFC 5322 2.1.1)'
expect 0 "" "$bin" --list
has "$tmp/out" '^envelope.8bitmime-needed	error	'

# Clean messages: no output, exit 0 even with --werror; a directory is read recursively.
expect 0 "msgcheck: 23 messages, 0 errors, 0 warnings" "$bin" --werror testdata/clean
expect 0 "" "$bin" --json --werror testdata/clean
[ -s "$tmp/out" ] && { echo "FAIL: --json printed something for clean messages"; fail=1; }

# A message with one warning and one error, in text and in JSON.
printf 'From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nSubject: %s\nTo: b@@example.net\nMessage-ID: <1@example.org>\n\nhi\n' \
    "$(printf 'x%.0s' $(seq 1 90))" >"$tmp/bad.eml"
expect 1 "" "$bin" "$tmp/bad.eml"
has "$tmp/out" "^$tmp/bad.eml:3:1: warning: line is longer than 78 characters (99 characters) \[line.long\]"
has "$tmp/out" "^$tmp/bad.eml:4:.*: error: .*\[address.syntax\]"
has "$tmp/err" "msgcheck: 1 message, 1 error, 1 warning"
expect 1 "" "$bin" --json "$tmp/bad.eml"
has "$tmp/out" '"source": "'"$tmp"'/bad.eml", "index": 0, "line": 3, "column": 1, "offset": 58, "defect": "line.long", "severity": "warning"'
has "$tmp/err" '^msgcheck: 1 message, 1 error, 1 warning$'
lacks "$tmp/out" 'msgcheck:'
expect 1 "" "$bin" --format json "$tmp/bad.eml"
has "$tmp/out" '"defect": "line.long"'
expect 64 "contradict" "$bin" --json --format sarif "$tmp/bad.eml"
expect 64 "two output formats" "$bin" --format json --format sarif "$tmp/bad.eml"

# Diagnostics on standard output, the summary on standard error; -q: errors only, no summary.
expect 1 "msgcheck: 1 message, 1 error, 1 warning" "$bin" "$tmp/bad.eml"
lacks "$tmp/err" 'line.long'
has "$tmp/out" 'line.long'
expect 1 "" "$bin" -q "$tmp/bad.eml"
has "$tmp/out" '\[address.syntax\]'
lacks "$tmp/out" 'warning'
[ -s "$tmp/err" ] && { echo "FAIL: -q printed a summary"; cat "$tmp/err"; fail=1; }
# --color: always colours even into a file, never and auto (not a terminal) do not.
expect 1 "" "$bin" --color always "$tmp/bad.eml"
has "$tmp/out" "$(printf '\033')\\["
expect 1 "" "$bin" --color never "$tmp/bad.eml"
lacks "$tmp/out" "$(printf '\033')"
expect 1 "" "$bin" "$tmp/bad.eml"
lacks "$tmp/out" "$(printf '\033')"
expect 64 "auto, always or never" "$bin" --color sometimes "$tmp/bad.eml"

# SARIF 2.1.0: one document, every rule, each result at its place.
: >"$tmp/nothing"
expect 65 "" "$bin" --format sarif "$tmp/bad.eml" "$tmp/nothing"
/usr/bin/python3 - "$tmp/out" "$tmp/bad.eml" "$bin" <<'PY' || fail=1
import json, subprocess, sys
log = json.load(open(sys.argv[1]))
assert log["version"] == "2.1.0", log["version"]
run = log["runs"][0]
rules = run["tool"]["driver"]["rules"]
codes = [l.split("\t")[0] for l in subprocess.run([sys.argv[3], "--list"], capture_output=True, text=True).stdout.splitlines()]
assert [r["id"] for r in rules] == codes + ["input.not-mail"], "the rules are the catalogue, then input.not-mail"
res = run["results"]
by = {r.get("ruleId"): r for r in res}
long = by["line.long"]
assert long["level"] == "warning" and rules[long["ruleIndex"]]["id"] == "line.long", long
loc = long["locations"][0]["physicalLocation"]
assert loc["artifactLocation"]["uri"].endswith("/bad.eml"), loc
assert loc["region"]["startLine"] == 3 and loc["region"]["startColumn"] == 1 and loc["region"]["byteOffset"] == 58, loc
assert by["address.syntax"]["level"] == "error"
# Every result has a rule (SARIF 3.27.5), an input that is not mail too.
assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in res), res
assert any(r["ruleId"] == "input.not-mail" and "empty input" in r["message"]["text"] for r in res), res
assert run["invocations"][0]["exitCode"] == 65, run["invocations"]
assert "toolExecutionNotifications" not in run["invocations"][0], "every input could be read"
PY
# An input that cannot be read is said on standard error and, in SARIF, as a
# notification of the invocation: level error, the same text, at the file's
# URI as results give it; in input order, with -j 1 as with -j 2.
sarif_unread() {   # STDERR FILE...: the notifications of $tmp/out are those of STDERR's lines, at FILE...
    /usr/bin/python3 - "$tmp/out" "$@" <<'PY' || { fail=1; cat "$tmp/err"; }
import json, os, sys, urllib.parse
run = json.load(open(sys.argv[1]))["runs"][0]
said = [l[len("msgcheck: "):] for l in open(sys.argv[2], encoding="utf-8").read().splitlines()]
inv = run["invocations"][0]
notes = inv.get("toolExecutionNotifications", [])
assert [n["message"]["text"] for n in notes] == said, (notes, said)
assert all(n["level"] == "error" for n in notes), notes
uris = [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes]
assert uris == [urllib.parse.quote(os.fsencode(f), safe="/") for f in sys.argv[3:]], uris
assert inv["executionSuccessful"] is False, inv
assert all("cannot" not in r["message"]["text"] for r in run["results"]), run["results"]
PY
}
missing=$(printf '%s/mis sing\033.eml' "$tmp")
for j in 1 2; do
    expect 66 "" "$bin" -q -j $j --format sarif "$tmp/bad.eml" "$missing" "$tmp/nothing" "$tmp/missing2"
    has "$tmp/err" 'mis sing\\x1b.eml'
    sarif_unread "$tmp/err" "$missing" "$tmp/missing2"
    cp "$tmp/out" "$tmp/unread.$j"
done
cmp -s "$tmp/unread.1" "$tmp/unread.2" || { echo "FAIL: -j 2 gives another SARIF log"; diff "$tmp/unread.1" "$tmp/unread.2"; fail=1; }
# With --mbox: a file that is not an archive, a gzip stream that is corrupt.
{ printf 'From a@example.org Mon Nov 23 09:15:00 2026\n'; cat "$tmp/bad.eml"; } >"$tmp/one.mbox"
printf '\037\213\010\000\000\000\000\000\000\003not deflate data' >"$tmp/corrupt.mbox.gz"
expect 65 "" "$bin" -q --mbox --format sarif "$tmp/bad.eml" "$tmp/one.mbox" "$tmp/corrupt.mbox.gz"
has "$tmp/err" "not an mbox archive"
sarif_unread "$tmp/err" "$tmp/bad.eml" "$tmp/corrupt.mbox.gz"
# Several files: each one's lines are its own (buffers are reused between files).
{ printf 'From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n'
  printf 'Comments: one\nComments: two\nComments: three\nComments: four\nComments: five\n'
  sed -n '3,$p' "$tmp/bad.eml"; } >"$tmp/bad2.eml"
expect 1 "" "$bin" "$tmp/bad.eml" "$tmp/bad2.eml"
has "$tmp/out" "^$tmp/bad2.eml:8:1: warning: .*\[line.long\]"
has "$tmp/out" "^$tmp/bad2.eml:9:.*\[address.syntax\]"
# Filters and --werror
expect 0 "0 errors, 1 warning" "$bin" --ignore address "$tmp/bad.eml"
expect 1 "0 errors, 1 warning" "$bin" --ignore address --werror "$tmp/bad.eml"
expect 1 "1 error, 0 warnings" "$bin" --select address.syntax,date "$tmp/bad.eml"
expect 0 "" "$bin" -q --select date "$tmp/bad.eml"
[ -s "$tmp/err" ] && { echo "FAIL: -q printed something"; cat "$tmp/err"; fail=1; }

# Standard input
expect 1 "" sh -c "\"$bin\" < \"$tmp/bad.eml\""
has "$tmp/out" "^<stdin>:3:1: warning"
expect 1 "" sh -c "\"$bin\" - < \"$tmp/bad.eml\""
has "$tmp/out" "^<stdin>:3:1: warning"

# Inputs that are not mail: 65, and the others are still checked.
: >"$tmp/empty"
printf '\211PNG\r\n\032\n\0\0\0\rIHDR' >"$tmp/image.png"
expect 65 "" "$bin" "$tmp/empty" "$tmp/image.png" "$tmp/bad.eml"
has "$tmp/out" "$tmp/empty:1:1: error: empty input, not a message"
has "$tmp/out" "$tmp/image.png:1:1: error: not a message"
has "$tmp/out" "bad.eml:4:"
has "$tmp/err" "3 messages, 1 error, 1 warning, 2 not mail"
# Binary data whose first line has a colon (an Outlook .msg file) is not mail either.
printf '\320\317\021\340\241\261\032\341\000\000:\000\nbinary\r\ndata\n' >"$tmp/outlook.msg"
expect 65 "" "$bin" "$tmp/outlook.msg"
has "$tmp/out" "$tmp/outlook.msg:1:1: error: not a message: binary data"
expect 66 "cannot open" "$bin" "$tmp/missing" "$clean"
# A bad field name on the first line is a defect, not "not mail".
printf 'X Mailer: one\nFrom: a@example.org\n\nbody\n' >"$tmp/badfirst.eml"
expect 1 "" "$bin" "$tmp/badfirst.eml"
has "$tmp/out" "badfirst.eml:1:2: error: .*\[header.bad-field-name\]"

# mbox archives: each message is reported with the archive's line numbers.
{ printf 'From a@example.org Mon Nov 23 09:15:00 2026\n'; cat "$clean"; echo
  printf 'From a@example.org Mon Nov 23 09:16:00 2026\n'; cat "$tmp/bad.eml"; echo; } >"$tmp/box.mbox"
lines=$(wc -l <"$clean")
expect 1 "" "$bin" --mbox "$tmp/box.mbox"
has "$tmp/out" "^$tmp/box.mbox:$((lines + 2 + 1 + 3)):1: warning: .*\[line.long\]"
has "$tmp/err" "2 messages, 1 error, 1 warning"
expect 1 "" "$bin" --json --mbox "$tmp/box.mbox"
has "$tmp/out" '"index": 1, "line": '$((lines + 6))', "column": 1'
gzip -c "$tmp/box.mbox" >"$tmp/box.mbox.gz"
expect 1 "2 messages, 1 error, 1 warning" "$bin" --mbox "$tmp/box.mbox.gz"
expect 65 "not an mbox archive" "$bin" --mbox "$clean"

# Spool entries: the envelope is checked, and lines count from the entry's top.
{ printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nRCPT TO:<c@@example.net>\n\n'
  cat "$tmp/bad.eml"; } >"$tmp/entry"
expect 1 "" "$bin" "$tmp/entry"
has "$tmp/out" "^$tmp/entry:3:12: error: .*\[envelope.path-syntax\]"
has "$tmp/out" "^$tmp/entry:7:1: warning: .*\[line.long\]"
{ printf 'MAIL FROM:<a@example.org> SMTPUTF8 BODY=8BITMIME\nRCPT TO:<b@example.net>\n\n'
  printf 'From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <2@example.org>\nSubject: caf\303\251\n'
  printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\303\251\n'; } >"$tmp/utf8.entry"
expect 0 "1 message, 0 errors, 0 warnings" "$bin" "$tmp/utf8.entry"
sed 's/ SMTPUTF8//' "$tmp/utf8.entry" >"$tmp/noutf8.entry"
expect 1 "" "$bin" "$tmp/noutf8.entry"
has "$tmp/out" "^$tmp/noutf8.entry:7:13: error: .*\[envelope.smtputf8-needed\]"
has "$tmp/out" "\[header.8bit\]"

# In an archive whose ">From " lines are unquoted, positions are those of
# the file: the offset, line and column of the 0xE9 after two quoted lines
# (one of them ">>From"), and of the unquoted From line after it.
printf 'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nTo: b@example.net\nSubject: x\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <x@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n>From one\n>>From two\n>From caf\351 here\nFrom unquoted\n' >"$tmp/quoted.mbox"
"$bin" --mbox --json "$tmp/quoted.mbox" >"$tmp/out" 2>/dev/null
has "$tmp/out" '"line": 13, "column": 10, "offset": 283, "defect": "body.8bit-in-7bit"'
has "$tmp/out" '"line": 14, "column": 1, "offset": 290, "defect": "mbox.unquoted-from"'
"$bin" --mbox "$tmp/quoted.mbox" >"$tmp/out" 2>&1
has "$tmp/out" 'quoted.mbox:13:10: error: 8-bit data in a part declared 7bit'

# Standard error is written a line at a time: two runs side by side on one
# pipe, each with 3,000 missing inputs, give 6,000 whole lines, none cut
# into by the other (a write per insertion interleaved them mid-line).
missing=$(seq 1 3000 | sed "s|^|$tmp/missing-|")
# shellcheck disable=SC2086
{ "$bin" $missing & "$bin" $missing & wait; } 2>&1 >/dev/null | cat >"$tmp/both"
whole=$(grep -c "^msgcheck: cannot open $tmp/missing-[0-9]*: No such file or directory\$" "$tmp/both")
[ "$whole" = 6000 ] || { echo "FAIL: $whole of 6000 lines whole on a shared stderr"; fail=1; }

exit $fail
