#!/bin/bash
# low_memory.sh BINDIR - memory that runs out (ulimit -v) is said and
# survived: a message too large to read is an error naming its file, and
# the tool goes on with the next (75, as the man pages say: try again with
# more memory; not 74, a read error);
# one that runs out of memory later stops the tool with a sentence (75),
# never an abort, and leaves no temporary file and the old output whole;
# so do the spool's readers with an entry too large to read (spool2mbox,
# spoolctl list and show, spoolsend, which leaves it queued);
# smtpsink answers 452 4.3.1 to such a message and goes on serving.
set -u
. "$(dirname "$0")/lib.sh"
bin=$1

# 40 MB of base64: read whole it takes 40 MB, worked on more.
/usr/bin/python3 - "$tmp/big.eml" <<'PY'
import base64, os, sys
body = base64.encodebytes(os.urandom(30 << 20))
open(sys.argv[1], 'wb').write(b'From: a@example.org\nTo: b@example.net\nSubject: big\nMIME-Version: 1.0\n'
    b'Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n' + body)
PY
{ echo "From a@example.org Sun Nov 22 10:00:00 2026"; cat "$tmp/big.eml"; echo; } >"$tmp/big.mbox"

limited() { local kb=$1; shift; ( ulimit -v "$kb"; exec "$@" ); }

# Too large to read: said of the file, and the tool goes on to the next;
# 75 whether the file is read in the loop (-j 1), by a worker (-j 2) or
# from standard input, and in every tool that reads messages.
printf 'From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <s@example.org>\n\nhi\n' >"$tmp/small.eml"
for j in 1 2; do
    expect 75 "cannot read $tmp/big.eml: out of memory" limited 60000 "$bin/msgcheck" -j "$j" "$tmp/big.eml" "$tmp/small.eml"
    has "$tmp/err" "1 message, 0 errors"
done
expect 75 "cannot read <stdin>: out of memory" limited 60000 sh -c '"$1" -q -j 1 - <"$2"' sh "$bin/msgcheck" "$tmp/big.eml"
expect 75 "cannot read $tmp/big.eml: out of memory" limited 60000 "$bin/msgshow" "$tmp/big.eml" "$tmp/small.eml"
has "$tmp/out" "text/plain"
expect 75 "cannot read $tmp/big.eml: out of memory" limited 60000 "$bin/msgrewrite" --7bit -o "$tmp/rewritten.eml" "$tmp/big.eml"
[ ! -e "$tmp/rewritten.eml" ] || { echo "FAIL: msgrewrite wrote an output for a message it could not read"; fail=1; }

# Read, then out of memory while rewritten: stopped, nothing left behind.
for kb in 60000 150000 250000; do
    echo OLD >"$tmp/out.mbox"
    limited "$kb" "$bin/msgrewrite" --mbox --crlf -o "$tmp/out.mbox" "$tmp/big.mbox" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    case $rc in
    0) ;;   # enough memory after all: a whole archive
    74|75) grep -q "out of memory\|Cannot allocate memory" "$tmp/err" || { echo "FAIL: $kb KB: $(cat "$tmp/err")"; fail=1; }
           [ "$(cat "$tmp/out.mbox")" = OLD ] || { echo "FAIL: $kb KB: the old output changed"; fail=1; } ;;
    *) echo "FAIL: msgrewrite under $kb KB exited $rc"; cat "$tmp/err"; fail=1 ;;
    esac
    if ls -A "$tmp" | grep -q '^\.out\.mbox\..*\.tmp$'; then echo "FAIL: $kb KB: a temporary file is left"; fail=1; fi
    lacks "$tmp/err" "terminate called"
done

# The spool's readers: an entry too large to read is named and left out (75),
# the others are dealt with; spoolsend leaves it queued.
"$bin/spoolctl" add -t "$tmp/sp" "$tmp/big.eml" >/dev/null || { echo "FAIL: spoolctl add -t"; fail=1; }
"$bin/spoolctl" add --sender a@example.org --rcpt b@example.net "$tmp/sp" "$tmp/small.eml" >/dev/null || { echo "FAIL: spoolctl add"; fail=1; }
big=$(cd "$tmp/sp/queue" && for f in *; do [ "$(stat -c %s "$f")" -gt 1000000 ] && echo "$f"; done)
small=$(cd "$tmp/sp/queue" && for f in *; do [ "$f" != "$big" ] && echo "$f"; done)
expect 75 "cannot read .*$big: out of memory" limited 60000 "$bin/spool2mbox" -q "$tmp/sp" -o "$tmp/sp.mbox"
has "$tmp/err" "left out"
[ "$(grep -c '^From ' "$tmp/sp.mbox")" = 1 ] || { echo "FAIL: spool2mbox did not write the small entry"; fail=1; }
expect 75 "cannot read .*$big: out of memory" limited 60000 "$bin/spoolctl" list "$tmp/sp"
has "$tmp/out" "^$small "
expect 75 "cannot read .*$big: out of memory" limited 60000 "$bin/spoolctl" show "$tmp/sp" "$big" "$small"
has "$tmp/out" "^Entry: $small"
start_sink "$bin/smtpsink" "$tmp/sp-in"
expect 75 "cannot read .*$big: out of memory" limited 60000 "$bin/spoolsend" --server "127.0.0.1:$port" "$tmp/sp"
has "$tmp/err" "1 sent"
kill "$sink" 2>/dev/null; wait "$sink"
[ -e "$tmp/sp/queue/$big" ] || { echo "FAIL: spoolsend did not leave the entry it could not read queued"; fail=1; }
[ -e "$tmp/sp/sent/$small" ] || { echo "FAIL: spoolsend did not send the entry it could read"; fail=1; }

# smtpsink: 452 to the message it has no memory for, then the next one taken.
printf 'Subject: small\n\nhi\n' >"$tmp/small-msg.eml"
# (sh execs smtpsink under the limit: $sink is smtpsink itself, not a shell
# around it that kill would leave it running behind.)
start_sink sh -c 'ulimit -v 90000 && exec "$@"' limited "$bin/smtpsink" "$tmp/spool"
send_each "$tmp/big.eml" "$tmp/small-msg.eml" >"$tmp/client"
kill -0 "$sink" 2>/dev/null || { echo "FAIL: smtpsink is gone"; cat "$tmp/sink.err"; fail=1; }
kill "$sink" 2>/dev/null; wait "$sink"
has "$tmp/client" "^refused 452 4.3.1"
has "$tmp/client" "^accepted"
[ "$(ls "$tmp/spool/queue" | wc -l)" = 1 ] || { echo "FAIL: smtpsink stored $(ls "$tmp/spool/queue" | wc -l) messages"; fail=1; }
exit $fail
