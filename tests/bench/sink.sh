#!/usr/bin/env bash
# sink.sh - smtpsink against Postfix's smtp-sink, both driven by Postfix's
# smtp-source on 127.0.0.1.
#
# usage: tests/bench/sink.sh
#
#   BENCH_MSGS messages (default 10000) of BENCH_SIZE bytes (default 5000)
#   over BENCH_SESSIONS sessions (default 10), best of BENCH_RUNS (3):
#     smtp-sink   (discarding)          smtp-source -s N -m MSGS -l SIZE -d
#     smtpsink --discard                the same
#     smtpsink SPOOL (storing; one run) the same, every message in queue/
#   messages per second, ratio smtpsink / smtp-sink, the server's CPU
#   seconds and peak RSS; then peak RSS with 5 x BENCH_MSGS (memory must
#   not grow with the number of messages).
#
# Environment: BENCH_MSGS, BENCH_SIZE, BENCH_SESSIONS, BENCH_RUNS, BENCH_BUILD
# (default build-bench/), BENCH_DIR (default BENCH_BUILD/sink-bench/).
set -euo pipefail
cd "$(dirname "$0")/../.."
MSGS=${BENCH_MSGS:-10000}
SIZE=${BENCH_SIZE:-5000}
SESSIONS=${BENCH_SESSIONS:-10}
RUNS=${BENCH_RUNS:-3}
BUILD=${BENCH_BUILD:-build-bench}
DIR=${BENCH_DIR:-$BUILD/sink-bench}

. scripts/deps.sh
if ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "install ok installed"; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi
msg_install $MSG_PACKAGES postfix time python3
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMSG_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target smtpsink >/dev/null
SMTPSINK=$BUILD/bin/smtpsink
mkdir -p "$DIR"
as_nobody=()
[ "$(id -u)" -eq 0 ] && as_nobody=(-u nobody)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "no server on port $1" >&2
    exit 1
}

# run_once SERVER-ARGS... : start the server (ADDR in its arguments becomes
# 127.0.0.1:PORT) under GNU time, drive it with smtp-source, stop it; sets
# wall (smtp-source's), cpu and rss (the server's).
run_once() {
    local port args=()
    port=$(free_port)
    for a in "$@"; do args+=("${a/ADDR/127.0.0.1:$port}"); done
    [ -n "${SETUP:-}" ] && $SETUP
    /usr/bin/time -f "%U %S %M" -o "$DIR/time" "${args[@]}" >"$DIR/server.out" 2>"$DIR/server.err" &
    local server=$!
    wait_port "$port"
    local t0 t1
    t0=$EPOCHREALTIME
    /usr/sbin/smtp-source -s "$SESSIONS" -m "$MSGS" -l "$SIZE" -d "127.0.0.1:$port"
    t1=$EPOCHREALTIME
    pkill -TERM -P "$server" 2>/dev/null || true   # the server, child of GNU time
    wait "$server" || true
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
    read -r u s rss < <(tail -n 1 "$DIR/time")
    cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')
}

best() {   # best LABEL SERVER...
    local label=$1; shift
    local bw=999999 bc=0 br=0
    for _ in $(seq "$RUNS"); do
        run_once "$@"
        if awk -v a="$wall" -v b="$bw" 'BEGIN{exit !(a<b)}'; then bw=$wall bc=$cpu br=$rss; fi
    done
    wall=$bw cpu=$bc rss=$br
    printf '%-22s %8.2f %10.0f %9.2f %9d\n' "$label" "$wall" "$(awk -v n="$MSGS" -v w="$wall" 'BEGIN{print n/w}')" "$cpu" "$rss"
}

clean_spool() { rm -rf "$DIR/spool"; }

echo "== $MSGS messages of $SIZE bytes, $SESSIONS sessions (smtp-source -d), best of $RUNS"
printf '%-22s %8s %10s %9s %9s\n' server wall_s msgs/s cpu_s rss_KiB
best "smtp-sink" /usr/sbin/smtp-sink "${as_nobody[@]}" ADDR 1000
ref_wall=$wall
best "smtpsink --discard" "$SMTPSINK" -q --listen ADDR --discard
awk -v a="$ref_wall" -v b="$wall" 'BEGIN{printf "ratio: smtpsink --discard rate / smtp-sink rate = %.2f\n", a/b}'
RUNS=1 SETUP=clean_spool best "smtpsink (storing)" "$SMTPSINK" -q --listen ADDR "$DIR/spool"
stored=$(ls "$DIR/spool/queue" | wc -l)
echo "stored: $stored of $MSGS messages"
[ "$stored" -eq "$MSGS" ] || { echo "messages lost" >&2; exit 1; }
big=$((MSGS * 5))
MSGS_SAVED=$MSGS
MSGS=$big RUNS=1 best "smtpsink --discard x5" "$SMTPSINK" -q --listen ADDR --discard
echo "peak RSS: $MSGS_SAVED messages vs $big messages: see rss_KiB above"
