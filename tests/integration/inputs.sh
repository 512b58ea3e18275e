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
# A directory of more files than a listing holds in memory (16,384): they
# come whole and in name order all the same, with -j 1 and -j 2, the rest
# of the listing read back from its temporary file; where no temporary
# file can be made, the listing is held in memory, and a warning says so.
/usr/bin/python3 - "$T/many" <<'PY'
import os, sys
root = sys.argv[1]
for d in ('md/cur', 'md/new', 'md/tmp'):
    os.makedirs(os.path.join(root, d))
for i in range(20000):
    d = 'd%d' % (i % 7) if i % 3 else ('md/cur' if i % 2 else 'md/new')
    name = 'm%05d' % (19999 - i) + (':2,S' if d == 'md/cur' else '')
    os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, d, name), 'w') as f:
        f.write('From: a@example.org\nSubject: %d\n\nbody\n' % i)
with open(os.path.join(root, 'md/tmp/in-delivery'), 'w') as f:
    f.write('Subject: partial\n')
PY
(cd "$T/many" && find . -type f ! -path './md/tmp/*' | sed "s|^\./|$T/many/|" | LC_ALL=C sort) >"$T/want"
[ "$(wc -l <"$T/want")" -eq 20000 ] || no "20,000 files made: $(wc -l <"$T/want")"
dated() { sed -n 's/:3:1: error: required field is missing (Date) \[field.missing\]$//p' "$1"; }
for j in 1 2; do
    "$BIN/msgcheck" -j $j "$T/many" >"$T/out" 2>"$T/err"
    [ $? -eq 1 ] || no "msgcheck -j $j over 20,000 files: exit 1 (each has errors): $(tail -1 "$T/err")"
    dated "$T/out" | cmp -s - "$T/want" || no "msgcheck -j $j: every file once, in name order"
    grep -q "^msgcheck: 20000 messages, " "$T/err" || no "msgcheck -j $j counts 20,000: $(tail -1 "$T/err")"
    ! grep -q "held in memory" "$T/err" || no "msgcheck -j $j: the listing went to its temporary file"
done
TMPDIR="$T/none" "$BIN/msgcheck" -j 2 "$T/many" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || no "msgcheck without a temporary file: exit 1"
dated "$T/out" | cmp -s - "$T/want" || no "msgcheck without a temporary file: every file once, in name order"
grep -q "^msgcheck: cannot make a temporary file in $T/none for the listing of $T/many: .*(the listing of $T/many was held in memory)$" "$T/err" ||
    no "msgcheck without a temporary file says so: $(head -1 "$T/err")"
TMPDIR="$T/none" "$BIN/msgcheck" -q -j 1 "$T/many" >"$T/out" 2>"$T/err"
! grep -q "held in memory" "$T/err" || no "msgcheck -q: no warning of the listing held in memory"
dated "$T/out" | cmp -s - "$T/want" || no "msgcheck -q without a temporary file: every file once, in name order"
"$BIN/mbox2spool" -q --rcpt a@example.net "$T/many/md" "$T/spool2" 2>"$T/err"
[ $? -eq 0 ] || no "mbox2spool of a Maildir of $(grep -c /md/ "$T/want") messages: exit 0: $(cat "$T/err")"
[ "$(ls "$T/spool2/queue" | wc -l)" -eq "$(grep -c /md/ "$T/want")" ] || no "mbox2spool: every message of the Maildir enqueued"
exit $fail
