#!/bin/sh
# installed.sh BUILD_DIR CMAKE CXX PKG_CONFIG EXAMPLES_DIR TESTDATA [CONFIG]
#
# libmsg as a program built on it sees it: this build (as it is, nothing is
# rebuilt) is installed into a temporary prefix, then the example of
# docs/using-libmsg.md (EXAMPLES_DIR/msgtree.cpp) is built against that copy
# twice, with find_package(msgtools) and with pkg-config, and run on two
# messages. The CMake build asks for C++17: the target's usage requirement
# must raise it to C++20. The page shows the example's code and output as
# they are.
set -eu
build=$1 cmake=$2 cxx=$3 pkgconfig=$4 examples=$5 testdata=$6 config=${7:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/msg-installed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
run_logged() {   # run_logged LOG CMD... : the command's output only when it fails
    log=$1; shift
    if "$@" >"$log" 2>&1; then return 0; fi
    cat "$log"; return 1
}

cat >"$tmp/koi8.expected" <<'OUT'
Subject: Отчёт за ноябрь (résumé)
- multipart/mixed
  1 multipart/alternative
    1.1 text/plain, 31 bytes
    1.2 text/html, 48 bytes
  2 application/pdf, 120 bytes, отчёт.pdf
OUT
cat >"$tmp/truncated.expected" <<'OUT'
Subject: Colour tokens
- multipart/mixed
  1 text/plain, 36 bytes
  2 text/plain, 37 bytes
18:19: mime.boundary-unclosed: multipart body ends without its closing boundary
OUT

# check HOW PROGRAM: its output on the two messages, and its exit codes.
check() {
    how=$1 program=$2
    status=0
    "$program" "$testdata/messages/koi8-subject.eml" >"$tmp/out" 2>&1 || status=$?
    if [ "$status" -eq 0 ] && diff -u "$tmp/koi8.expected" "$tmp/out"; then
        ok "$how: msgtree koi8-subject.eml"
    else
        fail "$how: msgtree koi8-subject.eml (exit $status)"
    fi
    status=0
    "$program" "$testdata/defects/mime.boundary-unclosed/truncated-multipart.eml" >"$tmp/out" 2>&1 || status=$?
    if [ "$status" -eq 1 ] && diff -u "$tmp/truncated.expected" "$tmp/out"; then
        ok "$how: msgtree truncated-multipart.eml reports its defect, exit 1"
    else
        fail "$how: msgtree truncated-multipart.eml (exit $status, expected 1)"
    fi
}

# --- the page shows the example as it is ----------------------------------------------------
doc=$examples/../using-libmsg.md
awk '/^```cpp$/ { inside = 1; next } inside && /^```$/ { exit } inside' "$doc" >"$tmp/doc.cpp"
if diff -u "$examples/msgtree.cpp" "$tmp/doc.cpp"; then
    ok "using-libmsg.md shows msgtree.cpp as it is"
else
    fail "using-libmsg.md shows another msgtree.cpp"
fi
for case in koi8:testdata/messages/koi8-subject.eml \
            truncated:testdata/defects/mime.boundary-unclosed/truncated-multipart.eml; do
    awk -v cmd="\$ /tmp/msgtree/msgtree ${case#*:}" \
        'found && (/^\$ / || /^```$/) { exit } found { print } $0 == cmd { found = 1 }' "$doc" >"$tmp/doc.out"
    if diff -u "$tmp/${case%%:*}.expected" "$tmp/doc.out"; then
        ok "using-libmsg.md shows msgtree's output on ${case#*:}"
    else
        fail "using-libmsg.md shows another output of msgtree on ${case#*:}"
    fi
done

# --- install ------------------------------------------------------------------------------
if ! run_logged "$tmp/install.log" "$cmake" --install "$build" --prefix "$prefix" ${config:+--config "$config"}; then
    echo "FAIL: cmake --install $build --prefix $prefix"
    exit 1
fi
pc=$(find "$prefix" -name msg.pc -path "*/pkgconfig/*")
config_file=$(find "$prefix" -name msgtoolsConfig.cmake)
if [ -z "$pc" ] || [ -z "$config_file" ]; then
    echo "FAIL: msg.pc or msgtoolsConfig.cmake not installed"
    exit 1
fi
ok "installed: ${pc#"$prefix"/}, ${config_file#"$prefix"/}"
# The installed files name the prefix they are in, never the build tree.
if grep -rlF "$(cd "$build" && pwd -P)" "$(dirname "$pc")" "$(dirname "$config_file")"; then
    fail "installed CMake or pkg-config files name the build tree"
else
    ok "no installed CMake or pkg-config file names the build tree"
fi
if grep -qx "prefix=$prefix" "$pc"; then
    ok "msg.pc: prefix=<the install prefix>"
else
    fail "msg.pc has $(grep '^prefix=' "$pc"), not prefix=$prefix"
fi
libdir=$(dirname "$(dirname "$pc")")

# --- find_package(msgtools) ----------------------------------------------------------------
if run_logged "$tmp/cmake.log" "$cmake" -S "$examples" -B "$tmp/with-cmake" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_STANDARD=17 -DCMAKE_PREFIX_PATH="$prefix" &&
    run_logged "$tmp/build.log" "$cmake" --build "$tmp/with-cmake"; then
    found=$(sed -n 's/^msgtools_DIR:PATH=//p' "$tmp/with-cmake/CMakeCache.txt")
    if [ "$found" = "$(dirname "$config_file")" ]; then
        ok "find_package(msgtools) found the installed copy"
    else
        fail "find_package(msgtools) found $found, not the installed copy"
    fi
    check find_package "$tmp/with-cmake/msgtree"
else
    fail "find_package: the example did not configure or build"
fi

# --- pkg-config ----------------------------------------------------------------------------
if [ -z "$pkgconfig" ] || ! command -v "$pkgconfig" >/dev/null; then
    echo "skipped: pkg-config is not installed (Debian package pkg-config)"
else
    export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"   # for a shared libmsg
    for mode in "" --static; do
        how="pkg-config ${mode:+$mode }--cflags --libs msg"
        # shellcheck disable=SC2086  # the flags are words
        if flags=$("$pkgconfig" $mode --cflags --libs msg) &&
            run_logged "$tmp/cc.log" "$cxx" -std=c++20 -o "$tmp/msgtree-pc" "$examples/msgtree.cpp" $flags; then
            echo "$how: $flags"
            check "$how" "$tmp/msgtree-pc"
        else
            fail "$how: the example did not compile or link"
        fi
        rm -f "$tmp/msgtree-pc"
    done
fi

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all passed"
