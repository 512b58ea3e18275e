# lib.sh - what the command-line tests share. Source it after `set -u`:
#
#   . "$(dirname "$0")/lib.sh"
#
# It makes $tmp (removed on exit) and $fail (0; set to 1 by any failed
# check), and the checks below. The script ends with `exit $fail`.

fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect STATUS PATTERN-IN-STDERR COMMAND...: run COMMAND (stdout in
# $tmp/out, stderr in $tmp/err); it must exit STATUS and, when PATTERN is
# not empty, print a line matching it on stderr.
expect() {
    want=$1 pattern=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: $* exited $got, expected $want"; cat "$tmp/err"; fail=1
    elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/err"; then
        echo "FAIL: $*: stderr lacks '$pattern'"; cat "$tmp/err"; fail=1
    fi
}

# has FILE PATTERN / lacks FILE PATTERN: FILE has (or has no) line matching PATTERN.
has() {
    grep -q -- "$2" "$1" || { echo "FAIL: $1 lacks '$2'"; cat "$1"; fail=1; }
}
lacks() {
    if grep -q -- "$2" "$1"; then echo "FAIL: $1 has '$2'"; cat "$1"; fail=1; fi
}
