#!/bin/sh
# inputs.sh BINDIR - directories where one file is expected are refused with
# a clear error; where a tool reads several inputs, a directory is read
# recursively. Run from the project's top directory.
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

# smtpreplay --check DIR reads every transcript below DIR.
mkdir -p "$T/tr/sub"
cp testdata/transcripts/*.txt "$T/tr/sub/"
n=$(ls testdata/transcripts/*.txt | wc -l)
"$BIN/smtpreplay" --check "$T/tr" 2> "$T/err" > /dev/null
grep -q "^smtpreplay: $n transcripts, " "$T/err" || no "smtpreplay --check DIR reads $n transcripts: $(cat "$T/err")"
cp testdata/transcripts/defects/smtp.data-without-rcpt/*.txt "$T/tr/"
"$BIN/smtpreplay" --check "$T/tr" > /dev/null 2>&1; [ $? -eq 1 ] || no "a defect in a transcript below DIR: exit 1"
"$BIN/smtpreplay" --check "$T/missing" > /dev/null 2>&1; [ $? -eq 66 ] || no "smtpreplay: a missing input is 66"

# spoolsend --auth-file DIR is refused.
mkdir -p "$T/spool/queue"
"$BIN/spoolsend" --server 127.0.0.1:1 --auth-user u --auth-file "$T" "$T/spool" 2> "$T/err"
[ $? -eq 66 ] || no "spoolsend --auth-file DIR: exit 66"
grep -q "directory" "$T/err" || no "spoolsend --auth-file DIR says why: $(cat "$T/err")"
exit $fail
