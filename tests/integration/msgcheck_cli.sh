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
expect 0 "msgcheck: 20 messages, 0 errors, 0 warnings" "$bin" --werror testdata/clean
expect 0 "" "$bin" --json --werror testdata/clean
[ -s "$tmp/out" ] && { echo "FAIL: --json printed something for clean messages"; fail=1; }

# A message with one warning and one error, in text and in JSON.
printf 'From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nSubject: %s\nTo: b@@example.net\n\nhi\n' \
    "$(printf 'x%.0s' $(seq 1 90))" >"$tmp/bad.eml"
expect 1 "" "$bin" "$tmp/bad.eml"
has "$tmp/err" "^$tmp/bad.eml:3:1: warning: line is longer than 78 characters (99 characters) \[line.long\]"
has "$tmp/err" "^$tmp/bad.eml:4:.*: error: .*\[address.syntax\]"
has "$tmp/err" "msgcheck: 1 message, 1 error, 1 warning"
expect 1 "" "$bin" --json "$tmp/bad.eml"
has "$tmp/out" '"file": "'"$tmp"'/bad.eml", "message": 0, "line": 3, "column": 1, "offset": 58, "code": "line.long", "severity": "warning"'
lacks "$tmp/err" 'msgcheck:'
# Several files: each one's lines are its own (buffers are reused between files).
{ printf 'From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n'
  printf 'Comments: one\nComments: two\nComments: three\nComments: four\nComments: five\n'
  sed -n '3,$p' "$tmp/bad.eml"; } >"$tmp/bad2.eml"
expect 1 "" "$bin" "$tmp/bad.eml" "$tmp/bad2.eml"
has "$tmp/err" "^$tmp/bad2.eml:8:1: warning: .*\[line.long\]"
has "$tmp/err" "^$tmp/bad2.eml:9:.*\[address.syntax\]"
# Filters and --werror
expect 0 "0 errors, 1 warning" "$bin" --ignore address "$tmp/bad.eml"
expect 1 "0 errors, 1 warning" "$bin" --ignore address --werror "$tmp/bad.eml"
expect 1 "1 error, 0 warnings" "$bin" --select address.syntax,date "$tmp/bad.eml"
expect 0 "" "$bin" -q --select date "$tmp/bad.eml"
[ -s "$tmp/err" ] && { echo "FAIL: -q printed something"; cat "$tmp/err"; fail=1; }

# Standard input
expect 1 "^<stdin>:3:1: warning" sh -c "\"$bin\" < \"$tmp/bad.eml\""
expect 1 "^<stdin>:3:1: warning" sh -c "\"$bin\" - < \"$tmp/bad.eml\""

# Inputs that are not mail: 65, and the others are still checked.
: >"$tmp/empty"
printf '\211PNG\r\n\032\n\0\0\0\rIHDR' >"$tmp/image.png"
expect 65 "$tmp/empty: error: empty input, not a message" "$bin" "$tmp/empty" "$tmp/image.png" "$tmp/bad.eml"
has "$tmp/err" "$tmp/image.png: error: not a message"
has "$tmp/err" "bad.eml:4:"
has "$tmp/err" "3 messages, 1 error, 1 warning, 2 not mail"
expect 66 "cannot open" "$bin" "$tmp/missing" "$clean"
# A bad field name on the first line is a defect, not "not mail".
printf 'X Mailer: one\nFrom: a@example.org\n\nbody\n' >"$tmp/badfirst.eml"
expect 1 "badfirst.eml:1:2: error: .*\[header.bad-field-name\]" "$bin" "$tmp/badfirst.eml"

# mbox archives: each message is reported with the archive's line numbers.
{ printf 'From a@example.org Mon Nov 23 09:15:00 2026\n'; cat "$clean"; echo
  printf 'From a@example.org Mon Nov 23 09:16:00 2026\n'; cat "$tmp/bad.eml"; echo; } >"$tmp/box.mbox"
lines=$(wc -l <"$clean")
expect 1 "" "$bin" --mbox "$tmp/box.mbox"
has "$tmp/err" "^$tmp/box.mbox:$((lines + 2 + 1 + 3)):1: warning: .*\[line.long\]"
has "$tmp/err" "2 messages, 1 error, 1 warning"
expect 1 "" "$bin" --json --mbox "$tmp/box.mbox"
has "$tmp/out" '"message": 1, "line": '$((lines + 6))', "column": 1'
gzip -c "$tmp/box.mbox" >"$tmp/box.mbox.gz"
expect 1 "2 messages, 1 error, 1 warning" "$bin" --mbox "$tmp/box.mbox.gz"
expect 65 "not an mbox archive" "$bin" --mbox "$clean"

# Spool entries: the envelope is checked, and lines count from the entry's top.
{ printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nRCPT TO:<c@@example.net>\n\n'
  cat "$tmp/bad.eml"; } >"$tmp/entry"
expect 1 "" "$bin" "$tmp/entry"
has "$tmp/err" "^$tmp/entry:3:12: error: .*\[envelope.path-syntax\]"
has "$tmp/err" "^$tmp/entry:7:1: warning: .*\[line.long\]"
{ printf 'MAIL FROM:<a@example.org> SMTPUTF8 BODY=8BITMIME\nRCPT TO:<b@example.net>\n\n'
  printf 'From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nSubject: caf\303\251\n'
  printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\303\251\n'; } >"$tmp/utf8.entry"
expect 0 "1 message, 0 errors, 0 warnings" "$bin" "$tmp/utf8.entry"
sed 's/ SMTPUTF8//' "$tmp/utf8.entry" >"$tmp/noutf8.entry"
expect 1 "" "$bin" "$tmp/noutf8.entry"
has "$tmp/err" "^$tmp/noutf8.entry:6:13: error: .*\[envelope.smtputf8-needed\]"
has "$tmp/err" "\[header.8bit\]"

exit $fail
