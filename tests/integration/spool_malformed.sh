#!/bin/sh
# Malformed spool entries, through the tools that read them: each defect of
# the envelope said as msgcheck places it (FILE:LINE:COL, the same code),
# exit status 1, and what can be done with the entry done.
#
# Usage: spool_malformed.sh SPOOL2MBOX SPOOLCTL MSGCHECK SPOOLSEND
set -u
. "$(dirname "$0")/lib.sh"
spool2mbox=$1 spoolctl=$2 msgcheck=$3 spoolsend=$4

s=$tmp/spool
mkdir -p "$s/tmp" "$s/queue" "$s/deferred" "$s/sent" "$s/failed" "$s/hold"
q=$s/queue
n1=20261205T000000.000001Z.1.000001.host   # RCPT TO, no MAIL line, a whole message
n2=20261205T000000.000002Z.1.000002.host   # MAIL, no RCPT line, a whole message
n3=20261205T000000.000003Z.1.000003.host   # MAIL and RCPT, no empty line: no message
n4=20261205T000000.000004Z.1.000004.host   # well formed
printf 'RCPT TO:<b@example.net>\n\nFrom: a@example.org\nSubject: no MAIL line\n\nbody 1\n' >"$q/$n1"
printf 'MAIL FROM:<a@example.org>\n\nFrom: a@example.org\nSubject: no RCPT line\n\nbody 2\n' >"$q/$n2"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n' >"$q/$n3"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nFrom: a@example.org\nSubject: fine\n\nbody 4\n' >"$q/$n4"

# --- spool2mbox: a message that is there is written, with warnings --------------
expect 1 "^$q/$n1:1:1: warning: .*\[envelope.mail-missing\]" "$spool2mbox" "$s" -o "$tmp/all.mbox"
has "$tmp/err" "^$q/$n2:2:1: warning: .*\[envelope.rcpt-missing\]"
has "$tmp/err" "^$q/$n3:3:1: error: .*\[envelope.no-separator\]"
has "$tmp/err" "$n3: no message after the envelope; left out"
has "$tmp/err" "3 messages written, 1 entry left out"
lacks "$tmp/err" "not a spool entry"
lacks "$tmp/err" "$n4"
has "$tmp/all.mbox" "^From MAILER-DAEMON "
has "$tmp/all.mbox" "^body 1$"
has "$tmp/all.mbox" "^body 2$"
has "$tmp/all.mbox" "^body 4$"
# the same places as msgcheck's
"$msgcheck" --spool "$q/$n1" "$q/$n3" >"$tmp/check" 2>/dev/null
has "$tmp/check" "^$q/$n1:1:1: error: .*\[envelope.mail-missing\]"
has "$tmp/check" "^$q/$n3:3:1: error: .*\[envelope.no-separator\]"

# --- spoolctl list: malformed entries said, exit 1, no <> for a missing sender --
expect 1 "^$q/$n1:1:1: error: .*\[envelope.mail-missing\]" "$spoolctl" list "$s"
has "$tmp/err" "^$q/$n2:2:1: error: .*\[envelope.rcpt-missing\]"
has "$tmp/err" "^$q/$n3:3:1: error: .*\[envelope.no-separator\]"
lacks "$tmp/err" "$n4"
has "$tmp/out" "^$n1  queue  .*  (no MAIL FROM) 1 rcpt"
lacks "$tmp/out" "^$n1 .*<>"
has "$tmp/out" "^$n4  queue  .*  <a@example.org> 1 rcpt$"
expect 1 "" "$spoolctl" list --json "$s"
has "$tmp/out" '"problem": *"malformed spool entry: line 1, column 1'
expect 1 "" "$spoolctl" show "$s" "$n1"
has "$tmp/out" "^Problem: malformed spool entry: line 1, column 1"
expect 0 "" "$spoolctl" show "$s" "$n4"
expect 0 "" "$spoolctl" list --state sent "$s"
# spoolsend --dry-run shows the sender as spoolctl does
expect 0 "" "$spoolsend" --dry-run "$s"
has "$tmp/out" "^$n1 (queue): (no MAIL FROM) -> <b@example.net>"
lacks "$tmp/out" "^$n1 .*<>"

# --- a path too long to send is never printed whole --------------------------------
n6=20261205T000000.000006Z.1.000006.host
long=$(head -c 3000 /dev/zero | tr '\0' x)
printf 'MAIL FROM:<%s@example.org>\nRCPT TO:<b@example.net>\n\nFrom: a@example.org\n\nbody 6\n' "$long" >"$q/$n6"
expect 1 "^$q/$n6:1:11: error: .*\[envelope.path-too-long\]" "$spoolctl" list "$s"
has "$tmp/out" "^$n6  queue  .*  (MAIL FROM too long: 3012 octets) 1 rcpt"
lacks "$tmp/out" "$long"
expect 0 "" "$spoolsend" --dry-run "$s"
has "$tmp/out" "^$n6 (queue): (MAIL FROM too long: 3012 octets) -> <b@example.net>"
lacks "$tmp/out" "$long"
rm -f "$q/$n6"

# --- an entry that cannot be read: every reader says so, naming it -----------------
# Root reads anything: the tools run as nobody, from copies in $tmp (the
# build tree may be where nobody cannot go).
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$tmp/bin"
    for t in "$spool2mbox" "$spoolctl" "$msgcheck" "$spoolsend"; do cp "$t" "$tmp/bin/"; done
    as() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$tmp/bin/$@"; }
else
    as() { "$(dirname "$spoolctl")/$@"; }
fi
chmod 755 "$tmp" "$tmp/bin" 2>/dev/null
chmod -R a+rX "$s"
chmod 000 "$q/$n4"
if ! as spoolctl --help >/dev/null 2>&1 || as spoolctl show "$s" "$n4" >/dev/null 2>&1; then
    echo "note: no user to read as without privileges; the unreadable-entry case is not run"
else
    expect 74 "cannot open $q/$n4: Permission denied" as spoolctl list "$s"
    expect 74 "cannot open $q/$n4: Permission denied" as spoolsend --dry-run "$s"
    has "$tmp/out" "1 cannot be read (dry run)"
    expect 1 "cannot open $q/$n4: Permission denied; left out" as spool2mbox "$s"
    expect 66 "cannot open $q/$n4: Permission denied" as msgcheck --spool "$q"
fi
chmod 644 "$q/$n4"

# --- a retry time that is not RFC 3339 ------------------------------------------
d=$s/deferred
n5=20261205T000000.000005Z.1.000005.host
rm -f "$q"/*
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nAttempt: yesterday 451 4.3.0 busy\nNext-Attempt: 2099-13-45T99:99:99Z\n\nFrom: a@example.org\nTo: b@example.net\nSubject: s\nDate: Sat, 5 Dec 2026 17:00:00 +0000\nMessage-ID: <f5@example.org>\n\nbody\n' >"$d/$n5"
"$msgcheck" --spool "$d/$n5" >"$tmp/check" 2>/dev/null
[ $? = 1 ] || { echo "FAIL: msgcheck --spool: a bad retry time is an error"; fail=1; }
has "$tmp/check" "^$d/$n5:3:10: error: .*Attempt: not an RFC 3339 date-time: yesterday.*\[envelope.syntax\]"
has "$tmp/check" "^$d/$n5:4:15: error: .*Next-Attempt: not an RFC 3339 date-time.*\[envelope.syntax\]"
expect 1 "^$d/$n5:4:15: error: .*Next-Attempt" "$spoolctl" list "$s"
expect 1 "" "$spoolctl" show "$s" "$n5"
has "$tmp/out" "^Problem: malformed spool entry: line 3, column 10"
# spoolsend does not take it as due and send it: it would fail it, saying why
expect 0 "" "$spoolsend" --dry-run "$s"
has "$tmp/out" "$n5"
has "$tmp/out" "line 3, column 10"
has "$tmp/out" "1 would fail"

# --- msgcheck --spool SPOOL checks the entries spoolctl lists, no other file -----
f=$s/failed
n7=20261205T000000.000007Z.1.000007.host
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nFrom: a@example.org\nTo: b@example.net\nSubject: s\nDate: Sat, 5 Dec 2026 17:00:00 +0000\nMessage-ID: <f7@example.org>\n\nbody\n' >"$f/$n7"
printf 'Reporting-MTA: dns; x\n' >"$f/$n7.report"
printf '{"entry": "x"}\n' >"$f/$n7.json"
printf 'junk\n' >"$q/.swap"
printf 'MAIL FROM:<a@exa' >"$s/tmp/$n7"
"$spoolctl" list "$s" >"$tmp/list" 2>/dev/null
"$msgcheck" --spool "$s" >"$tmp/check" 2>"$tmp/err"
listed=$(wc -l <"$tmp/list")
has "$tmp/err" "^msgcheck: $listed messages,"
lacks "$tmp/check" "\.report:\|\.json:\|\.swap:\|^$s/tmp/"

exit $fail
