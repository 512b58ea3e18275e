#!/bin/bash
# environment.sh BINDIR - the tools in a poor environment end as they say:
# a file size limit (ulimit -f) is a failed write (74, no temporary file
# left), not a kill; a standard input the tool was started without reads
# as empty, and no file it opens takes its number; no thread to be had
# (a limit on processes) is one thread doing the work; a SOURCE_DATE_EPOCH
# that is no time, a config file that is not a file and a negative -j are
# refused (64); --in-place does not write into a pipe (73).
set -u
. "$(dirname "$0")/lib.sh"
bin=$1

printf 'From: a@example.org\nTo: b@example.net\nSubject: one\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <1@example.org>\n\nhello\n' >"$tmp/m.eml"
for i in $(seq 40); do
    printf 'From a@example.org Mon Nov 23 10:00:00 2026\n'
    sed "s/<1@/<$i@/" "$tmp/m.eml"
    head -c 3000 /dev/zero | tr '\0' x | fold -w 70
    printf '\n\n'
done >"$tmp/a.mbox"

# ulimit -f 40: 40 KiB (bash); the outputs below are larger.
mkdir "$tmp/dest"
expect 74 "File too large" bash -c "ulimit -f 40; exec '$bin/msgrewrite' --mbox --add 'X-A: 1' -o '$tmp/dest/r.mbox' '$tmp/a.mbox'"
"$bin/mbox2spool" -q "$tmp/a.mbox" "$tmp/sp" || { echo "FAIL: mbox2spool"; fail=1; }
expect 74 "File too large" bash -c "ulimit -f 40; exec '$bin/spool2mbox' '$tmp/sp' -o '$tmp/dest/s.mbox'"
if ls -A "$tmp/dest" | grep -q .; then echo "FAIL: left in the output directory: $(ls -A "$tmp/dest")"; fail=1; fi
# One message over the limit is that message's failure; the others go in.
{ cat "$tmp/a.mbox"; printf 'From a@example.org Mon Nov 23 10:00:00 2026\nTo: b@example.net\nSubject: big\n\n'; head -c 100000 /dev/zero | tr '\0' x | fold -w 70; } >"$tmp/b.mbox"
expect 73 "File too large" bash -c "ulimit -f 40; exec '$bin/mbox2spool' '$tmp/b.mbox' '$tmp/sp2'"
[ "$(ls "$tmp/sp2/queue" | wc -l)" = 40 ] || { echo "FAIL: mbox2spool under ulimit -f: $(ls "$tmp/sp2/queue" | wc -l) entries, not 40"; fail=1; }
[ -z "$(ls -A "$tmp/sp2/tmp")" ] || { echo "FAIL: mbox2spool left $(ls -A "$tmp/sp2/tmp")"; fail=1; }

# Started without standard input: it reads as empty (as /dev/null), and
# the spool directory opened is not read as the message.
expect 0 "" bash -c "exec '$bin/spoolctl' add --sender a@example.org --rcpt b@example.net '$tmp/sp5' - <&-"
expect 0 "" "$bin/spoolctl" show "$tmp/sp5" "$(cat "$tmp/out")"
has "$tmp/out" "Message-ID: "
expect 0 "" bash -c "exec '$bin/spoolctl' add --sender a@example.org --rcpt b@example.net '$tmp/sp3' '$tmp/m.eml' <&-"
[ "$(ls "$tmp/sp3/queue" | wc -l)" = 1 ] || { echo "FAIL: spoolctl add without stdin"; fail=1; }
# ... and without standard output, what it would print is a failed write.
expect 74 "cannot write to standard output" bash -c "exec '$bin/msgshow' '$tmp/m.eml' >&-"

# No thread to be had: -j 2 works in one.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && command -v prlimit >/dev/null; then
    chmod 755 "$tmp"
    chmod 644 "$tmp/a.mbox" "$tmp/m.eml"
    as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups prlimit --nproc=1 -- "$@"; }
    "$bin/msgcheck" -j 1 --mbox "$tmp/a.mbox" >"$tmp/one" 2>&1
    expect 0 "" as_nobody "$bin/msgcheck" -j 2 --mbox "$tmp/a.mbox"
    cat "$tmp/err" >>"$tmp/out"
    cmp -s "$tmp/one" "$tmp/out" || { echo "FAIL: msgcheck -j 2 without threads"; diff "$tmp/one" "$tmp/out"; fail=1; }
    expect 0 "" as_nobody "$bin/msgshow" -j 2 --stats "$tmp/m.eml"
    has "$tmp/out" "messages: 1"
    mkdir -m 777 "$tmp/nsp"
    expect 0 "40 enqueued" as_nobody "$bin/mbox2spool" "$tmp/a.mbox" "$tmp/nsp/sp"
else
    echo "not root: the thread limit is not tried"
fi

# No memory for any thread's stack (a stack limit larger than the address
# space): spoolsend's connections, in more than one loop (-j 20), run in
# the calling thread.
for i in 1 2 3; do
    "$bin/spoolctl" add --sender a@example.org --rcpt b@example.net "$tmp/ssp" "$tmp/m.eml" >/dev/null
done
start_sink "$bin/smtpsink" "$tmp/in"
expect 0 "3 sent" bash -c "ulimit -s 60000000 && ulimit -v 3000000 && exec '$bin/spoolsend' --server 127.0.0.1:$port -j 20 '$tmp/ssp'"
expect 0 "" bash -c "ulimit -s 60000000 && ulimit -v 3000000 && exec '$bin/msgcheck' -j 2 --mbox '$tmp/a.mbox'"
kill "$sink" 2>/dev/null
wait "$sink" 2>/dev/null
[ "$(ls "$tmp/in/queue" | wc -l)" = 3 ] || { echo "FAIL: the sink has $(ls "$tmp/in/queue" | wc -l) messages, not 3"; fail=1; }

# SOURCE_DATE_EPOCH: a time, or refused where a field would carry it.
for bad in abc 12x 1e9 -86400 99999999999999 9223372036854775808; do
    expect 64 "SOURCE_DATE_EPOCH" env SOURCE_DATE_EPOCH=$bad "$bin/msgrewrite" --add-date "$tmp/m.eml"
    expect 64 "SOURCE_DATE_EPOCH" env SOURCE_DATE_EPOCH=$bad "$bin/spoolctl" add --sender a@example.org --rcpt b@example.net "$tmp/sp4" "$tmp/m.eml"
done
[ ! -d "$tmp/sp4/queue" ] || [ -z "$(ls -A "$tmp/sp4/queue")" ] || { echo "FAIL: enqueued with a bad SOURCE_DATE_EPOCH"; fail=1; }
printf 'From: a@example.org\n\nno date\n' >"$tmp/nodate.eml"
expect 0 "" env SOURCE_DATE_EPOCH=253402300799 "$bin/msgrewrite" --add-date "$tmp/nodate.eml"
has "$tmp/out" "^Date: Fri, 31 Dec 9999 23:59:59 +0000"
expect 0 "" env SOURCE_DATE_EPOCH=abc "$bin/msgrewrite" --fold "$tmp/nodate.eml"   # no field to date

# A config file that is a pipe or a device is refused, not read forever.
mkdir -p "$tmp/cfg/msgtools"
mkfifo "$tmp/cfg/msgtools/config"
expect 64 "not a regular file" timeout 10 env XDG_CONFIG_HOME="$tmp/cfg" "$bin/msgcheck" "$tmp/m.eml"
rm "$tmp/cfg/msgtools/config"
ln -s /dev/zero "$tmp/cfg/msgtools/config"
expect 64 "not a regular file" timeout 10 env XDG_CONFIG_HOME="$tmp/cfg" "$bin/msgshow" "$tmp/m.eml"

expect 64 "not -1" "$bin/msgcheck" -j -1 "$tmp/m.eml"

# A file's name with a line feed cannot forge a diagnostic line.
mkdir "$tmp/names"
printf 'From: a@example.org\n\nno date\n' >"$tmp/names/x.eml:1:1: error: forged [fake.code]
y.eml"
expect 1 "" "$bin/msgcheck" "$tmp/names"
lacks "$tmp/out" "^y.eml"
has "$tmp/out" 'forged \[fake.code\]\\x0ay.eml:'

# --in-place replaces files: a pipe is refused, not written into (and waited on).
mkfifo "$tmp/fifo"
cat "$tmp/m.eml" >"$tmp/fifo" &
expect 73 "not a regular file" timeout 10 "$bin/msgrewrite" -i --add 'X-C: 1' "$tmp/fifo"
expect 73 "not a regular file" bash -c "cat '$tmp/m.eml' | exec '$bin/msgrewrite' -i --add 'X-C: 1' /dev/stdin"

exit $fail
