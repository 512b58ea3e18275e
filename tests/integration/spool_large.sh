#!/bin/sh
# spool_large.sh MBOX2SPOOL SPOOL2MBOX - a spool larger than one listing
# batch: 9000 messages to a spool, some moved to other states, and back to
# the same archive byte for byte (spool2mbox walks each state in batches and
# merges them in name order).
set -eu
mbox2spool=$1
spool2mbox=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
i=0
while [ $i -lt 9000 ]; do
    printf 'From a@example.org Mon Nov 23 10:00:00 2026\nFrom: a@example.org\nTo: b@example.net\nSubject: %d\n\nbody %d\n\n' $i $i
    i=$((i + 1))
done >"$dir/in.mbox"
"$mbox2spool" -q "$dir/in.mbox" "$dir/spool"
ls "$dir/spool/queue" | awk 'NR % 7 == 3' | while read -r n; do mv "$dir/spool/queue/$n" "$dir/spool/sent/"; done
ls "$dir/spool/queue" | awk 'NR % 11 == 5' | while read -r n; do mv "$dir/spool/queue/$n" "$dir/spool/failed/"; done
"$spool2mbox" -q "$dir/spool" -o "$dir/back.mbox"
cmp "$dir/in.mbox" "$dir/back.mbox"
"$spool2mbox" -q "$dir/spool/sent" -o "$dir/sent.mbox"
test "$(grep -c '^From ' "$dir/sent.mbox")" -eq "$(ls "$dir/spool/sent" | wc -l)"
echo "spool large: ok"
