#!/bin/sh
# stopped_temporaries.sh MSGSHOW SPOOL2MBOX SPOOLCTL - a tool stopped by
# SIGTERM, SIGINT or SIGHUP while an output is whole under its temporary
# name, not yet renamed into place, dies by that signal (exit 128+N) and
# leaves no temporary file: not beside msgshow --extract-all's files, not
# in the tmp/ of spool2mbox --maildir's Maildir, not in the spool's tmp/
# after spoolctl retry; and spoolctl remove, stopped between a failed
# entry and its reports, removes both. strace puts the signal at that point, every time:
# it fails the tool's first rename (EINTR, the rename not made) and sends
# the signal with it. Skipped (77) without strace.
set -u
show=$1 s2m=$2 ctl=$3
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null 2>&1 || { echo "strace is not installed: skipped"; exit 77; }
cd "$tmp" || exit 1

# stopped SIG COMMAND...: run COMMAND, signalled SIG at its first rename;
# it must end by SIG (exit status 128+N).
stopped() {
    sig=$1
    shift
    strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
        -e inject=rename,renameat,renameat2:error=EINTR:signal="$sig":when=1 "$@" >/dev/null 2>err
    rc=$?
    case $sig in HUP) want=129 ;; INT) want=130 ;; TERM) want=143 ;; esac
    [ $rc = $want ] || { echo "FAIL: $* stopped by SIG$sig exited $rc, not $want"; cat err; fail=1; }
}

printf 'From a@example.org Mon Nov 23 09:00:00 2026\nFrom: a@example.org\nTo: b@example.net\nSubject: report\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="report.bin"\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQK\n--b--\n' >att.mbox
for sig in TERM INT HUP; do
    rm -rf ex && mkdir ex
    stopped $sig "$show" --mbox --extract-all ex att.mbox
    [ -z "$(ls -A ex)" ] || { echo "FAIL: msgshow --extract-all stopped by SIG$sig left: $(ls -A ex)"; fail=1; }
done

printf 'From: a@example.org\nTo: b@example.net\nSubject: one\n\nhello\n' >one.eml
"$ctl" -q add --sender a@example.org --rcpt b@example.net sp one.eml >/dev/null || { echo "FAIL: spoolctl add"; exit 1; }
for sig in TERM INT HUP; do
    rm -rf md
    stopped $sig "$s2m" --maildir md sp
    [ -z "$(find md -type f)" ] ||
        { echo "FAIL: spool2mbox --maildir stopped by SIG$sig left:"; find md -type f; fail=1; }
done

# A deferred entry, due in 2099: retry rewrites it without that line.
entry=$(ls sp/queue)
{ sed -n '/^$/q;p' "sp/queue/$entry"; echo 'Next-Attempt: 2099-01-01T00:00:00Z'; sed -n '/^$/,$p' "sp/queue/$entry"; } \
    >"sp/deferred/$entry" && rm "sp/queue/$entry" && cp "sp/deferred/$entry" deferred.entry
for sig in TERM INT HUP; do
    stopped $sig "$ctl" retry sp "$entry"
    [ -z "$(ls -A sp/tmp)" ] || { echo "FAIL: spoolctl retry stopped by SIG$sig left in tmp/: $(ls -A sp/tmp)"; fail=1; }
    cmp -s "sp/deferred/$entry" deferred.entry || { echo "FAIL: spoolctl retry stopped by SIG$sig changed the entry"; fail=1; }
done
"$ctl" -q retry sp "$entry" || { echo "FAIL: spoolctl retry"; fail=1; }
lacks "sp/deferred/$entry" '^Next-Attempt:'

# A failed entry and its reports go together: spoolctl remove signalled
# at its first unlink (the entry's) still removes the reports before it
# dies by the signal, so that no report is left without its entry.
"$ctl" -q add --sender a@example.org --rcpt b@example.net sp one.eml >/dev/null || { echo "FAIL: spoolctl add"; exit 1; }
for sig in TERM INT HUP; do
    gone=$(ls sp/queue | head -n 1)
    mv "sp/queue/$gone" "sp/failed/$gone" && echo '550 5.1.1 no such user' >"sp/failed/$gone.report" &&
        echo '{"reply":"550 5.1.1"}' >"sp/failed/$gone.json" || exit 1
    "$ctl" -q add --sender a@example.org --rcpt b@example.net sp one.eml >/dev/null || { echo "FAIL: spoolctl add"; exit 1; }
    strace -f -qq -o /dev/null -e trace=unlink,unlinkat -e inject=unlink,unlinkat:signal="$sig":when=1 \
        "$ctl" -q remove sp "$gone" >/dev/null 2>err
    rc=$?
    case $sig in HUP) want=129 ;; INT) want=130 ;; TERM) want=143 ;; esac
    [ $rc = $want ] || { echo "FAIL: spoolctl remove stopped by SIG$sig exited $rc, not $want"; cat err; fail=1; }
    [ -z "$(ls -A sp/failed)" ] || { echo "FAIL: spoolctl remove stopped by SIG$sig left in failed/: $(ls -A sp/failed)"; fail=1; }
done

exit $fail
