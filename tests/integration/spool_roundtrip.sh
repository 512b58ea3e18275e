#!/bin/sh
# spool_roundtrip.sh MBOX2SPOOL SPOOL2MBOX ARCHIVE... - for every mboxrd
# archive A: spool2mbox(mbox2spool(A)) is A, byte for byte (gzip archives
# are compared uncompressed). Run from the top of the source tree.
set -u
m2s=$1 s2m=$2
shift 2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for a in "$@"; do
    n=$((n + 1))
    spool=$tmp/spool$n
    case $a in *.gz) gzip -dc "$a" >"$tmp/orig$n" ;; *) cp "$a" "$tmp/orig$n" ;; esac
    # a fixed envelope: the bytes, not the recipients, are under test here
    if ! "$m2s" -q --format mboxrd --sender sender@example.org --rcpt rcpt@example.net "$a" "$spool" \
        2>"$tmp/err"; then
        echo "FAIL: mbox2spool $a"; cat "$tmp/err"; fail=1; continue
    fi
    if ! "$s2m" -q "$spool" -o "$tmp/back$n" 2>"$tmp/err"; then
        echo "FAIL: spool2mbox for $a"; cat "$tmp/err"; fail=1; continue
    fi
    if ! cmp -s "$tmp/orig$n" "$tmp/back$n"; then
        echo "FAIL: $a does not come back byte for byte:"
        cmp "$tmp/orig$n" "$tmp/back$n" | head -n 3
        fail=1
    fi
    # gzip out, then back in: the same
    "$s2m" -q --gzip "$spool" -o "$tmp/back$n.gz" && gzip -dc "$tmp/back$n.gz" | cmp -s - "$tmp/orig$n" ||
        { echo "FAIL: $a through --gzip differs"; fail=1; }
    # a second run adds nothing
    before=$(ls "$spool/queue" | wc -l)
    "$m2s" -q --format mboxrd --sender sender@example.org --rcpt rcpt@example.net "$a" "$spool" 2>/dev/null
    [ "$(ls "$spool/queue" | wc -l)" = "$before" ] || { echo "FAIL: $a: a second run added entries"; fail=1; }
done
[ $fail = 0 ] && echo "$n archives round-tripped"
exit $fail
