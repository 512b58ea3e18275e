#!/bin/sh
# spool_keys_moving.sh MBOX2SPOOL SPOOLCTL - mbox2spool finds a message that
# is in the spool though its entry moves twice while the spool's keys are
# read: released from hold/ before hold/ is listed (queue/ was listed
# already), then taken to sent/ before queue/ is listed again (sent/ was
# listed already). Read once, that entry was in no listing, and the message
# was enqueued a second time: sent twice. strace's delay injection holds
# mbox2spool at its listing of deferred/ and of failed/ (2 s each), the two
# windows the moves are made in. Skipped (77) without strace.
set -u
m2s=$1 ctl=$2
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null 2>&1 || { echo "strace is not installed: skipped"; exit 77; }
cd "$tmp" || exit 1
printf 'From alice@example.org Mon Nov 23 09:15:00 2026\nFrom: alice@example.org\nTo: bob@example.net\nMessage-ID: <once@example.org>\nSubject: once\n\nhello\n' >a.mbox
"$m2s" -q a.mbox sp || { echo "FAIL: first import"; exit 1; }
entry=$(ls sp/queue)
"$ctl" -q hold sp "$entry" || { echo "FAIL: hold"; exit 1; }
strace -f -qq -o /dev/null -P sp/deferred -P sp/failed -e trace=openat \
    -e inject=openat:delay_exit=2000000:when=3+ "$m2s" a.mbox sp >out 2>&1 &
pid=$!
sleep 1
"$ctl" -q release sp "$entry" || { echo "FAIL: release"; fail=1; }   # hold/ -> queue/
sleep 2
mv "sp/queue/$entry" "sp/sent/$entry"                              # as a sender does
wait $pid || { echo "FAIL: mbox2spool under strace"; cat out; fail=1; }
has out "1 message, 0 enqueued, 1 already in the spool"
[ -z "$(ls sp/queue)" ] || { echo "FAIL: enqueued again: $(ls sp/queue)"; fail=1; }
exit $fail
