#!/bin/sh
# maildir.sh BINDIR - Maildir (and MH) across the tools: mbox2spool reads one (cur/
# and new/ at any depth, never tmp/ or a mail server's index files) and is
# idempotent; spool2mbox --maildir writes one back with the same bytes and
# flags; msgcheck, msgshow and msgrewrite read its messages only.
# Run from the project's top directory.
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

# A Maildir as Dovecot leaves it: a subfolder, index files, a delivery in
# progress in tmp/, a hidden file among the messages.
M=$T/Mail
mkdir -p "$M/cur" "$M/new" "$M/tmp" "$M/.Sent/cur" "$M/.Sent/new" "$M/.Sent/tmp"
set -- testdata/clean/calendar-invitation-7bit.eml testdata/clean/csv-export-7bit.eml testdata/clean/format-flowed.eml
[ $# -ge 3 ] || { echo "FAIL: the test needs three sample messages"; exit 1; }
cp "$1" "$M/new/1700000000.M1P100.mx"
cp "$2" "$M/cur/1700000100.M2P100.mx:2,RS"
cp "$3" "$M/.Sent/cur/1700000200.M3P100.mx:2,S"
printf 'From: half@example.org\nSubject: half written\n' > "$M/tmp/1700000300.M4P100.mx"
printf 'not a message\n' > "$M/dovecot.index.log"
printf '3 V1700000000 N4\n' > "$M/dovecot-uidlist"
: > "$M/.Sent/maildirfolder"
printf 'hidden\n' > "$M/cur/.keep"
cp -R "$M" "$T/Mail.orig"

# mbox2spool: three messages, flags and source kept; a second run adds nothing.
"$BIN/mbox2spool" "$M" "$T/spool" 2> "$T/err" || no "mbox2spool MAILDIR: exit $?: $(cat "$T/err")"
grep -q "3 messages, 3 enqueued" "$T/err" || no "mbox2spool takes the three messages only: $(cat "$T/err")"
"$BIN/mbox2spool" "$M" "$T/spool" 2> "$T/err"
grep -q "3 messages, 0 enqueued, 3 already in the spool" "$T/err" || no "mbox2spool MAILDIR is idempotent: $(cat "$T/err")"
grep -l "^Maildir-Flags: RS$" "$T/spool/queue/"* > /dev/null || no "the flags of cur/NAME:2,RS are kept"
grep -l "^Maildir-Source: .*/new/1700000000.M1P100.mx$" "$T/spool/queue/"* > /dev/null || no "Maildir-Source names the file"
"$BIN/msgcheck" --spool "$T/spool/queue" > "$T/out" 2>&1 || no "the entries made from a Maildir are valid: $(cat "$T/out")"

# spool2mbox --maildir: the same bytes, new/ without flags, cur/ with them.
"$BIN/spool2mbox" --maildir "$T/back" "$T/spool" 2> "$T/err" || no "spool2mbox --maildir: exit $?: $(cat "$T/err")"
[ "$(ls "$T/back/new" | wc -l)" -eq 1 ] || no "one message in new/: $(ls "$T/back/new")"
[ "$(ls "$T/back/cur" | wc -l)" -eq 2 ] || no "two messages in cur/: $(ls "$T/back/cur")"
[ -z "$(ls "$T/back/tmp")" ] || no "tmp/ is left empty"
ls "$T/back/cur" | grep -q ':2,RS$' || no "the RS flags come back"
ls "$T/back/cur" | grep -q ':2,S$' || no "the S flag comes back"
# Across the seam, from an mbox: what its mail client wrote (Status,
# X-Status, X-Mozilla-Status) becomes the message's flags in the Maildir;
# a message with none is new.
printf 'From a@example.org Mon Nov 23 09:00:00 2026\nFrom: a@example.org\nTo: b@example.net\nStatus: RO\nX-Status: AF\n\none\n\nFrom a@example.org Mon Nov 23 09:01:00 2026\nFrom: a@example.org\nTo: b@example.net\nX-Mozilla-Status: 0003\n\ntwo\n\nFrom a@example.org Mon Nov 23 09:02:00 2026\nFrom: a@example.org\nTo: b@example.net\n\nthree\n' > "$T/flags.mbox"
"$BIN/mbox2spool" -q "$T/flags.mbox" "$T/fspool" || no "mbox2spool flags.mbox: exit $?"
"$BIN/spool2mbox" --maildir "$T/fback" "$T/fspool" 2> "$T/err" || no "spool2mbox --maildir (from mbox): exit $?: $(cat "$T/err")"
[ "$(ls "$T/fback/new" | wc -l)" -eq 1 ] || no "the message with no client marks is new: $(ls "$T/fback/new")"
ls "$T/fback/cur" | grep -q ':2,FRS$' || no "Status RO and X-Status AF give FRS: $(ls "$T/fback/cur")"
ls "$T/fback/cur" | grep -q ':2,RS$' || no "X-Mozilla-Status 0003 gives RS: $(ls "$T/fback/cur")"
for f in "$1" "$2" "$3"; do
    found=0
    for g in "$T/back/new/"* "$T/back/cur/"*; do cmp -s "$f" "$g" && found=1; done
    [ $found -eq 1 ] || no "$f came back byte for byte"
done
for g in "$T/back/new/"* "$T/back/cur/"*; do
    [ "$(stat -c %a "$g")" = 600 ] || no "a delivered file is 0600: $(stat -c %a "$g")"
done
# ... and reading it back adds nothing: the key is the message's bytes.
"$BIN/mbox2spool" "$T/back" "$T/spool" 2> "$T/err"
grep -q "3 messages, 0 enqueued" "$T/err" || no "a Maildir written back maps to the same entries: $(cat "$T/err")"
"$BIN/spool2mbox" --maildir "$T/x" -o "$T/x.mbox" "$T/spool" > /dev/null 2>&1
[ $? -eq 64 ] || no "--maildir with -o is a usage error"
# The same entries as an mbox archive: each From_ line made from the sender
# and the file's time.
"$BIN/spool2mbox" -o "$T/all.mbox" "$T/spool" 2> /dev/null || no "spool2mbox -o"
[ "$(grep -c '^From [^ ]*@[^ ]* ... ... .. ..:..:.. ....$' "$T/all.mbox")" -eq 3 ] || no "three From_ lines: $(grep '^From ' "$T/all.mbox")"
# ... with the Maildir's flags as the Status and X-Status fields a mail
# client reads (RS: read and answered; S: read; the new message: none),
# which carry them across an archive into a Maildir again.
[ "$(grep -c '^Status: RO$' "$T/all.mbox")" -eq 2 ] || no "two messages read: $(grep '^Status' "$T/all.mbox")"
[ "$(grep -c '^X-Status: A$' "$T/all.mbox")" -eq 1 ] || no "one answered: $(grep '^X-Status' "$T/all.mbox")"
"$BIN/mbox2spool" -q "$T/all.mbox" "$T/aspool" || no "mbox2spool all.mbox: exit $?"
"$BIN/spool2mbox" -q --maildir "$T/aback" "$T/aspool" || no "spool2mbox --maildir (from all.mbox): exit $?"
[ "$(ls "$T/aback/new" | wc -l)" -eq 1 ] || no "through an archive, the new message is new: $(ls "$T/aback/new")"
ls "$T/aback/cur" | grep -q ':2,RS$' || no "through an archive, RS comes back: $(ls "$T/aback/cur")"
ls "$T/aback/cur" | grep -q ':2,S$' || no "through an archive, S comes back: $(ls "$T/aback/cur")"
"$BIN/spool2mbox" --no-status -o "$T/plain.mbox" "$T/spool" 2> /dev/null || no "spool2mbox --no-status"
grep -q '^Status:' "$T/plain.mbox" && no "--no-status writes the messages as they are"
# A message a reader has seen but not flagged (cur/NAME:2,) stays in cur/,
# in a Maildir and across an archive (Status: O).
mkdir -p "$T/seen/cur" "$T/seen/new" "$T/seen/tmp"
cp "$1" "$T/seen/cur/1700000400.M5P100.mx:2,"
"$BIN/mbox2spool" -q "$T/seen" "$T/sspool" || no "mbox2spool seen: exit $?"
"$BIN/spool2mbox" -q --maildir "$T/sback" "$T/sspool" || no "spool2mbox --maildir (seen): exit $?"
ls "$T/sback/cur" | grep -q ':2,$' || no "a seen message stays in cur/: $(ls -R "$T/sback")"
"$BIN/spool2mbox" -q -o "$T/seen.mbox" "$T/sspool" || no "spool2mbox (seen): exit $?"
grep -q '^Status: O$' "$T/seen.mbox" || no "a seen message is Status: O in an archive"

# An MH folder (nmh, mutt, Claws Mail): its numbered files in number order,
# flags from .mh_sequences, a deleted ",N" left out as a client's deletion,
# the reader's files never taken for mail.
H=$T/Mail-mh/inbox
mkdir -p "$H/lists"
for n in 1 2 10; do
    printf 'From: a@example.org\nTo: b@example.net\nSubject: mh %s\nMessage-ID: <mh%s@example.org>\nDate: Mon, 23 Nov 2026 09:00:00 +0000\n\nbody %s\n' $n $n $n > "$H/$n"
done
printf 'From: a@example.org\nTo: b@example.net\nSubject: mh deleted\n\ngone\n' > "$H/,4"
printf 'From: a@example.org\nTo: b@example.net\nSubject: mh list\n\nlist\n' > "$H/lists/1"
: > "$H/lists/.mh_sequences"
printf 'unseen: 10\nflagged: 2\nreplied: 1-2\ncur: 2\n' > "$H/.mh_sequences"
printf 'cache\n' > "$H/.xmhcache"
"$BIN/mbox2spool" "$T/Mail-mh" "$T/mhspool" 2> "$T/err" || no "mbox2spool MH: exit $?: $(cat "$T/err")"
grep -q "5 messages, 4 enqueued.* 1 marked deleted" "$T/err" || no "mbox2spool takes an MH folder's four messages and counts the deleted one: $(cat "$T/err")"
grep -q "marked deleted (MH's deleted name ,N)" "$T/err" || no "a deleted ,N is said: $(cat "$T/err")"
"$BIN/spool2mbox" -q -o "$T/mh.mbox" "$T/mhspool" || no "spool2mbox MH: exit $?"
[ "$(grep '^Subject: mh' "$T/mh.mbox" | tr '\n' ,)" = "Subject: mh 1,Subject: mh 2,Subject: mh 10,Subject: mh list," ] ||
    no "an MH folder in number order, its subfolder after: $(grep '^Subject' "$T/mh.mbox")"
[ "$(grep -c '^Status: RO$' "$T/mh.mbox")" -eq 3 ] || no "three MH messages read: $(grep '^Status' "$T/mh.mbox")"
grep -q '^X-Status: AF$' "$T/mh.mbox" || no "MH's replied and flagged: $(grep '^X-Status' "$T/mh.mbox")"
"$BIN/spool2mbox" -q --maildir "$T/mhback" "$T/mhspool" || no "spool2mbox --maildir (MH): exit $?"
[ "$(ls "$T/mhback/new" | wc -l)" -eq 1 ] || no "the unseen MH message is new: $(ls "$T/mhback/new")"
ls "$T/mhback/cur" | grep -q ':2,FRS$' || no "MH flagged+replied+read is FRS: $(ls "$T/mhback/cur")"
"$BIN/msgshow" "$T/Mail-mh" > "$T/out" 2>&1
[ "$(grep -c "^$H/" "$T/out")" -eq 5 ] || no "msgshow MH shows five messages: $(cat "$T/out")"
grep -q "mh_sequences\|xmhcache" "$T/out" && no "msgshow reads an MH reader's files: $(cat "$T/out")"

# msgcheck, msgshow and msgrewrite see the three messages only.
"$BIN/msgcheck" "$M" > "$T/out" 2> "$T/err"
grep -q "^msgcheck: 3 messages" "$T/err" || no "msgcheck MAILDIR reads three messages: $(cat "$T/err")"
grep -q "tmp/\|dovecot\|\.keep" "$T/out" && no "msgcheck reports on a non-message: $(cat "$T/out")"
"$BIN/msgshow" "$M" > "$T/out" 2>&1
[ "$(grep -c "^$M/" "$T/out")" -eq 3 ] || no "msgshow MAILDIR shows three messages: $(cat "$T/out")"
"$BIN/msgrewrite" --crlf -i "$M" 2> "$T/err" || no "msgrewrite -i MAILDIR: exit $?: $(cat "$T/err")"
cmp -s "$M/tmp/1700000300.M4P100.mx" "$T/Mail.orig/tmp/1700000300.M4P100.mx" || no "msgrewrite left tmp/ alone"
cmp -s "$M/dovecot.index.log" "$T/Mail.orig/dovecot.index.log" || no "msgrewrite left the index alone"
cmp -s "$M/cur/.keep" "$T/Mail.orig/cur/.keep" || no "msgrewrite left a hidden file alone"
grep -q "$(printf '\r')$" "$M/new/1700000000.M1P100.mx" || no "msgrewrite rewrote a message of new/"
exit $fail
