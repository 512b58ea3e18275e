#!/bin/bash
# full_disk.sh BINDIR - a file system that fills up is said, never hidden:
# smtpsink answers 452 4.3.1 to what it cannot store (and stores only whole
# entries); spool2mbox, msgrewrite and smtpreplay into a full output say so (74). The
# test makes a device node and mounts a small tmpfs where it may (as root).
set -u
. "$(dirname "$0")/lib.sh"
bin=$1

"$bin/spoolctl" add -t "$tmp/sp" - <<'MSG' >/dev/null
From: a@example.org
To: b@example.net
Subject: one

hello
MSG
# A device given as the output (a full one: its own node, like /dev/full)
# is written into, never replaced by a regular file nor removed.
if mknod -m 666 "$tmp/full-dev" c 1 7 2>/dev/null; then
    expect 74 "cannot write" "$bin/spool2mbox" "$tmp/sp" -o "$tmp/full-dev"
    lacks "$tmp/err" "1 message written"
    [ -c "$tmp/full-dev" ] || { echo "FAIL: spool2mbox -o replaced the device"; fail=1; }
    expect 74 "cannot write" sh -c "'$bin/spool2mbox' '$tmp/sp' >'$tmp/full-dev'"
    has "$tmp/err" "not all written"
    printf 'From: a@example.org\n\nhi\n' >"$tmp/m.eml"
    expect 74 "No space left" "$bin/msgrewrite" --crlf -o "$tmp/full-dev" "$tmp/m.eml"
    [ -c "$tmp/full-dev" ] || { echo "FAIL: msgrewrite -o replaced the device"; fail=1; }
    if ls -A "$tmp" | grep -q '\.tmp$'; then echo "FAIL: a temporary file is left"; fail=1; fi
    printf 'S: 220 mx.example.net\nC: QUIT\nS: 221 bye\n' >"$tmp/t.cs"
    expect 74 "No space left" "$bin/smtpreplay" --convert native -o "$tmp/full-dev" "$tmp/t.cs"
    [ -c "$tmp/full-dev" ] || { echo "FAIL: smtpreplay -o replaced the device"; fail=1; }
fi

mkdir "$tmp/full"
if mount -t tmpfs -o size=64k tmpfs "$tmp/full" 2>/dev/null; then
    for i in 0 1 2 3 4 5; do
        { printf 'Subject: %s\n\n' $i; head -c 21000 /dev/zero | tr '\0' 'x' | fold -w 70; } >"$tmp/m$i.eml"
    done
    start_sink "$bin/smtpsink" "$tmp/full/spool"
    send_each "$tmp"/m[0-5].eml >"$tmp/client"
    kill "$sink" 2>/dev/null; wait "$sink"
    has "$tmp/client" "^refused 452 4.3.1"
    accepted=$(grep -c '^accepted' "$tmp/client")
    [ "$(ls "$tmp/full/spool/queue" | wc -l)" = "$accepted" ] ||
        { echo "FAIL: $accepted accepted, $(ls "$tmp/full/spool/queue" | wc -l) in queue/"; fail=1; }
    for e in "$tmp"/full/spool/queue/*; do
        [ -e "$e" ] || continue
        tail -c 74 "$e" | grep -q "^x\{70\}" || { echo "FAIL: $e is cut short"; fail=1; }
    done
    # The summary counts the recipients of the messages stored, not of all.
    has "$tmp/sink.err" "$accepted messages, $accepted recipients"
    has "$tmp/sink.err" "$((6 - accepted)) not stored"
    # spoolsend's --transcript on the full file system: a transcript cut
    # short is named so (.incomplete), never left as if whole.
    mkdir "$tmp/full/tr"
    dd if=/dev/zero of="$tmp/full/filler" bs=1k 2>/dev/null
    { printf 'From: a@example.org\nTo: b@example.net\n'; cat "$tmp/m0.eml"; } >"$tmp/send.eml"
    "$bin/spoolctl" add -t "$tmp/out-sp" "$tmp/send.eml" >/dev/null
    start_sink "$bin/smtpsink" "$tmp/sink-sp"
    "$bin/spoolsend" --server "127.0.0.1:$port" --transcript "$tmp/full/tr" "$tmp/out-sp" >"$tmp/out" 2>"$tmp/err"
    kill "$sink" 2>/dev/null; wait "$sink"
    has "$tmp/err" "the transcript so far is"
    if ls "$tmp/full/tr" | grep -q '\.txt$'; then echo "FAIL: a transcript cut short keeps its name"; fail=1; fi
    ls "$tmp/full/tr" | grep -q '\.txt\.incomplete$' || { echo "FAIL: no .incomplete transcript"; fail=1; }
    umount "$tmp/full"
fi
exit $fail
