#!/bin/sh
# golden.sh EXPECTED COMMAND [ARG...]
# Runs COMMAND and compares its standard output, standard error and exit
# status with the file EXPECTED. With MSG_UPDATE_GOLDEN=1 it rewrites EXPECTED.
set -u
expected=$1
shift
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
{
    out=$(mktemp)
    err=$(mktemp)
    "$@" >"$out" 2>"$err"
    status=$?
    cat "$out"
    echo "--- stderr"
    cat "$err"
    echo "--- exit $status"
    rm -f "$out" "$err"
} >"$actual"
if [ "${MSG_UPDATE_GOLDEN:-0}" = 1 ]; then
    mkdir -p "$(dirname "$expected")"
    cp "$actual" "$expected"
    exit 0
fi
if [ ! -f "$expected" ]; then
    echo "golden file missing: $expected (run with MSG_UPDATE_GOLDEN=1 to create it)" >&2
    exit 1
fi
if ! diff -u "$expected" "$actual"; then
    echo "output differs from $expected" >&2
    exit 1
fi
