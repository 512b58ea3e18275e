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

# start_sink SMTPSINK ARGS...: run smtpsink on a free port of 127.0.0.1 in
# the background (under the caller's limits); $sink is its pid, $port its port.
start_sink() {
    "$@" --listen 127.0.0.1:0 >"$tmp/sink.out" 2>"$tmp/sink.err" &
    sink=$!
    for _ in $(seq 50); do grep -q '[0-9]$' "$tmp/sink.out" 2>/dev/null && break; sleep 0.1; done
    port=$(grep -o '[0-9]*$' "$tmp/sink.out" | head -1)
}

# send_each FILE...: send each message file to $port, one session each,
# with Python's smtplib (LF made CRLF); prints "accepted", or "refused CODE
# TEXT", or "client: ERROR", a line per file.
send_each() {
    /usr/bin/python3 - "$port" "$@" <<'PY'
import smtplib, sys
for name in sys.argv[2:]:
    data = open(name, 'rb').read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    try:
        with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=60) as c:
            c.sendmail('a@example.org', ['b@example.net'], data)
            print('accepted')
    except smtplib.SMTPDataError as e:
        print('refused', e.smtp_code, e.smtp_error.decode())
    except Exception as e:
        print('client:', repr(e))
PY
}
