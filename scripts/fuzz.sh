#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets with clang + ASan/UBSan in build-fuzz/
# and run each for N seconds (default 30).
#
#   scripts/fuzz.sh [SECONDS]
#
# Each fuzzer starts from its seed corpus testdata/fuzz/<name>/ (read-only:
# new inputs go to build-fuzz/corpus/<name>/) plus testdata/mimekit/messages
# and testdata/messages for the message fuzzer. Any crash, leak, sanitizer report or timeout makes
# the script exit non-zero; the reproducer is left in build-fuzz/artifacts/.
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
jobs="$(nproc 2>/dev/null || echo 2)"

cmake -S "$root" -B "$build" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMSG_BUILD_FUZZERS=ON -DMSG_SANITIZE=address,undefined >/dev/null

fuzzers=()
for src in "$root"/tests/fuzz/*_fuzz.cpp; do
    fuzzers+=("$(basename "$src" .cpp)")
done
cmake --build "$build" -j "$jobs" --target "${fuzzers[@]}"

# UBSan findings must stop the run, not just print.
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

status=0
for f in "${fuzzers[@]}"; do
    name="${f%_fuzz}"
    corpus="$build/corpus/$name"
    artifacts="$build/artifacts/$name/"
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [ -d "$root/testdata/fuzz/$name" ] && seeds+=("$root/testdata/fuzz/$name")
    if [ "$name" = message ]; then
        for d in "$root/testdata/mimekit/messages" "$root/testdata/messages"; do
            [ -d "$d" ] && seeds+=("$d")
        done
    fi
    echo "== $f: ${seconds}s"
    if ! "$build/bin/$f" "$corpus" "${seeds[@]}" \
            -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts" -print_final_stats=1 >"$build/$f.log" 2>&1; then
        echo "!! $f found a problem; see $build/$f.log and $artifacts" >&2
        grep -E "^==[0-9]+==ERROR|runtime error|SUMMARY|Test unit written" "$build/$f.log" >&2 || tail -20 "$build/$f.log" >&2
        status=1
    else
        grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$build/$f.log" | tail -2 || true
    fi
done
exit "$status"
