#!/bin/sh
# mbox2spool_cli.sh MBOX2SPOOL SPOOL2MBOX - envelopes, reports and exit codes.
set -u
m2s=$1 s2m=$2
. "$(dirname "$0")/lib.sh"

cat >"$tmp/a.mbox" <<'MBOX'
From MAILER-DAEMON Fri Jul  8 12:08:34 2011
From: Mail Delivery System <postmaster@example.org>
To: alice@example.org
Subject: Undelivered

bounce
>From here

From alice@example.org Mon Nov 23 09:15:00 2026
Return-Path: <ignored@example.org>
From: Alice <alice@example.org>
To: Bob <bob@example.net>, team: carol@example.net, dave@example.net;
Cc: BOB@EXAMPLE.NET
Subject: plain

hello

From - Mon Nov 23 09:16:00 2026
Return-Path: <list-bounces@example.org>
From: Alice <alice@example.org>
Resent-From: fwd@example.org
Resent-To: eve@example.com
To: bob@example.net
Subject: resent

again

From - Mon Nov 23 09:17:00 2026
From: nobody@example.org
Subject: no recipient at all

lost?
MBOX

expect 0 "" "$m2s" --help
expect 64 "unknown format" "$m2s" --format nosuch "$tmp/a.mbox" "$tmp/s"
expect 64 "archives and then the spool" "$m2s" "$tmp/a.mbox"
expect 64 "not an RFC 5321 mailbox" "$m2s" --rcpt "not an address" "$tmp/a.mbox" "$tmp/s"
expect 66 "cannot open" "$m2s" "$tmp/missing.mbox" "$tmp/s"
printf 'just text\n' >"$tmp/text"
expect 65 "not an mbox archive" "$m2s" "$tmp/text" "$tmp/s"

# One message has no recipient: reported with its archive line, the others enqueued, exit 1.
expect 1 "a.mbox:28:1: error: message 4 not enqueued: no recipient in To/Cc/Bcc" "$m2s" --json "$tmp/a.mbox" "$tmp/s"
has "$tmp/out" '"index": 3, "line": 28, "status": "skipped"'
[ "$(ls "$tmp/s/queue" | wc -l)" = 3 ] || { echo "FAIL: expected 3 entries"; ls "$tmp/s/queue"; fail=1; }
cat "$tmp/s/queue"/* >"$tmp/entries"
# the bounce keeps the null sender; the From_ line is the sender; Return-Path when the From_ line has none
has "$tmp/entries" '^MAIL FROM:<>$'
has "$tmp/entries" '^MAIL FROM:<alice@example.org>$'
has "$tmp/entries" '^MAIL FROM:<list-bounces@example.org>$'
# recipients: group members, one copy of bob; Resent-To for the resent message
has "$tmp/entries" '^RCPT TO:<carol@example.net>$'
[ "$(grep -c '^RCPT TO:<bob@example.net>$' "$tmp/entries")" = 1 ] || { echo "FAIL: bob not once"; fail=1; }
has "$tmp/entries" '^RCPT TO:<eve@example.com>$'
has "$tmp/entries" '^Mbox-From: MAILER-DAEMON Fri Jul  8 12:08:34 2011$'
has "$tmp/entries" '^Mbox-Source: '
# mboxrd: the message is stored unquoted
has "$tmp/entries" '^From here$'

# Again: nothing new; the skipped message is reported again.
expect 1 "4 messages, 0 enqueued, 3 already in the spool, 1 not enqueued, 0 with defects" "$m2s" "$tmp/a.mbox" "$tmp/s"
[ "$(ls "$tmp/s/queue" | wc -l)" = 3 ] || { echo "FAIL: a second run added entries"; fail=1; }
# With --rcpt every message has a recipient; only the fourth is new.
expect 0 "1 enqueued, 3 already" "$m2s" --rcpt archive@example.org --sender '' "$tmp/a.mbox" "$tmp/s"
grep -l 'no recipient at all' "$tmp/s/queue"/* | xargs grep -q '^MAIL FROM:<>$' || { echo "FAIL: --sender ''"; fail=1; }

# spool2mbox: the archive comes back; --envelope adds the envelope fields; one state only.
expect 0 "4 messages written" "$s2m" "$tmp/s" -o "$tmp/back.mbox"
cmp -s "$tmp/a.mbox" "$tmp/back.mbox" || { echo "FAIL: the archive did not come back"; diff "$tmp/a.mbox" "$tmp/back.mbox" | head; fail=1; }
expect 0 "" "$s2m" --envelope "$tmp/s/queue"
has "$tmp/out" '^X-Envelope-From: <alice@example.org>$'
has "$tmp/out" '^X-Envelope-To: <carol@example.net>$'
mkdir -p "$tmp/s/failed"
expect 0 "0 messages written" "$s2m" "$tmp/s/failed"
expect 66 "" "$s2m" "$tmp/nospool"
expect 64 "unknown format" "$s2m" --format detect "$tmp/s"

# A mailbox that lost a message and gained one: only the new one is added.
printf 'From a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\none\n\nFrom a@example.org Mon Nov 23 09:01:00 2026\nTo: b@example.net\n\ntwo\n\nFrom a@example.org Mon Nov 23 09:02:00 2026\nTo: b@example.net\n\nthree\n' >"$tmp/box"
expect 0 "3 enqueued" "$m2s" "$tmp/box" "$tmp/grow"
printf 'From a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\none\n\nFrom a@example.org Mon Nov 23 09:02:00 2026\nTo: b@example.net\n\nthree\n\nFrom a@example.org Mon Nov 23 09:03:00 2026\nTo: b@example.net\n\nfour\n' >"$tmp/box"
expect 0 "3 messages, 1 enqueued, 2 already in the spool" "$m2s" "$tmp/box" "$tmp/grow"
grep -l '^four$' "$tmp/grow/queue"/* >/dev/null || { echo "FAIL: the new message was not enqueued"; fail=1; }
# A From_ sender over RFC 5321's limits (a long VERP address) is said, not
# replaced without a word by the From: author.
printf 'From %s@example.org Mon Nov 23 09:00:00 2026\nFrom: a@example.org\nTo: b@example.net\n\nx\n' "$(printf '%070d' 0)" >"$tmp/verp"
expect 0 "not a usable address, left out: 0000000000" "$m2s" "$tmp/verp" "$tmp/verpspool"
# Bcc recipients taken from the header are said: the entry keeps the
# field, which every recipient would see; msgrewrite removes it first, and
# --rcpt takes no recipient from it.
printf 'From a@example.org Mon Nov 23 09:00:00 2026\nFrom: a@example.org\nTo: b@example.net\nBcc: c@example.net, d@example.net\n\nx\n' >"$tmp/bcc"
expect 0 "message 1: 2 recipients from its Bcc field, which stays in the message" "$m2s" "$tmp/bcc" "$tmp/bccspool"
"$(dirname "$m2s")/msgrewrite" --mbox --strip-bcc "$tmp/bcc" >"$tmp/nobcc" 2>/dev/null
expect 0 "1 enqueued" "$m2s" "$tmp/nobcc" "$tmp/nobccspool"
lacks "$tmp/err" "Bcc field"
expect 0 "1 enqueued" "$m2s" --rcpt x@example.org "$tmp/bcc" "$tmp/rcptspool"
lacks "$tmp/err" "Bcc field"
# Across the seam: entries whose messages lack a final line break (written
# by another program) go out as an archive that reads back as as many messages.
mkdir -p "$tmp/bare/queue" "$tmp/bare/deferred" "$tmp/bare/hold" "$tmp/bare/sent" "$tmp/bare/failed" "$tmp/bare/tmp"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nFrom: a@example.org\nTo: b@example.net\nSubject: one\n\nno final line break' >"$tmp/bare/queue/1700000000.000000Z.1.000000.h"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nFrom: a@example.org\nTo: b@example.net\nSubject: two\n\nnone here either' >"$tmp/bare/queue/1700000001.000000Z.1.000000.h"
expect 0 "2 messages written" "$s2m" "$tmp/bare" -o "$tmp/bare.mbox"
expect 0 "2 messages, 2 enqueued" "$m2s" "$tmp/bare.mbox" "$tmp/bare-back"
# Held entries are written too (spool2mbox(1): every state): the archive
# comes back whole whatever became of each message.
mv "$tmp/bare/queue/1700000001.000000Z.1.000000.h" "$tmp/bare/hold/"
expect 0 "2 messages written" "$s2m" "$tmp/bare" -o "$tmp/bare-held.mbox"
# (These entries have no Mbox-From: each From_ line is made from MAIL FROM
# and the time of the run, which may differ by a second between the two.)
undated() { sed 's/^\(From [^ ]*\) .*/\1/' "$1"; }
[ "$(undated "$tmp/bare.mbox")" = "$(undated "$tmp/bare-held.mbox")" ] ||
    { echo "FAIL: a held entry is not written as a queued one"; fail=1; }
# A gzip archive cut short: the messages before the cut are enqueued, the
# one cut is named; cut only in its trailer, every message is enqueued.
gzip -c "$tmp/box" >"$tmp/box.gz"
size=$(wc -c <"$tmp/box.gz")
head -c $((size - 4)) "$tmp/box.gz" >"$tmp/notrailer.gz"
expect 65 "3 messages, 3 enqueued" "$m2s" "$tmp/notrailer.gz" "$tmp/cut"
grep -q "ends without its trailer" "$tmp/err" || { echo "FAIL: the missing trailer is not said"; fail=1; }
head -c $((size - 12)) "$tmp/box.gz" >"$tmp/cut.gz"
expect 65 "message 3, from line 11, is cut short and not read" "$m2s" "$tmp/cut.gz" "$tmp/cut2"
# A message in two archives of one run is enqueued once; an archive that
# holds it twice keeps both copies, also when another archive holds it once.
printf 'From a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\nsame\n' >"$tmp/inbox"
cp "$tmp/inbox" "$tmp/allmail"
expect 0 "2 messages, 1 enqueued, 1 already in the spool" "$m2s" "$tmp/inbox" "$tmp/allmail" "$tmp/two"
{ cat "$tmp/inbox"; echo; cat "$tmp/inbox"; } >"$tmp/twice"
expect 0 "4 messages, 1 enqueued, 3 already in the spool" "$m2s" "$tmp/inbox" "$tmp/twice" "$tmp/inbox" "$tmp/two"
[ "$(ls "$tmp/two/queue" | wc -l)" = 2 ] || { echo "FAIL: two copies expected in the spool"; fail=1; }
# One archive named twice in a row is read twice: its message is there once.
expect 0 "2 messages, 1 enqueued, 1 already in the spool" "$m2s" "$tmp/inbox" "$tmp/inbox" "$tmp/same"
# Two runs at once take turns: the second enqueues nothing the first did.
for i in $(seq 1 300); do printf 'From a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\nmessage %d\n\n' "$i"; done >"$tmp/many"
"$m2s" -q "$tmp/many" "$tmp/race" & p1=$!
"$m2s" -q "$tmp/many" "$tmp/race" & p2=$!
wait $p1 $p2
[ "$(ls "$tmp/race/queue" | wc -l)" = 300 ] || { echo "FAIL: overlapping runs: $(ls "$tmp/race/queue" | wc -l) entries for 300 messages"; fail=1; }
# An entry that cannot be read is left out and said so; the archive of the
# others is written (exit 1). Root reads anything: then run as nobody, where
# nobody can run the tool: a copy of it in $tmp, since the build tree may be
# where nobody cannot go (root's home, mode 700).
as_user() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
mkdir -p "$tmp/perm" "$tmp/bin" && chmod 755 "$tmp" "$tmp/perm" "$tmp/bin"
if [ "$(id -u)" = 0 ]; then cp "$s2m" "$tmp/bin/spool2mbox" && s2m_user="$tmp/bin/spool2mbox"; else s2m_user=$s2m; fi
printf 'From a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\none\n\nFrom a@example.org Mon Nov 23 09:01:00 2026\nTo: b@example.net\n\ntwo\n' >"$tmp/pair"
"$m2s" -q "$tmp/pair" "$tmp/perm/s" 2>/dev/null
chmod -R a+rwX "$tmp/perm"
victim=$(ls "$tmp/perm/s/queue" | head -n 1)
chmod 000 "$tmp/perm/s/queue/$victim"
if as_user "$s2m_user" --help >/dev/null 2>&1 && ! as_user cat "$tmp/perm/s/queue/$victim" >/dev/null 2>&1; then
    status=0
    as_user "$s2m_user" "$tmp/perm/s" -o "$tmp/perm/out.mbox" >"$tmp/out" 2>&1 || status=$?
    [ "$status" = 1 ] || { echo "FAIL: an unreadable entry: exit $status, not 1"; cat "$tmp/out"; fail=1; }
    has "$tmp/out" "$victim.*left out"
    has "$tmp/out" "1 message written, 1 entry left out"
    [ "$(grep -c '^From ' "$tmp/perm/out.mbox" 2>/dev/null)" = 1 ] ||
        { echo "FAIL: the archive of the readable entry was not written"; fail=1; }
else
    echo "note: no user to read as without privileges; the unreadable-entry case is not run"
fi
# A spool that fills up: exit 73, and the summary adds up (every message
# read is enqueued or counted as not written). Needs a small tmpfs.
mkdir -p "$tmp/small"
if mount -t tmpfs -o size=64k tmpfs "$tmp/small" 2>/dev/null; then
    for i in $(seq 1 200); do printf 'From a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\nmessage %d %0600d\n\n' "$i" 0; done >"$tmp/big"
    status=0
    "$m2s" "$tmp/big" "$tmp/small/s" >"$tmp/out" 2>&1 || status=$?
    n=$(ls "$tmp/small/s/queue" | wc -l)
    umount "$tmp/small"
    [ "$status" = 73 ] || { echo "FAIL: a full spool: exit $status, not 73"; fail=1; }
    sum=$(sed -n 's/^mbox2spool: \([0-9]*\) messages, \([0-9]*\) enqueued, 0 already in the spool, 0 not enqueued, 0 with defects, \([0-9]*\) not written (the spool failed)$/\1 \2 \3/p' "$tmp/out")
    set -- $sum
    [ $# = 3 ] && [ "$2" = "$n" ] && [ $(($2 + $3)) = "$1" ] ||
        { echo "FAIL: a full spool: the summary does not add up ($n entries):"; cat "$tmp/out"; fail=1; }
else
    echo "note: no tmpfs could be mounted; the full-spool case is not run"
fi
# An Apple Mail export: its Info.plist and table_of_contents are no archives.
mkdir -p "$tmp/export/INBOX.mbox"
cp "$tmp/inbox" "$tmp/export/INBOX.mbox/mbox"
printf '<?xml version="1.0"?>\n<plist version="1.0"><dict/></plist>\n' >"$tmp/export/INBOX.mbox/Info.plist"
printf 'binary\001\002\003' >"$tmp/export/INBOX.mbox/table_of_contents"
expect 0 "1 message, 1 enqueued" "$m2s" "$tmp/export" "$tmp/exported"
# Bytes before the first From_ line are reported, not dropped silently.
printf 'garbage line\n\nFrom a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\nhi\n' >"$tmp/garbage.mbox"
# Bytes before the first From_ line are reported, kept with the first entry,
# and written back: the archive comes back byte for byte.
expect 0 "14 bytes before the first From_ line belong to no message; kept with the first entry" "$m2s" "$tmp/garbage.mbox" "$tmp/g"
expect 0 "" "$s2m" "$tmp/g" -o "$tmp/garbage.back"
cmp -s "$tmp/garbage.mbox" "$tmp/garbage.back" || { echo "FAIL: the leading bytes did not come back"; fail=1; }
expect 0 "0 enqueued" "$m2s" "$tmp/garbage.mbox" "$tmp/g"   # a re-run adds nothing, leading bytes included
expect 0 "" "$s2m" "$tmp/g" -o "$tmp/garbage.back"
cmp -s "$tmp/garbage.mbox" "$tmp/garbage.back" || { echo "FAIL: a re-run changed the round trip"; fail=1; }

# From_ lines an annotation cannot carry verbatim still come back byte for byte.
printf 'From  a@example.org Mon Nov 23 09:00:00 2026\nTo: b@example.net\n\none\n\nFrom \nTo: b@example.net\n\ntwo\n\nFrom a@example.org Mon\rNov 23 09:02:00 2026\nTo: b@example.net\n\nthree\n\nFrom a@example.org Mon Nov 23 09:03:00 2026\r\r\nTo: b@example.net\n\nfour\n' >"$tmp/odd.mbox"
expect 0 "4 enqueued" "$m2s" --format mboxrd --sender s@example.org "$tmp/odd.mbox" "$tmp/odd"
expect 0 "" "$s2m" "$tmp/odd" -o "$tmp/odd.back"
cmp -s "$tmp/odd.mbox" "$tmp/odd.back" || { echo "FAIL: odd From_ lines did not come back"; cmp "$tmp/odd.mbox" "$tmp/odd.back"; fail=1; }

# --lock: a stale dot lock (older than five minutes) is broken, and the lock is gone afterwards.
cp "$tmp/a.mbox" "$tmp/live.mbox"
: >"$tmp/live.mbox.lock"
touch -d '10 minutes ago' "$tmp/live.mbox.lock"
expect 1 "" "$m2s" --lock "$tmp/live.mbox" "$tmp/locked"
[ -e "$tmp/live.mbox.lock" ] && { echo "FAIL: --lock left $tmp/live.mbox.lock"; fail=1; }
[ "$(ls "$tmp/locked/queue" | wc -l)" = 3 ] || { echo "FAIL: --lock did not convert"; fail=1; }

# Every variant: the messages in the entries are the ones the variant defines
# (testdata/mbox/VARIANT/expected/, in order).
for v in mboxrd mboxo mboxcl mboxcl2 crlf no-final-newline empty-message headers-only odd-from-lines; do
    case $v in mboxo|mboxcl|mboxcl2) f=$v ;; *) f=mboxrd ;; esac
    rm -rf "$tmp/v"
    "$m2s" -q --format $f --sender s@example.org --rcpt r@example.net testdata/mbox/$v/archive.mbox "$tmp/v" ||
        { echo "FAIL: mbox2spool $v"; fail=1; continue; }
    i=0
    for e in $(ls "$tmp/v/queue" | sort); do
        i=$((i + 1))
        want=testdata/mbox/$v/expected/$(printf '%04d' $i).eml
        # the message is what follows the envelope's empty line
        python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(d[d.index(b"\n\n")+2:])' \
            "$tmp/v/queue/$e" >"$tmp/got"
        cmp -s "$tmp/got" "$want" || { echo "FAIL: $v message $i differs from $want"; fail=1; }
    done
    [ "$i" = "$(ls testdata/mbox/$v/expected | wc -l)" ] || { echo "FAIL: $v: $i entries"; fail=1; }
done

# Messages a mail client deleted and kept until it compacts (Thunderbird,
# mutt, a Maildir's T) are counted and said, not enqueued; --keep-deleted
# enqueues them.
mkdir -p "$tmp/tb/md/cur" "$tmp/tb/md/new" "$tmp/tb/md/tmp"
printf 'From - Mon Nov 23 09:15:00 2026\nX-Mozilla-Status: 0001\nFrom: a@example.org\nTo: b@example.net\n\none\n\nFrom - Mon Nov 23 09:16:00 2026\nX-Mozilla-Status: 0009\nFrom: a@example.org\nTo: b@example.net\n\ntwo\n' >"$tmp/tb/Inbox"
printf 'From: a@example.org\nTo: b@example.net\n\nthree\n' >"$tmp/tb/md/cur/1.host:2,ST"
expect 0 "2 marked deleted (not enqueued)" "$m2s" "$tmp/tb" "$tmp/tbs"
has "$tmp/err" "Inbox:8:1: note: message 2 marked deleted (X-Mozilla-Status 0x0008)"
has "$tmp/err" "marked deleted (Maildir flag T)"
[ "$(ls "$tmp/tbs/queue" | wc -l)" = 1 ] || { echo "FAIL: deleted messages enqueued"; fail=1; }
expect 0 "2 enqueued, 1 already in the spool" "$m2s" --keep-deleted "$tmp/tb" "$tmp/tbs"

# A spool inside the archive directory is not read back as archives: run
# again, nothing new (a quoted excerpt in an entry's body would otherwise
# become a message of its own), and the spool is never "not an mbox archive".
mkdir -p "$tmp/own/mail"
printf 'From a@example.org Mon Nov 23 09:15:00 2026\nFrom: a@example.org\nTo: b@example.net\n\nquoted:\n\n>From c@example.org Mon Nov 23 09:00:00 2026\nTo: d@example.net\n\nhi\n' >"$tmp/own/mail/inbox"
expect 0 "1 enqueued" "$m2s" "$tmp/own/mail" "$tmp/own/mail/spool"
expect 0 "1 already in the spool" "$m2s" "$tmp/own/mail" "$tmp/own/mail/spool"
expect 0 "1 already in the spool" "$m2s" "$tmp/own/mail" "$tmp/own/mail/../mail/spool"
[ "$(ls "$tmp/own/mail/spool/queue" | wc -l)" = 1 ] || { echo "FAIL: the spool was read back"; fail=1; }

# A spool that fills up (a small tmpfs, where this test may mount one): every
# message read is said, enqueued or not written, in --json too, and the
# count enqueued is what queue/ holds.
mkdir "$tmp/full"
if mount -t tmpfs -o size=52k tmpfs "$tmp/full" 2>/dev/null; then
    i=0
    while [ $i -lt 200 ]; do
        printf 'From a@example.org Mon Nov 23 09:15:00 2026\nFrom: a@example.org\nTo: b@example.net\nSubject: %s\n\n' $i
        head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70
        printf '\n\n'
        i=$((i + 1))
    done >"$tmp/many.mbox"
    "$m2s" --json "$tmp/many.mbox" "$tmp/full/spool" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc = 73 ] || { echo "FAIL: a full spool exited $rc"; cat "$tmp/err"; fail=1; }
    # Reading stops at the message whose add() failed, or (when the writer's
    # thread met the error first) every message was read and the error came
    # at the end: one object for each message read, either way.
    read=$(sed -n 's/.*error: message \([0-9]*\) and those after it not enqueued.*/\1/p' "$tmp/err")
    [ "$(wc -l <"$tmp/out")" = "${read:-200}" ] ||
        { echo "FAIL: $(wc -l <"$tmp/out") JSON objects for ${read:-200} messages read"; cat "$tmp/err"; fail=1; }
    [ "$(grep -c '"status": "enqueued"' "$tmp/out")" = "$(ls "$tmp/full/spool/queue" | wc -l)" ] ||
        { echo "FAIL: enqueued objects and queue/ disagree"; fail=1; }
    lacks "$tmp/out" '"status": "\(duplicate\|skipped\|deleted\)"'
    [ -z "$(ls -A "$tmp/full/spool/tmp")" ] || { echo "FAIL: files left in tmp/"; fail=1; }
    umount "$tmp/full"
fi

# An archive that cannot be read on (EIO, injected by strace on its third
# read): exit 74, the messages before enqueued, and the message being read
# named with the line its From_ line is on, so that the reader knows where
# the archive stopped.
if command -v strace >/dev/null 2>&1; then
    for i in $(seq 1 3000); do
        printf 'From s%d@example.org Sat Jan 20 12:33:11 2024\nFrom: s%d@example.org\nTo: r@example.net\nSubject: m%d\n\n%01200d\n\n' "$i" "$i" "$i" 0
    done >"$tmp/eio.mbox"
    status=0
    strace -f -qq -o /dev/null -P "$tmp/eio.mbox" -e inject=read:error=EIO:when=3 \
        "$m2s" "$tmp/eio.mbox" "$tmp/eio" >"$tmp/out" 2>"$tmp/err" || status=$?
    [ "$status" = 74 ] || { echo "FAIL: a read error: exit $status, not 74"; cat "$tmp/err"; fail=1; }
    n=$(sed -n 's/.*: Input\/output error; message \([0-9]*\), from line \([0-9]*\), is cut short and not read$/\1 \2/p' "$tmp/err")
    set -- $n
    if [ $# != 2 ]; then
        echo "FAIL: a read error does not name the message it cut short:"; cat "$tmp/err"; fail=1
    else
        [ "$(ls "$tmp/eio/queue" | wc -l)" = $(($1 - 1)) ] ||
            { echo "FAIL: message $1 named, $(ls "$tmp/eio/queue" | wc -l) enqueued"; fail=1; }
        [ "$(grep -n '^From ' "$tmp/eio.mbox" | sed -n "$1p" | cut -d: -f1)" = "$2" ] ||
            { echo "FAIL: message $1 does not start at line $2"; fail=1; }
    fi
else
    echo "note: strace is not installed; the read-error case is not run"
fi

exit $fail
