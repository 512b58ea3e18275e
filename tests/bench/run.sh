#!/usr/bin/env bash
# run.sh - throughput and memory benchmarks of msgshow, msgcheck, mbox2spool and msgrewrite.
#
# usage: tests/bench/run.sh [throughput|check|cores|rss|spool|index|rewrite|all]
#
#   throughput (default)  wall time, best of BENCH_RUNS, of
#                           cat FILE > /dev/null            (the page-cache floor)
#                           gmime_stats FILE                (the same work done with GMime 3,
#                                                            reading through GMimeStreamFs)
#                           gmime_stats --mmap FILE         (same, through GMimeStreamMmap)
#                           msgshow -j 1 --stats --mbox FILE
#                         run in turn, the order reversed every other run (A B B A), on each
#                         corpus of BENCH_CORPORA (default: a mixed and a text-only archive of
#                         BENCH_MB, default 100, seed BENCH_SEED, default 11); MB/s, the
#                         ratios against GMime from the same run, peak RSS, and both tools'
#                         counts side by side.
#                         msgshow runs with -j 1: GMime uses one core.
#   check                 msgcheck -j 1 --mbox (every check on) against GMime's parse-only
#                         throughput (gmime_stats --parse-only, both ways of reading)
#                         on the same corpora, in the same way.
#   cores                 msgcheck and msgshow --stats with -j 1 against -j N (N: the
#                         cores, nproc) on the same corpora, over the archive and over a
#                         Maildir of its messages (made with mbox2spool and spool2mbox
#                         --maildir, cached), in turn; the speed-up of N threads, the
#                         machine's ceiling for it (N separate -j 1 runs started at once),
#                         and the bound a run's startup sets (the time of --version spent
#                         in one thread, the rest shared out perfectly).
#   rss                   peak RSS of msgshow --stats --mbox over a BENCH_MB archive
#                         (default 1024), plain and gzip; of msgcheck, msgshow --stats and
#                         mbox2spool over a Maildir of the text-only corpus of that size
#                         (a file a message, cached), its spool under BENCH_SPOOL_DIR.
#   spool                 mbox2spool into a fresh spool against mblaze's mdeliver -M into a
#                         fresh Maildir (every message durable before the tool exits: mdeliver fsyncs each, mbox2spool commits groups), over a BENCH_MB archive,
#                         and the file system's floor: mbox2spool's entries extracted with tar and synced
#                         (default 1024; BENCH_SPOOL_KIND=text for list mail), both writing
#                         under BENCH_SPOOL_DIR (a tmpfs such as /dev/shm measures the CPU
#                         part); wall time and peak RSS, two runs each, A B B A
#                         (BENCH_SPOOL_ROUNDS=N: 2N runs each, for a tmpfs); then
#                         mbox2spool once more into its first spool (nothing new).
#   index                 the listing of a large spool: mbox2spool with an empty archive (it
#                         lists every state directory and counts every key before it reads
#                         a message) over a spool of BENCH_INDEX_ENTRIES empty entries
#                         (default 1000000; gen_spool.py, one in ten a copy) made under
#                         BENCH_SPOOL_DIR, against find SPOOL -type f | wc -l (the floor:
#                         reading the same directories); in turn, best of BENCH_RUNS,
#                         wall time per entry and peak RSS.
#   rewrite               msgrewrite --mbox --7bit --fold -o OUT FILE against Python's email
#                         package doing the same round trip (tests/bench/rewrite_py.py: parse,
#                         as_bytes with a 7-bit policy, mboxrd out) on a BENCH_MB archive
#                         (default 200), best of BENCH_RUNS each; MB/s of input, ratio
#                         (target >= 20), peak RSS. Python runs on the same archive unless
#                         BENCH_PY_MB is set (then on the BENCH_PY_MB archive of the same
#                         seed, a byte prefix of it). With BENCH_REWRITE_RSS=1, also peak
#                         RSS of one msgrewrite run over a BENCH_RSS_MB archive (default
#                         1024) to standard output (/dev/null).
#   all                   all seven.
#
# Environment:
#   BENCH_MB     corpus size in MiB (default 100 for throughput and check, 200 for rewrite,
#                1024 for rss and spool)
#   BENCH_CORPORA throughput and check: which corpora, "mixed" (gen_corpus.py's default mix,
#                with attachments) and/or "text" (--text-only: list mail, no attachments);
#                default "mixed text"
#   BENCH_PY_MB  rewrite: run the Python peer on a corpus of this size instead (default: unset,
#                the same corpus as msgrewrite)
#   BENCH_8BIT   rewrite: 1 for a corpus whose text parts are raw 8-bit UTF-8 (gen_corpus.py
#                --8bit), so that --7bit re-encodes bodies too (default: quoted-printable text)
#   BENCH_REWRITE_RSS  rewrite: 1 to add the peak RSS run over a larger archive (default 0)
#   BENCH_RSS_MB rewrite: the size of that archive in MiB (default 1024, the rss mode's corpus)
#   BENCH_SPOOL_DIR spool: where both tools write (default: inside the build directory)
#   BENCH_SPOOL_KIND spool: "mixed" (default) or "text" (--text-only list mail)
#   BENCH_INDEX_ENTRIES index: the spool's entries (default 1000000)
#   BENCH_SEED   corpus seed (default 11 for throughput and check, 1 for the others)
#   BENCH_RUNS   timed runs per command, the best is kept (default 3)
#   BENCH_QUIET  a percentage: before each round of commands run in turn, wait until the
#                CPUs were at least that idle over half a second (a machine shared with
#                other work); at most BENCH_QUIET_WAIT seconds (default 120) per round,
#                then the round runs anyway and says so. Default: no waiting.
#   BENCH_BUILD  build directory (default <repo>/build-bench; configured Release if needed)
#   BENCH_DIR    where corpora are cached (default $BENCH_BUILD/bench-corpus)
#
# MB means MiB (2^20 bytes) throughout, as gen_corpus.py --mb does.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
corpora=${BENCH_DIR:-$build/bench-corpus}
seed=${BENCH_SEED:-1}
# throughput and check: the corpora of the speed targets (100 MiB, seed 11, mixed and text-only)
speed_seed=${BENCH_SEED:-11}
speed_corpora=${BENCH_CORPORA:-mixed text}
runs=${BENCH_RUNS:-3}
mode=${1:-throughput}

case $mode in throughput|check|cores|rss|spool|index|rewrite|all) ;; *) echo "usage: $0 [throughput|check|cores|rss|spool|index|rewrite|all]" >&2; exit 64 ;; esac

msgshow=$build/bin/msgshow
msgcheck=$build/bin/msgcheck
mbox2spool=$build/bin/mbox2spool
spool2mbox=$build/bin/spool2mbox
msgrewrite=$build/bin/msgrewrite
python=/usr/bin/python3  # the Debian system Python (3.11), for rewrite_py.py
gmime=$build/gmime_stats

# --- tools -------------------------------------------------------------------

need_time() {
    [ -x /usr/bin/time ] && return
    echo "== installing GNU time (for peak RSS)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq time >/dev/null; fi
}

build_tools() {
    if [ ! -f "$build/CMakeCache.txt" ]; then
        echo "== configuring $build (Release)" >&2
        mkdir -p "$build"
        # tests are not needed here: a benchmark is not a unit test
        cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMSG_BUILD_TESTS=OFF >"$build/bench-configure.log" 2>&1 ||
            { cat "$build/bench-configure.log" >&2; exit 1; }
    fi
    local bt
    bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
    [ "$bt" = Release ] || echo "warning: $build is a '$bt' build, not Release" >&2
    local targets=(msgshow msgcheck mbox2spool)
    case $mode in rewrite) targets=(msgrewrite) ;; index) targets=(mbox2spool) ;; cores|rss) targets+=(spool2mbox) ;; all) targets+=(spool2mbox msgrewrite) ;; esac
    echo "== building ${targets[*]}" >&2
    cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" >"$build/bench-build.log" 2>&1 ||
        { cat "$build/bench-build.log" >&2; exit 1; }
    if [ "$mode" != rss ] && [ "$mode" != rewrite ] && [ "$mode" != index ] && { [ ! -x "$gmime" ] || [ "$here/gmime_stats.c" -nt "$gmime" ]; }; then
        echo "== compiling gmime_stats" >&2
        # shellcheck disable=SC2046
        cc -O2 -o "$gmime" "$here/gmime_stats.c" $(pkg-config --cflags --libs gmime-3.0)
    fi
}

# corpus MB [gz] [8bit] [text]: path of a cached corpus, generated when
# missing or older than the generator.
corpus() {
    local mb=$1 gz=${2:-} eight=${3:-} text=${4:-} f
    f=$corpora/corpus-${mb}mb-s${seed}${eight:+-8bit}${text:+-text}.mbox${gz:+.gz}
    if [ ! -s "$f" ] || [ "$here/gen_corpus.py" -nt "$f" ]; then
        mkdir -p "$corpora"
        echo "== generating $f" >&2
        python3 "$here/gen_corpus.py" --mb "$mb" --seed "$seed" -o "$f.tmp" ${gz:+--gzip} ${eight:+--8bit} ${text:+--text-only} >&2
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# corpus_args MB KIND: the generator's arguments for a speed corpus (for the record)
corpus_args() { echo "gen_corpus.py --mb $1 --seed $seed${2:+ --text-only}"; }

# --- measuring ----------------------------------------------------------------

# measure NAME OUT CMD...: runs CMD $runs times (stdout to OUT), sets
# best_s (best wall seconds) and rss_kb (largest peak RSS, KiB).
measure() {
    local name=$1 out=$2; shift 2
    local k t0 t1 s rss tf
    tf=$(mktemp)
    best_s=""; rss_kb=0
    for ((k = 0; k < runs; k++)); do
        t0=$EPOCHREALTIME
        /usr/bin/time -f %M -o "$tf" "$@" >"$out"
        t1=$EPOCHREALTIME
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
        rss=$(tail -n 1 "$tf")
        [ "$rss" -gt "$rss_kb" ] && rss_kb=$rss
        if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then best_s=$s; fi
    done
    rm -f "$tf"
    printf '  %-34s best %8.3f s   peak RSS %8.1f MB\n' "$name" "$best_s" "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" >&2
}

# wait_quiet: with BENCH_QUIET, until the CPUs were that idle over half a
# second (see above).
quiet_rounds=0 busy_rounds=0
wait_quiet() {
    [ -n "${BENCH_QUIET:-}" ] || return 0
    local end=$((SECONDS + ${BENCH_QUIET_WAIT:-120})) a b
    while :; do
        read -r -a a < /proc/stat
        sleep 0.5
        read -r -a b < /proc/stat
        local busy=0 idle=0 k
        for k in 1 2 3 6 7 8; do busy=$((busy + b[k] - a[k])); done
        for k in 4 5; do idle=$((idle + b[k] - a[k])); done
        if [ $((busy + idle)) -gt 0 ] && [ $((idle * 100 / (busy + idle))) -ge "$BENCH_QUIET" ]; then
            quiet_rounds=$((quiet_rounds + 1))
            return 0
        fi
        if [ $SECONDS -ge $end ]; then
            busy_rounds=$((busy_rounds + 1))
            echo "  (no quiet half second in ${BENCH_QUIET_WAIT:-120} s: this round runs on a busy machine)" >&2
            return 0
        fi
    done
}

# measure_turns NAME OUT CMD -- NAME OUT CMD -- ...: runs the commands in
# turn, $runs rounds, the order reversed every other round (A B C, C B A,
# A B C, ...), so that a slow spell of a shared machine falls on all of them;
# sets turn_best[k] (best wall seconds), turn_all[k] (every run's seconds,
# in order) and turn_rss[k] (largest peak RSS, KiB) for the k-th command.
measure_turns() {
    local -a names=() outs=() cmds=()
    while [ $# -gt 0 ]; do
        names+=("$1"); outs+=("$2"); shift 2
        local c=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do c+=("$(printf '%q' "$1")"); shift; done
        [ $# -gt 0 ] && shift
        cmds+=("${c[*]}")
    done
    local n=${#cmds[@]} r k j t0 t1 s rss tf
    tf=$(mktemp)
    turn_best=(); turn_rss=(); turn_all=()
    for ((k = 0; k < n; k++)); do turn_best[k]=""; turn_rss[k]=0; turn_all[k]=""; done
    for ((r = 0; r < runs; r++)); do
        wait_quiet
        for ((k = 0; k < n; k++)); do
            if ((r % 2)); then j=$((n - 1 - k)); else j=$k; fi
            t0=$EPOCHREALTIME
            eval "/usr/bin/time -f %M -o \"\$tf\" ${cmds[j]}" >"${outs[j]}"
            t1=$EPOCHREALTIME
            s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
            rss=$(tail -n 1 "$tf")
            turn_all[j]+=" $s"
            [ "$rss" -gt "${turn_rss[j]}" ] && turn_rss[j]=$rss
            if [ -z "${turn_best[j]}" ] || awk -v a="$s" -v b="${turn_best[j]}" 'BEGIN { exit !(a < b) }'; then turn_best[j]=$s; fi
        done
    done
    rm -f "$tf"
    for ((k = 0; k < n; k++)); do
        printf '  %-34s best %8.3f s   peak RSS %8.1f MB   runs:%s\n' "${names[k]}" "${turn_best[k]}" "$(awk -v k="${turn_rss[k]}" 'BEGIN { print k / 1024 }')" "${turn_all[k]}" >&2
    done
}

# quiet_note: with BENCH_QUIET, how many rounds waited for a quiet machine.
quiet_note() {
    [ -n "${BENCH_QUIET:-}" ] || return 0
    echo "; rounds run after a half second ${BENCH_QUIET}% idle: $quiet_rounds, on a busy machine: $busy_rounds"
}

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
field() { sed -n "s/^$1: //p" "$2"; }

throughput() {
    local kind
    for kind in $speed_corpora; do throughput_on "$kind"; done
}

# throughput_on mixed|text
throughput_on() {
    local mb=${BENCH_MB:-100} seed=$speed_seed kind=$1 f size tmp text=""
    quiet_rounds=0 busy_rounds=0
    [ "$kind" = text ] && text=1
    f=$(corpus "$mb" "" "" "$text")
    size=$(stat -c %s "$f")
    tmp=$(mktemp -d)
    cat "$f" >/dev/null  # warm the page cache: every command reads from memory
    echo "== throughput, $kind corpus: $f ($(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }') MB), best of $runs, in turn" >&2
    measure_turns "cat FILE > /dev/null" /dev/null cat "$f" -- \
        "gmime_stats FILE" "$tmp/gmime" "$gmime" "$f" -- \
        "gmime_stats --mmap FILE" "$tmp/gmime-mmap" "$gmime" --mmap "$f" -- \
        "msgshow -j 1 --stats --mbox FILE" "$tmp/msgshow" "$msgshow" -j 1 --stats --mbox "$f"
    local cat_s=${turn_best[0]} gf_s=${turn_best[1]} gmm_s=${turn_best[2]} ms_s=${turn_best[3]}
    local cat_rss=${turn_rss[0]} gf_rss=${turn_rss[1]} gmm_rss=${turn_rss[2]} ms_rss=${turn_rss[3]}

    echo
    echo "corpus ($kind): $f, $size bytes, $(field messages "$tmp/msgshow") messages ($(corpus_args "$mb" "$text"))"
    echo "machine: $(nproc) cores; best of $runs runs of each command, run in turn (order reversed every other round)$(quiet_note)"
    echo "commands (FILE is the corpus):"
    echo "  cat FILE > /dev/null"
    echo "  $gmime FILE"
    echo "  $gmime --mmap FILE"
    echo "  $msgshow -j 1 --stats --mbox FILE"
    printf '%-30s %10s %10s %12s\n' "" "seconds" "MB/s" "peak RSS MB"
    printf '%-30s %10.3f %10s %12.1f\n' "cat FILE > /dev/null" "$cat_s" "$(mbps "$size" "$cat_s")" "$(awk -v k="$cat_rss" 'BEGIN { print k / 1024 }')"
    printf '%-30s %10.3f %10s %12.1f\n' "gmime_stats FILE" "$gf_s" "$(mbps "$size" "$gf_s")" "$(awk -v k="$gf_rss" 'BEGIN { print k / 1024 }')"
    printf '%-30s %10.3f %10s %12.1f\n' "gmime_stats --mmap FILE" "$gmm_s" "$(mbps "$size" "$gmm_s")" "$(awk -v k="$gmm_rss" 'BEGIN { print k / 1024 }')"
    printf '%-30s %10.3f %10s %12.1f\n' "msgshow -j 1 --stats --mbox" "$ms_s" "$(mbps "$size" "$ms_s")" "$(awk -v k="$ms_rss" 'BEGIN { print k / 1024 }')"
    echo
    echo "msgshow / gmime_stats --mmap: $(ratio "$gmm_s" "$ms_s")x   (target >= 2.5; GMime's mapped mode)"
    echo "msgshow / gmime_stats:        $(ratio "$gf_s" "$ms_s")x   (GMime's stream mode)"
    echo "msgshow / cat:                $(ratio "$cat_s" "$ms_s")x"
    echo "(gmime_stats --mmap's RSS counts the mapped archive pages it touched)"
    echo
    printf '%-16s %14s %14s\n' "" "gmime" "msgshow"
    local k
    for k in messages parts "leaf parts" "decoded bytes"; do
        printf '%-16s %14s %14s\n' "$k" "$(field "$k" "$tmp/gmime-mmap")" "$(field "$k" "$tmp/msgshow")"
    done
    printf '%-16s %14s %14s\n' "defects" "-" "$(field defects "$tmp/msgshow")"
    local quoted
    quoted=$(grep -ac '^>\+From ' "$f" || true)
    echo "(lines matching ^>+From in the archive: $quoted; msgshow unquotes them as mboxrd, one byte each,"
    echo " GMime does not, so msgshow's decoded bytes may be lower by up to that many)"
    echo
    rm -rf "$tmp"
}

check() {
    local kind
    for kind in $speed_corpora; do check_on "$kind"; done
}

# check_on mixed|text
check_on() {
    local mb=${BENCH_MB:-100} seed=$speed_seed kind=$1 f size tmp text=""
    quiet_rounds=0 busy_rounds=0
    [ "$kind" = text ] && text=1
    f=$(corpus "$mb" "" "" "$text")
    size=$(stat -c %s "$f")
    tmp=$(mktemp -d)
    cat "$f" >/dev/null
    echo "== msgcheck, $kind corpus: $f, best of $runs, in turn" >&2
    # msgcheck exits 1 when it finds defects (the corpus has some on purpose)
    measure_turns "gmime_stats --parse-only FILE" "$tmp/gmime" "$gmime" --parse-only "$f" -- \
        "gmime_stats --mmap --parse-only" "$tmp/gmime-mmap" "$gmime" --mmap --parse-only "$f" -- \
        "msgcheck -j 1 --mbox FILE" "$tmp/check" sh -c '"$1" -j 1 --mbox "$2" 2>"$3"; [ $? -le 1 ]' sh "$msgcheck" "$f" "$tmp/check.err"
    local gf_s=${turn_best[0]} gmm_s=${turn_best[1]} mc_s=${turn_best[2]}
    local gf_rss=${turn_rss[0]} gmm_rss=${turn_rss[1]} mc_rss=${turn_rss[2]}

    echo
    echo "corpus ($kind): $f, $size bytes, $(field messages "$tmp/gmime-mmap") messages ($(corpus_args "$mb" "$text"))"
    echo "machine: $(nproc) cores; best of $runs runs of each command, run in turn (order reversed every other round)$(quiet_note)"
    echo "commands (FILE is the corpus):"
    echo "  $gmime --parse-only FILE"
    echo "  $gmime --mmap --parse-only FILE"
    echo "  $msgcheck -j 1 --mbox FILE"
    printf '%-34s %10s %10s %12s\n' "" "seconds" "MB/s" "peak RSS MB"
    printf '%-34s %10.3f %10s %12.1f\n' "gmime_stats --parse-only FILE" "$gf_s" "$(mbps "$size" "$gf_s")" "$(awk -v k="$gf_rss" 'BEGIN { print k / 1024 }')"
    printf '%-34s %10.3f %10s %12.1f\n' "gmime_stats --mmap --parse-only" "$gmm_s" "$(mbps "$size" "$gmm_s")" "$(awk -v k="$gmm_rss" 'BEGIN { print k / 1024 }')"
    printf '%-34s %10.3f %10s %12.1f\n' "msgcheck -j 1 --mbox FILE" "$mc_s" "$(mbps "$size" "$mc_s")" "$(awk -v k="$mc_rss" 'BEGIN { print k / 1024 }')"
    echo
    echo "msgcheck / gmime_stats --mmap --parse-only: $(ratio "$gmm_s" "$mc_s")x   (target >= 1.3; GMime's mapped mode)"
    echo "msgcheck / gmime_stats --parse-only:        $(ratio "$gf_s" "$mc_s")x   (GMime's stream mode)"
    echo "msgcheck: $(tail -n 1 "$tmp/check.err")"
    echo
    rm -rf "$tmp"
}

# maildir_of ARCHIVE: a Maildir of the archive's messages, one file each,
# made with mbox2spool and spool2mbox --maildir and cached beside it; its path.
maildir_of() {
    local f=$1 dir=${1%.mbox}.maildir
    if [ ! -d "$dir" ] || [ "$f" -nt "$dir" ]; then
        echo "== making $dir" >&2
        rm -rf "$dir" "$dir.tmp" "$dir.spool"
        "$mbox2spool" -q "$f" "$dir.spool" && "$spool2mbox" -q "$dir.spool" --maildir "$dir.tmp" && mv "$dir.tmp" "$dir"
        rm -rf "$dir.spool"
    fi
    echo "$dir"
}

cores() {
    local kind
    for kind in $speed_corpora; do cores_on "$kind"; done
}

# cores_on mixed|text
cores_on() {
    local mb=${BENCH_MB:-100} seed=$speed_seed kind=$1 f size tmp text="" dir n
    quiet_rounds=0 busy_rounds=0
    [ "$kind" = text ] && text=1
    f=$(corpus "$mb" "" "" "$text")
    size=$(stat -c %s "$f")
    dir=$(maildir_of "$f")
    n=$(nproc)
    tmp=$(mktemp -d)
    cat "$f" >/dev/null
    find "$dir" -type f -exec cat {} + >/dev/null
    local files
    files=$(find "$dir" -type f | wc -l)
    echo "== cores, $kind corpus: $f and $dir ($files files), -j 1 against -j $n, best of $runs, in turn" >&2
    # msgcheck exits 1 when it finds defects (the corpus has some on purpose)
    local check='"$1" -j "$2" "$3" >/dev/null 2>&1; [ $? -le 1 ]'
    local check_mbox='"$1" -j "$2" --mbox "$3" >/dev/null 2>&1; [ $? -le 1 ]'
    # The machine's own ceiling: N separate -j 1 runs started at once take
    # T_N; N * T_1 / T_N is what N cores give N processes that share nothing
    # but the machine (memory bandwidth, caches, the hypervisor), the most
    # that -j N can give.
    local together='n=$1; shift; i=0; while [ $i -lt $n ]; do "$@" >/dev/null 2>&1 & i=$((i + 1)); done; wait'
    measure_turns "msgcheck -j 1 --mbox FILE" /dev/null sh -c "$check_mbox" sh "$msgcheck" 1 "$f" -- \
        "msgcheck -j $n --mbox FILE" /dev/null sh -c "$check_mbox" sh "$msgcheck" "$n" "$f" -- \
        "$n x msgcheck -j 1 --mbox FILE" /dev/null sh -c "$together" sh "$n" "$msgcheck" -j 1 --mbox "$f" -- \
        "msgshow -j 1 --stats --mbox FILE" "$tmp/s1" "$msgshow" -j 1 --stats --mbox "$f" -- \
        "msgshow -j $n --stats --mbox FILE" "$tmp/sn" "$msgshow" -j "$n" --stats --mbox "$f" -- \
        "$n x msgshow -j 1 --stats --mbox FILE" /dev/null sh -c "$together" sh "$n" "$msgshow" -j 1 --stats --mbox "$f"
    local a_c1=${turn_best[0]} a_cn=${turn_best[1]} a_ct=${turn_best[2]} a_s1=${turn_best[3]} a_sn=${turn_best[4]} a_st=${turn_best[5]}
    cmp -s "$tmp/s1" "$tmp/sn" || echo "msgshow --stats: -j $n differs from -j 1 on $f" >&2
    measure_turns "msgcheck -j 1 DIR" /dev/null sh -c "$check" sh "$msgcheck" 1 "$dir" -- \
        "msgcheck -j $n DIR" /dev/null sh -c "$check" sh "$msgcheck" "$n" "$dir" -- \
        "$n x msgcheck -j 1 DIR" /dev/null sh -c "$together" sh "$n" "$msgcheck" -j 1 "$dir" -- \
        "msgshow -j 1 --stats DIR" "$tmp/d1" "$msgshow" -j 1 --stats "$dir" -- \
        "msgshow -j $n --stats DIR" "$tmp/dn" "$msgshow" -j "$n" --stats "$dir" -- \
        "$n x msgshow -j 1 --stats DIR" /dev/null sh -c "$together" sh "$n" "$msgshow" -j 1 --stats "$dir"
    local d_c1=${turn_best[0]} d_cn=${turn_best[1]} d_ct=${turn_best[2]} d_s1=${turn_best[3]} d_sn=${turn_best[4]} d_st=${turn_best[5]}
    cmp -s "$tmp/d1" "$tmp/dn" || echo "msgshow --stats: -j $n differs from -j 1 on $dir" >&2
    # What every run spends before it reads anything, in one thread (the
    # process started, its libraries loaded, its options read): at least
    # the time of --version, measured the same way.
    measure_turns "msgcheck --version" /dev/null "$msgcheck" --version -- \
        "msgshow --version" /dev/null "$msgshow" --version
    local v_c=${turn_best[0]} v_s=${turn_best[1]}

    echo
    echo "corpus ($kind): $f, $size bytes ($(corpus_args "$mb" "$text")); DIR: $dir, $files files"
    echo "machine: $n cores; best of $runs runs of each command, run in turn (order reversed every other round)$(quiet_note)"
    echo "commands:"
    echo "  $msgcheck -j 1|$n --mbox FILE        $msgcheck -j 1|$n DIR"
    echo "  $msgshow -j 1|$n --stats --mbox FILE   $msgshow -j 1|$n --stats DIR"
    printf '%-30s %8s %8s %9s %11s %9s %9s %9s\n' "" "-j 1 s" "-j $n s" "speed-up" "$n x -j 1 s" "ceiling" "of it" "startup"
    local row
    row() {   # NAME T1 TN TTOGETHER STARTUP
        local up cap
        up=$(ratio "$2" "$3")
        cap=$(awk -v n="$n" -v a="$2" -v t="$4" 'BEGIN { printf "%.2f", n * a / t }')
        printf '%-30s %8.3f %8.3f %8.2fx %11.3f %8.2fx %8.0f%% %8.2fx\n' "$1" "$2" "$3" "$up" "$4" "$cap" \
            "$(awk -v u="$up" -v c="$cap" 'BEGIN { print 100 * u / c }')" \
            "$(awk -v n="$n" -v a="$2" -v s="$5" 'BEGIN { printf "%.2f", a / (s + (a - s) / n) }')"
    }
    row "msgcheck --mbox FILE" "$a_c1" "$a_cn" "$a_ct" "$v_c"
    row "msgshow --stats --mbox FILE" "$a_s1" "$a_sn" "$a_st" "$v_s"
    row "msgcheck DIR" "$d_c1" "$d_cn" "$d_ct" "$v_c"
    row "msgshow --stats DIR" "$d_s1" "$d_sn" "$d_st" "$v_s"
    echo "(target with 2 cores: >= 1.8x; ceiling: $n separate -j 1 runs at once, $n x the time of one"
    echo " over the time they take together: what $n cores give work that shares nothing;"
    echo " startup: the most -j $n can give when the time of --version ($v_c s msgcheck, $v_s s msgshow)"
    echo " is spent in one thread and all the rest is shared out perfectly: T1 / (S + (T1 - S) / $n))"
    echo
    rm -rf "$tmp"
}

rss() {
    local mb=${BENCH_MB:-1024} f gzf size
    f=$(corpus "$mb")
    gzf=$(corpus "$mb" gz)
    cat "$f" "$gzf" >/dev/null  # from memory, as in the throughput mode
    echo "== peak RSS: msgshow --stats --mbox over a $mb MB archive" >&2
    local r=$runs; runs=1
    measure "msgshow --stats --mbox (plain)" /dev/null "$msgshow" --stats --mbox "$f";   local p_s=$best_s p_rss=$rss_kb
    measure "msgshow --stats --mbox (gzip)" /dev/null "$msgshow" --stats --mbox "$gzf";  local g_s=$best_s g_rss=$rss_kb
    # A Maildir of many small messages (the text corpus's, a file each):
    # the listing of its files, put in order, must not grow with them.
    local tf md files
    tf=$(corpus "$mb" "" "" 1)
    md=$(maildir_of "$tf")
    files=$(find "$md" -type f | wc -l)
    find "$md" -type f -exec cat {} + >/dev/null
    echo "== peak RSS: a Maildir of $files files" >&2
    local sp
    sp=$(mktemp -d -p "${BENCH_SPOOL_DIR:-$build}")
    measure "msgcheck -j 1 DIR" /dev/null sh -c '"$1" -j 1 "$2" >/dev/null 2>&1; [ $? -le 1 ]' sh "$msgcheck" "$md"; local c_s=$best_s c_rss=$rss_kb
    measure "msgshow --stats -j 1 DIR" /dev/null "$msgshow" --stats -j 1 "$md";   local s_s=$best_s s_rss=$rss_kb
    measure "mbox2spool DIR SPOOL" /dev/null "$mbox2spool" -q --rcpt bench@example.net "$md" "$sp/spool";   local m_s=$best_s m_rss=$rss_kb
    rm -rf "$sp"
    runs=$r
    size=$(stat -c %s "$f")
    local mrow
    mrow() { printf '%-34s %10.2f %12s %12.1f\n' "$1" "$2" "$3" "$(awk -v k="$4" 'BEGIN { print k / 1024 }')"; }
    echo
    echo "archive: $f ($size bytes), gzip: $gzf ($(stat -c %s "$gzf") bytes); DIR: $md ($files files)"
    printf '%-34s %10s %12s %12s\n' "" "seconds" "MB/s" "peak RSS MB"
    mrow "msgshow --stats --mbox plain" "$p_s" "$(mbps "$size" "$p_s")" "$p_rss"
    mrow "msgshow --stats --mbox gzip" "$g_s" "$(mbps "$size" "$g_s")" "$g_rss"
    mrow "msgcheck -j 1 DIR" "$c_s" "" "$c_rss"
    mrow "msgshow --stats -j 1 DIR" "$s_s" "" "$s_rss"
    mrow "mbox2spool DIR SPOOL" "$m_s" "" "$m_rss"
    echo "(MB/s of the uncompressed size; target: peak RSS < 64 MB, mbox2spool < 32 MB)"
    local bad=0
    for k in "$p_rss" "$g_rss" "$c_rss" "$s_rss"; do [ "$k" -lt 65536 ] || bad=1; done
    [ "$m_rss" -lt 32768 ] || bad=1
    [ $bad = 0 ] && echo "peak RSS: OK" || echo "peak RSS: OVER"
}

spool() {
    local mb=${BENCH_MB:-1024} f size out
    if ! command -v mdeliver >/dev/null; then
        echo "== installing mblaze (for mdeliver)" >&2
        if [ "$(id -u)" = 0 ]; then apt-get install -y -qq mblaze >/dev/null || { apt-get update -qq && apt-get install -y -qq mblaze >/dev/null; }
        else sudo apt-get install -y -qq mblaze >/dev/null; fi
    fi
    local text=""
    case ${BENCH_SPOOL_KIND:-mixed} in mixed) ;; text) text=1 ;; *) echo "BENCH_SPOOL_KIND: mixed or text" >&2; exit 64 ;; esac
    f=$(corpus "$mb" "" "" "$text")
    size=$(stat -c %s "$f")
    local dest=${BENCH_SPOOL_DIR:-$build}
    out=$(mktemp -d -p "$dest")  # the same file system for both
    cat "$f" >/dev/null
    echo "== spool: $f ($size bytes) into $out ($(stat -f -c %T "$out"))" >&2
    # Each tool runs twice, in the order A B B A, each time into a fresh
    # directory, and nothing is deleted until the end: ext4 makes a file
    # creation pay for inodes freed in the last minutes, which would favour
    # whichever tool ran first.
    local r=$runs; runs=1
    local md_s="" ms_s="" md_rss=0 ms_rss=0 md_n ms_n k
    run_md() {
        mkdir -p "$out/md$1/cur" "$out/md$1/new" "$out/md$1/tmp"; sync
        measure "mdeliver -M (Maildir) #$1" /dev/null sh -c 'mdeliver -M "$1" < "$2"' sh "$out/md$1" "$f"
        if [ -z "$md_s" ] || awk -v a="$best_s" -v b="$md_s" 'BEGIN { exit !(a < b) }'; then md_s=$best_s; fi
        [ "$rss_kb" -gt "$md_rss" ] && md_rss=$rss_kb
        md_n=$(ls "$out/md$1/new" | wc -l)
    }
    run_ms() {
        sync
        measure "mbox2spool #$1" /dev/null "$mbox2spool" -q --format mboxrd "$f" "$out/spool$1"
        if [ -z "$ms_s" ] || awk -v a="$best_s" -v b="$ms_s" 'BEGIN { exit !(a < b) }'; then ms_s=$best_s; fi
        [ "$rss_kb" -gt "$ms_rss" ] && ms_rss=$rss_kb
        ms_n=$(ls "$out/spool$1/queue" | wc -l)
    }
    # The file system's floor for the same work: the entries mbox2spool
    # made, extracted from a tar archive into a fresh directory and synced.
    local fl_s="" fl_rss=0 fl_n
    run_fl() {
        sync
        measure "tar -xf + sync -f #$1" /dev/null sh -c 'mkdir "$2" && tar -xf "$1" -C "$2" && sync -f "$2"' sh "$out/entries.tar" "$out/floor$1"
        if [ -z "$fl_s" ] || awk -v a="$best_s" -v b="$fl_s" 'BEGIN { exit !(a < b) }'; then fl_s=$best_s; fi
        [ "$rss_kb" -gt "$fl_rss" ] && fl_rss=$rss_kb
        fl_n=$(ls "$out/floor$1/queue" | wc -l)
    }
    run_md 1; run_ms 1
    tar -cf "$out/entries.tar" -C "$out/spool1" .
    run_fl 1; run_ms 2; run_md 2; run_fl 2
    local rounds=${BENCH_SPOOL_ROUNDS:-1} k
    for ((k = 2; k <= rounds; ++k)); do
        run_md $((2 * k - 1)); run_ms $((2 * k - 1)); run_fl $((2 * k - 1))
        run_ms $((2 * k)); run_md $((2 * k)); run_fl $((2 * k))
    done
    # Again into the first spool: every message is there already, and the
    # index of the spool's keys is the memory that grows with it.
    sync
    measure "mbox2spool again (into spool #1)" /dev/null "$mbox2spool" -q --format mboxrd "$f" "$out/spool1"
    local again_s=$best_s again_rss=$rss_kb again_n
    again_n=$(ls "$out/spool1/queue" | wc -l)
    runs=$r
    rm -rf "$out"
    echo
    echo "archive: $f ($size bytes, $ms_n messages; $(corpus_args "$mb" "$text")), $(nproc) cores"
    echo "written to: $dest ($(stat -f -c %T "$dest")); best of $((2 * ${BENCH_SPOOL_ROUNDS:-1})) runs each (A B B A), every message durable before exit (mdeliver: an fsync each; mbox2spool: one syncfs per group)"
    echo "commands:"
    echo "  mdeliver -M DIR < FILE"
    echo "  $mbox2spool -q --format mboxrd FILE SPOOL"
    echo "  mkdir DIR && tar -xf ENTRIES.tar -C DIR && sync -f DIR   (the floor: mbox2spool's entries, made before)"
    printf '%-34s %10s %10s %12s %10s\n' "" "seconds" "MB/s" "peak RSS MB" "messages"
    printf '%-34s %10.3f %10s %12.1f %10s\n' "mdeliver -M" "$md_s" "$(mbps "$size" "$md_s")" "$(awk -v k="$md_rss" 'BEGIN { print k / 1024 }')" "$md_n"
    printf '%-34s %10.3f %10s %12.1f %10s\n' "mbox2spool" "$ms_s" "$(mbps "$size" "$ms_s")" "$(awk -v k="$ms_rss" 'BEGIN { print k / 1024 }')" "$ms_n"
    printf '%-34s %10.3f %10s %12.1f %10s\n' "mbox2spool again (none new)" "$again_s" "$(mbps "$size" "$again_s")" "$(awk -v k="$again_rss" 'BEGIN { print k / 1024 }')" "$again_n"
    printf '%-34s %10.3f %10s %12.1f %10s\n' "tar -xf + sync -f (floor)" "$fl_s" "$(mbps "$size" "$fl_s")" "$(awk -v k="$fl_rss" 'BEGIN { print k / 1024 }')" "$fl_n"
    echo
    echo "mbox2spool / mdeliver -M speed: $(ratio "$md_s" "$ms_s")x   (target >= 3 on tmpfs)"
    echo "mbox2spool time / the floor's: $(ratio "$ms_s" "$fl_s")x   (target on disk: <= 1.5)"
    echo "mbox2spool peak RSS: $(awk -v k="$ms_rss" 'BEGIN { print k / 1024 }') MB, again into its spool $(awk -v k="$again_rss" 'BEGIN { print k / 1024 }') MB   (target < 32 MB)"
    [ "$again_n" = "$ms_n" ] || { echo "mbox2spool again: $again_n entries in queue/, not $ms_n" >&2; exit 1; }
}

index() {
    local n=${BENCH_INDEX_ENTRIES:-1000000} dest=${BENCH_SPOOL_DIR:-$build} tmp
    tmp=$(mktemp -d -p "$dest")
    echo "== index: $n entries in $tmp/spool ($(stat -f -c %T "$tmp"))" >&2
    python3 "$here/gen_spool.py" --entries "$n" "$tmp/spool"
    : > "$tmp/empty.mbox"
    find "$tmp/spool" -type f | wc -l >/dev/null   # the directories read once before the timing
    measure_turns "find SPOOL -type f | wc -l" "$tmp/find.out" sh -c 'find "$1" -type f | wc -l' sh "$tmp/spool" -- \
        "mbox2spool EMPTY SPOOL" "$tmp/ms.out" "$mbox2spool" -q --rcpt bench@example.net "$tmp/empty.mbox" "$tmp/spool"
    local fd_s=${turn_best[0]} ms_s=${turn_best[1]} ms_rss=${turn_rss[1]} found
    found=$(cat "$tmp/find.out")
    rm -rf "$tmp"
    echo
    echo "spool: $n empty entries in queue/ (gen_spool.py, one in ten a copy), on $dest ($(stat -f -c %T "$dest")), $(nproc) cores, best of $runs, in turn$(quiet_note)"
    echo "commands:"
    echo "  find SPOOL -type f | wc -l   (the floor: the directories read)"
    echo "  $mbox2spool -q --rcpt ADDR EMPTY.mbox SPOOL   (every key of the spool listed and counted, nothing read)"
    printf '%-34s %10s %14s %12s\n' "" "seconds" "us per entry" "peak RSS MB"
    printf '%-34s %10.3f %14.3f %12s\n' "find | wc -l" "$fd_s" "$(awk -v s="$fd_s" -v n="$n" 'BEGIN { print s * 1e6 / n }')" "-"
    printf '%-34s %10.3f %14.3f %12.1f\n' "mbox2spool (empty archive)" "$ms_s" "$(awk -v s="$ms_s" -v n="$n" 'BEGIN { print s * 1e6 / n }')" "$(awk -v k="$ms_rss" 'BEGIN { print k / 1024 }')"
    echo
    echo "mbox2spool time / the floor's: $(ratio "$ms_s" "$fd_s")x   (files found: $found; peak RSS target < 32 MB)"
    [ "$found" -ge "$n" ] || { echo "find found $found files, not $n" >&2; exit 1; }
}

rewrite() {
    local mb=${BENCH_MB:-200} pymb=${BENCH_PY_MB:-} f pyf size pysize tmp
    [ -x "$python" ] || { echo "rewrite: $python is missing (the Debian system Python)" >&2; exit 1; }
    f=$(corpus "$mb" "" "${BENCH_8BIT:+1}")
    size=$(stat -c %s "$f")
    # The Python peer runs at ~17 MB/s here (12 s for 200 MB), so it takes the
    # same archive by default. BENCH_PY_MB gives it a smaller one instead: the
    # generator is deterministic, so that corpus is a byte prefix of this one
    # (it stops at the first message boundary past BENCH_PY_MB MiB).
    if [ -n "$pymb" ] && [ "$pymb" != "$mb" ]; then pyf=$(corpus "$pymb" "" "${BENCH_8BIT:+1}"); else pyf=$f pymb=""; fi
    pysize=$(stat -c %s "$pyf")
    tmp=$(mktemp -d -p "$build")  # the outputs (as large as the archives) on disk, not in /tmp
    cat "$f" "$pyf" >/dev/null
    echo "== rewrite: $f ($(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }') MB), best of $runs" >&2
    measure "msgrewrite --mbox --7bit --fold" /dev/null "$msgrewrite" --mbox --7bit --fold -o "$tmp/out.mbox" "$f"
    local mr_s=$best_s mr_rss=$rss_kb
    [ "$pyf" = "$f" ] || echo "== python: $pyf ($(awk -v b="$pysize" 'BEGIN { printf "%.1f", b / 1048576 }') MB)" >&2
    measure "python3 rewrite_py.py" /dev/null sh -c '"$1" "$2" "$3" "$4" 2>"$5"' sh "$python" "$here/rewrite_py.py" "$pyf" "$tmp/out-py.mbox" "$tmp/py.err"
    local py_s=$best_s py_rss=$rss_kb
    # sanity: messages out (after mboxrd quoting only From_ lines start "From "),
    # and lines still holding 8-bit bytes
    local mr_n py_n mr_8 py_8 in_8 pyin_8
    mr_n=$(grep -ac '^From ' "$tmp/out.mbox" || true)
    py_n=$(grep -ac '^From ' "$tmp/out-py.mbox" || true)
    in_8=$(LC_ALL=C grep -ac $'[\x80-\xff]' "$f" || true)
    pyin_8=$in_8
    [ "$pyf" = "$f" ] || pyin_8=$(LC_ALL=C grep -ac $'[\x80-\xff]' "$pyf" || true)
    mr_8=$(LC_ALL=C grep -ac $'[\x80-\xff]' "$tmp/out.mbox" || true)
    py_8=$(LC_ALL=C grep -ac $'[\x80-\xff]' "$tmp/out-py.mbox" || true)
    local mr_mbps py_mbps
    mr_mbps=$(awk -v b="$size" -v s="$mr_s" 'BEGIN { printf "%.1f", b / 1048576 / s }')
    py_mbps=$(awk -v b="$pysize" -v s="$py_s" 'BEGIN { printf "%.1f", b / 1048576 / s }')

    echo
    echo "corpus: $f, $size bytes, seed $seed, $(nproc) cores, best of $runs runs"
    [ "$pyf" = "$f" ] || echo "python: $pyf, $pysize bytes (a prefix of the corpus: Python ran on $pymb MiB only)"
    printf '%-34s %10s %10s %10s %12s %10s\n' "" "input MB" "seconds" "MB/s" "peak RSS MB" "messages"
    printf '%-34s %10.1f %10.3f %10s %12.1f %10s\n' "msgrewrite --mbox --7bit --fold" "$(awk -v b="$size" 'BEGIN { print b / 1048576 }')" "$mr_s" "$mr_mbps" "$(awk -v k="$mr_rss" 'BEGIN { print k / 1024 }')" "$mr_n"
    printf '%-34s %10.1f %10.3f %10s %12.1f %10s\n' "python3 rewrite_py.py (email)" "$(awk -v b="$pysize" 'BEGIN { print b / 1048576 }')" "$py_s" "$py_mbps" "$(awk -v k="$py_rss" 'BEGIN { print k / 1024 }')" "$py_n"
    echo "(MB/s is MiB of input archive per second, wall time; both write an mboxrd file)"
    echo
    echo "msgrewrite / python throughput: $(awk -v a="$mr_mbps" -v b="$py_mbps" 'BEGIN { printf "%.1f", a / b }')x   (target >= 20; per MiB of input${pymb:+, Python on $pymb MiB})"
    echo "python: $(tail -n 1 "$tmp/py.err")"
    echo "lines with 8-bit bytes: msgrewrite $in_8 in, $mr_8 out; python $pyin_8 in, $py_8 out"
    rm -rf "$tmp"

    [ "${BENCH_REWRITE_RSS:-0}" = 1 ] || return 0
    local rmb=${BENCH_RSS_MB:-1024} rf rsize
    rf=$(corpus "$rmb")
    rsize=$(stat -c %s "$rf")
    cat "$rf" >/dev/null
    echo "== rewrite rss: msgrewrite over $rf, one run, output to /dev/null" >&2
    local r=$runs; runs=1
    measure "msgrewrite --mbox --7bit --fold (rss)" /dev/null "$msgrewrite" --mbox --7bit --fold "$rf"
    runs=$r
    echo
    printf '%-34s %10s %10s %10s %12s\n' "" "input MB" "seconds" "MB/s" "peak RSS MB"
    printf '%-34s %10.1f %10.3f %10s %12.1f\n' "msgrewrite, $mb MiB archive" "$(awk -v b="$size" 'BEGIN { print b / 1048576 }')" "$mr_s" "$mr_mbps" "$(awk -v k="$mr_rss" 'BEGIN { print k / 1024 }')"
    printf '%-34s %10.1f %10.3f %10s %12.1f\n' "msgrewrite, $rmb MiB archive" "$(awk -v b="$rsize" 'BEGIN { print b / 1048576 }')" "$best_s" "$(awk -v b="$rsize" -v s="$best_s" 'BEGIN { printf "%.1f", b / 1048576 / s }')" "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')"
    echo "(streaming: peak RSS should not grow with the archive; the $rmb MiB run writes to /dev/null)"
}

need_time
build_tools
case $mode in
throughput) throughput ;;
check) check ;;
cores) cores ;;
rss) rss ;;
spool) spool ;;
index) index ;;
rewrite) rewrite ;;
all) throughput; echo; check; echo; cores; echo; rss; echo; spool; echo; index; echo; rewrite ;;
esac
