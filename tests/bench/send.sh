#!/usr/bin/env bash
# send.sh - spoolsend against Postfix's smtp-source, both sending to Postfix's
# smtp-sink on 127.0.0.1.
#
# usage: tests/bench/send.sh [rate|rss|all]
#
#   rate (default)  BENCH_MSGS messages (default 10000) of BENCH_SIZE bytes
#                   (default 5000), over 1 and over 10 connections:
#                     smtp-source -s N -m MSGS -l SIZE -d   (one session per connection,
#                                                            messages back to back)
#                     spoolsend -j N --max-per-connection MSGS/N+1 --server ... SPOOL
#                                                           (a fresh copy of one spool; every
#                                                            session carries all its messages,
#                                                            as smtp-source -d does)
#                   best of BENCH_RUNS wall times; messages per second, CPU
#                   milliseconds per message (user + system), peak RSS, and the
#                   ratios spoolsend / smtp-source.
#   rss             peak RSS of spoolsend -j 10 over spools of BENCH_MSGS and of
#                   5 x BENCH_MSGS entries: memory must not grow with the spool.
#   all             both.
#
# Environment: BENCH_MSGS, BENCH_SIZE, BENCH_RUNS (3), BENCH_BUILD (build
# directory, default build-bench/), BENCH_DIR (spools, default
# BENCH_BUILD/send-bench/). Needs postfix (smtp-sink, smtp-source; installed
# unconfigured, its daemon is not used) and GNU time; both are installed with
# apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-rate}
MSGS=${BENCH_MSGS:-10000}
SIZE=${BENCH_SIZE:-5000}
RUNS=${BENCH_RUNS:-3}
BUILD=${BENCH_BUILD:-build-bench}
DIR=${BENCH_DIR:-$BUILD/send-bench}

. scripts/deps.sh
if ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "install ok installed"; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi
msg_install $MSG_PACKAGES postfix time python3
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMSG_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target spoolsend >/dev/null
SPOOLSEND=$BUILD/bin/spoolsend
mkdir -p "$DIR"

# A spool of COUNT entries of SIZE bytes each (headers and body), one recipient.
make_spool() {   # make_spool DIR COUNT
    [ -d "$1/queue" ] && [ "$(ls "$1/queue" | wc -l)" -eq "$2" ] && return 0
    rm -rf "$1"
    python3 - "$1" "$2" "$SIZE" <<'PY'
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in ("tmp", "queue", "deferred", "sent", "failed"):
    os.makedirs(os.path.join(root, d))
line = b"abcdefghijklmnopqrstuvwxyz0123456789 abcdefghijklmnopqrstuvwxyz012345\n"
for i in range(count):
    head = b"From: bench@example.org\nTo: sink%d@example.net\nSubject: message %d\nMessage-ID: <%d@bench.test>\n\n" % (i, i, i)
    body = (line * (size // len(line) + 1))[: max(0, size - len(head))]
    with open(os.path.join(root, "queue", "20260101T000000.%06dZ.1.%06d.bench" % (i, i)), "wb") as f:
        f.write(b"MAIL FROM:<bench@example.org>\nRCPT TO:<sink%d@example.net>\n\n" % i + head + body)
PY
}

as_nobody=()
[ "$(id -u)" -eq 0 ] && as_nobody=(-u nobody)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink "${as_nobody[@]}" 127.0.0.1:"$port" 1000 2>/dev/null &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
    sleep 0.1
done

# measure LABEL COMMAND... -> best wall time, its CPU seconds and peak RSS (KiB)
# in the globals wall cpu rss. SETUP (a function name or :) runs before each run.
measure() {
    local setup=$1; shift
    wall=999999 cpu=0 rss=0
    for _ in $(seq "$RUNS"); do
        $setup
        /usr/bin/time -f "%e %U %S %M" -o "$DIR/time" "$@" >/dev/null 2>"$DIR/stderr" ||
            { echo "failed: $*" >&2; cat "$DIR/stderr" >&2; exit 1; }
        read -r w u s m <"$DIR/time"
        if awk -v a="$w" -v b="$wall" 'BEGIN{exit !(a<b)}'; then
            wall=$w cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') rss=$m
        fi
    done
}

fresh() { rm -rf "$DIR/run"; cp -r "$DIR/spool" "$DIR/run"; sync; }

line() {   # line TOOL CONNS
    printf '%-12s %5s %9.2f %10.0f %10.3f %9d\n' "$1" "$2" "$wall" \
        "$(awk -v n="$MSGS" -v w="$wall" 'BEGIN{print n/w}')" \
        "$(awk -v n="$MSGS" -v c="$cpu" 'BEGIN{print c*1000/n}')" "$rss"
}

rate() {
    make_spool "$DIR/spool" "$MSGS"
    echo "== $MSGS messages of $SIZE bytes to smtp-sink, best of $RUNS"
    printf '%-12s %5s %9s %10s %10s %9s\n' tool conns wall_s msgs/s cpu_ms/msg rss_KiB
    for n in 1 10; do
        measure : /usr/sbin/smtp-source -s "$n" -m "$MSGS" -l "$SIZE" -d 127.0.0.1:"$port"
        line smtp-source "$n"
        src_wall=$wall src_cpu=$cpu
        # smtp-source -d keeps each session for all its messages: so does spoolsend here.
        measure fresh "$SPOOLSEND" -j "$n" --max-per-connection $((MSGS / n + 1)) --server 127.0.0.1:"$port" "$DIR/run"
        [ "$(ls "$DIR/run/sent" | wc -l)" -eq "$MSGS" ] || { echo "spoolsend did not send every message" >&2; exit 1; }
        line spoolsend "$n"
        awk -v a="$src_wall" -v b="$wall" -v c="$src_cpu" -v d="$cpu" -v n="$n" \
            'BEGIN{printf "ratio (%d): spoolsend rate / smtp-source rate = %.2f, CPU per message spoolsend / smtp-source = %.2f\n", n, a/b, d/c}'
    done
}

rss() {
    local big=$((MSGS * 5))
    make_spool "$DIR/spool" "$MSGS"
    make_spool "$DIR/spool-big" "$big"
    echo "== peak RSS of spoolsend -j 10"
    measure fresh "$SPOOLSEND" -j 10 --server 127.0.0.1:"$port" "$DIR/run"
    echo "$MSGS entries: $rss KiB"
    bigfresh() { rm -rf "$DIR/run"; cp -r "$DIR/spool-big" "$DIR/run"; sync; }
    RUNS=1 measure bigfresh "$SPOOLSEND" -j 10 --server 127.0.0.1:"$port" "$DIR/run"
    echo "$big entries: $rss KiB"
}

case $mode in
rate) rate ;;
rss) rss ;;
all) rate; rss ;;
*) echo "usage: $0 [rate|rss|all]" >&2; exit 64 ;;
esac
