#!/bin/sh
# msgshow_cli.sh MSGSHOW - exit codes and messages of the command line.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"

msg=testdata/mimekit/messages/body.1.txt
expect 0 "" "$bin" --help
grep -q -- '--extract-all' "$tmp/out" || { echo "FAIL: --help does not list --extract-all"; fail=1; }
expect 0 "" "$bin" --version
expect 64 "unrecognised option" "$bin" --no-such-option
expect 64 "exclude each other" "$bin" --json --stats "$msg"
expect 66 "cannot open $tmp/missing" "$bin" "$tmp/missing"
expect 65 "no section 9" "$bin" --extract 9 "$msg"
expect 65 "not an mbox archive" "$bin" --mbox "$msg"

# A missing file among good ones: the good ones are still shown.
expect 66 "cannot open" "$bin" "$tmp/missing" "$msg"
grep -q 'text/plain' "$tmp/out" || { echo "FAIL: good input not shown after a missing one"; fail=1; }

# Standard input, as '-' and as no argument.
expect 0 "" sh -c "\"$bin\" - < $msg"
grep -q '^<stdin>' "$tmp/out" || { echo "FAIL: stdin not named <stdin>"; fail=1; }

# Control characters of a header (C1 ones too, U+009B here) and of a part's
# type are escaped on the terminal; a long type does not cut the row.
printf 'From: a@example.org\nSubject: =?utf-8?b?wpsySmhp?=\nMIME-Version: 1.0\nContent-Type: application/vnd.a-very-long-subtype-of-application-that-goes-on-and-on-past-any-column.x\n\nx\n' >"$tmp/c1.eml"
"$bin" --headers "$tmp/c1.eml" >"$tmp/out" 2>/dev/null
if grep -q "$(printf '\302\233')" "$tmp/out" || ! grep -q 'Subject: .x..' "$tmp/out" || ! grep -q 'on-past-any-column.x .* 2$' "$tmp/out"; then
    echo "FAIL: C1 control not escaped, or the row cut"; cat "$tmp/out"; fail=1
fi

# A truncated gzip archive is an I/O-level data error, reported with the file name.
gzip -c testdata/mimekit/mbox/simple.mbox.txt | head -c 200 >"$tmp/cut.mbox.gz"
expect 65 "cut.mbox.gz" "$bin" --stats --mbox "$tmp/cut.mbox.gz"
# A message too large to hold is reported and counted, as msgcheck counts it.
/usr/bin/python3 testdata/defects/mbox.message-too-large/make_bomb.py "$tmp/bomb.mbox.gz"
expect 1 "mbox.message-too-large" "$bin" --stats --mbox "$tmp/bomb.mbox.gz"
"$bin" --stats --mbox "$tmp/bomb.mbox.gz" 2>/dev/null | grep -qx "messages: 2" ||
    { echo "FAIL: the message too large is not counted"; fail=1; }

# Garbage is not a crash: it is not a message (exit 65, as msgcheck and
# msgrewrite say), or, where its first line happens to look like a field, a
# message with defects.
head -c 4096 /dev/urandom >"$tmp/random"
"$bin" "$tmp/random" >/dev/null 2>&1
st=$?
[ "$st" -lt 64 ] || [ "$st" -eq 65 ] || { echo "FAIL: random bytes gave exit $st"; fail=1; }
# Not mail: said as msgcheck says it, neither shown nor counted.
printf '\211PNG\r\n\032\n\000\000binary' >"$tmp/pic.png"
expect 65 "pic.png:1:1: error: not a message: no header field at the start" "$bin" "$tmp/pic.png"
[ ! -s "$tmp/out" ] || { echo "FAIL: a picture was shown as a message"; fail=1; }
expect 65 "pic.png:1:1: error: not a message" "$bin" --stats "$tmp/pic.png" "$msg"
grep -q '^messages: 1$' "$tmp/out" || { echo "FAIL: --stats counted what is not mail"; fail=1; }

# Diagnostics name file:line:col.
printf 'Subject: x\nnot a header\n\nbody\n' >"$tmp/nocolon.eml"
expect 0 "nocolon.eml:2:1: error: .*\[header.missing-colon\]" "$bin" "$tmp/nocolon.eml"

# A file name of any length stays on its own row.
long=$(printf 'x%.0s' $(seq 1 600))
printf 'From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf; name="%s.pdf"\n\nx\n--b\nContent-Type: text/plain\n\ny\n--b--\n' "$long" >"$tmp/longname.eml"
expect 0 "" "$bin" "$tmp/longname.eml"
grep -q "^  1 .*application/pdf .* $long.pdf\$" "$tmp/out" || { echo "FAIL: the long name is not on section 1's row"; fail=1; }
grep -q "^  2 .*text/plain" "$tmp/out" || { echo "FAIL: section 2 lost its own row after a long name"; fail=1; }

exit $fail
