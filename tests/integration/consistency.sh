#!/bin/sh
# consistency.sh BINDIR - what every tool means the same way: -q prints
# nothing but errors (no summary, no progress bar, even on a terminal),
# --color takes auto, always or never, times are written 30s, 5m, 2h, a
# port alone to --listen is a loopback port, and each exit code means one
# thing (64 usage, 65 input that is not what the tool reads, 66 missing
# input, 69 no server, 73 output that cannot be created). Run from the
# project's top directory.
set -u
BIN=$1
T=$(mktemp -d)
SINK=
trap '[ -n "$SINK" ] && kill $SINK 2>/dev/null; rm -rf "$T"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }
MSG=testdata/clean/plain-us-ascii.eml
ARCHIVE=testdata/mbox/sample.mbox.gz

# quiet TOOL ARGS...: the job succeeds and prints nothing on standard error.
quiet() {
    "$BIN/$@" > "$T/out" 2> "$T/err" || no "$*: exit $?: $(cat "$T/err")"
    [ -s "$T/err" ] && no "$* printed on stderr: $(cat "$T/err")"
}
for t in msgcheck msgshow msgrewrite mbox2spool spool2mbox spoolsend smtpreplay smtpsink spoolctl; do
    "$BIN/$t" --color sometimes --help > /dev/null 2> "$T/err"
    [ $? -eq 64 ] || no "$t --color sometimes: exit 64"
    grep -q "auto, always or never" "$T/err" || no "$t --color says what it takes: $(cat "$T/err")"
    "$BIN/$t" --color never --version > /dev/null 2>&1 || no "$t --color never"
    "$BIN/$t" -q --color=always --version > /dev/null 2>&1 || no "$t -q --color=always"
done

quiet msgcheck -q "$MSG"
quiet msgshow -q "$MSG"
grep -q "text/plain" "$T/out" || no "msgshow -q still shows what was asked for"
quiet msgrewrite -q --crlf -o "$T/crlf.eml" "$MSG"
quiet mbox2spool -q "$ARCHIVE" "$T/spool"
quiet spool2mbox -q -o "$T/back.mbox" "$T/spool"
quiet spoolctl -q list "$T/spool"
[ "$(wc -l < "$T/out")" -eq "$(ls "$T/spool/queue" | wc -l)" ] || no "spoolctl -q list still lists"
first=$(ls "$T/spool/queue" | head -n 1)
quiet spoolctl -q hold "$T/spool" "$first"
quiet spoolctl -q release "$T/spool" "$first"
quiet smtpreplay -q --check testdata/transcripts/auth-login.txt
quiet spoolsend -q --dry-run "$T/spool"

# Against a live sink: spoolsend -q and smtpsink -q say nothing either.
"$BIN/smtpsink" -q --listen :0 --count 20 "$T/in" > "$T/sink.out" 2> "$T/sink.err" &
SINK=$!
for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$T/sink.out" ] && break; sleep 0.2; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/sink.out")
[ -n "$port" ] || no "smtpsink --listen :0 listens on 127.0.0.1: $(cat "$T/sink.out" "$T/sink.err")"
if [ -n "$port" ]; then
    quiet spoolsend -q --server "127.0.0.1:$port" "$T/spool"
    wait $SINK || no "smtpsink -q: exit $?"
    SINK=
    [ -s "$T/sink.err" ] && no "smtpsink -q printed on stderr: $(cat "$T/sink.err")"
    [ "$(ls "$T/in/queue" | wc -l)" -eq 20 ] || no "the sink received the 20 messages"
fi

# No progress bar with -q, even on a terminal (and one without it).
if command -v script > /dev/null 2>&1; then
    script -qec "$BIN/mbox2spool $ARCHIVE $T/tty1" /dev/null > "$T/tty" 2>&1
    grep -q "$(printf '\r')\[" "$T/tty" || no "mbox2spool draws a progress bar on a terminal"
    script -qec "$BIN/mbox2spool -q $ARCHIVE $T/tty2" /dev/null > "$T/tty" 2>&1
    [ -s "$T/tty" ] && no "mbox2spool -q on a terminal printed: $(od -c "$T/tty" | head -n 3)"
fi

# Errors carry the system's reason.
"$BIN/msgcheck" testdata/messages/mixed-eol.eml > /dev/full 2> "$T/err"
[ $? -eq 74 ] || no "msgcheck > /dev/full: exit 74"
grep -q "cannot write to standard output: No space left on device" "$T/err" || no "a full disk is named: $(cat "$T/err")"
"$BIN/spoolsend" --server 127.0.0.1:1 --transcript /proc/nope "$T/spool" > /dev/null 2> "$T/err"
grep -q "cannot create --transcript directory /proc/nope: " "$T/err" || no "the --transcript directory's reason: $(cat "$T/err")"

# One syntax for times.
"$BIN/smtpreplay" --server 127.0.0.1:1 --timeout 2x testdata/transcripts/auth-login.txt > /dev/null 2> "$T/err"
[ $? -eq 64 ] || no "smtpreplay --timeout 2x: exit 64"
grep -q "30s, 2m or 1h" "$T/err" || no "smtpreplay --timeout says what it takes: $(cat "$T/err")"
"$BIN/smtpreplay" --server 127.0.0.1:1 --timeout 1s testdata/transcripts/auth-login.txt > /dev/null 2>&1
[ $? -eq 69 ] || no "smtpreplay --timeout 1s is a time: exit 69 (no server)"
"$BIN/spoolsend" --server 127.0.0.1:1 --timeout 2x "$T/spool" > /dev/null 2>&1
[ $? -eq 64 ] || no "spoolsend --timeout 2x: exit 64"
"$BIN/smtpsink" --timeout 2x --discard > /dev/null 2>&1
[ $? -eq 64 ] || no "smtpsink --timeout 2x: exit 64"
# Exit codes: one meaning in every tool (docs/*.1, EXIT STATUS).
# code TOOL ARGS...: the exit status of one run, its output dropped.
code() { "$BIN/$@" > /dev/null 2>&1; echo $?; }
want() {   # want CODE WHY TOOL ARGS...
    w=$1 why=$2; shift 2
    got=$(code "$@")
    [ "$got" -eq "$w" ] || no "$*: exit $got, not $w ($why)"
}
printf '\211PNG\r\n\032\n\000\000\000\rIHDR' > "$T/picture.png"
printf 'hello\nworld\n' > "$T/notes.txt"
: > "$T/empty"
for t in msgcheck msgshow msgrewrite mbox2spool spool2mbox spoolsend smtpreplay smtpsink spoolctl; do
    want 64 "usage" "$t" --no-such-option
done
want 66 "missing input" msgcheck "$T/missing.eml"
want 66 "missing input" msgshow "$T/missing.eml"
want 66 "missing input" msgrewrite "$T/missing.eml"
want 66 "missing input" mbox2spool "$T/missing.mbox" "$T/spool-missing"
want 66 "missing input" spool2mbox -o "$T/x.mbox" "$T/missing-spool"
want 66 "missing input" spoolsend --server 127.0.0.1:1 "$T/missing-spool"
want 66 "missing input" spoolctl list "$T/missing-spool"
want 66 "missing input" smtpreplay --check "$T/missing.txt"
for f in picture.png empty; do
    want 65 "not mail" msgcheck "$T/$f"
    want 65 "not mail" msgshow "$T/$f"
    want 65 "not mail" msgrewrite --fix -o "$T/out.eml" "$T/$f"
    want 65 "not a transcript" smtpreplay --check "$T/$f"
done
for t in msgcheck msgshow msgrewrite; do want 65 "not an mbox archive" "$t" --mbox "$T/notes.txt"; done
want 65 "not an mbox archive" mbox2spool "$T/notes.txt" "$T/spool-notes"
want 69 "no server" smtpreplay --server 127.0.0.1:1 testdata/transcripts/auth-login.txt
want 73 "output not created" msgrewrite -o "$T/no/such/dir/out.eml" "$MSG"
want 73 "output not created" spool2mbox -o "$T/no/such/dir/out.mbox" "$T/spool"
want 73 "output not created" mbox2spool "$ARCHIVE" /proc/no-such-spool

exit $fail
