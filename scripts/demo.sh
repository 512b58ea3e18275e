#!/bin/sh
# demo.sh - install what is needed, build msgtools, and run it on the shipped
# sample archive: show, check, repair, spool it, hold an entry with
# spoolctl, write it into a Maildir and back, send the spool to smtpsink
# with spoolsend, and check and replay the recorded SMTP sessions. Safe to
# run again: nothing is reinstalled or rebuilt twice.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
msg_install $MSG_PACKAGES

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMSG_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

set -x
build/bin/msgshow --stats --mbox testdata/mbox/sample.mbox.gz
build/bin/msgshow --headers testdata/messages/koi8-subject.eml 2>&1 || true
build/bin/msgshow --mbox testdata/mbox/sample.mbox.gz | head -n 12
build/bin/msgcheck --mbox testdata/mbox/sample.mbox.gz
build/bin/msgcheck testdata/defects/date.weekday/wrong-weekday.eml \
    testdata/defects/mime.boundary-unclosed/truncated-multipart.eml \
    testdata/defects/envelope.smtputf8-needed/utf8-recipient.entry || true
build/bin/msgcheck --explain date.weekday
build/bin/msgrewrite --fix --json --dry-run testdata/defects/mime.boundary-unclosed/truncated-multipart.eml
build/bin/msgrewrite --7bit testdata/clean/plain-utf8-8bit.eml | diff testdata/clean/plain-utf8-8bit.eml - | head -n 8 || true
rm -rf build/demo-spool
build/bin/mbox2spool testdata/mbox/sample.mbox.gz build/demo-spool
head -n 6 "build/demo-spool/queue/$(ls build/demo-spool/queue | head -n 1)"
build/bin/spoolctl list build/demo-spool | head -n 3
build/bin/spoolctl hold build/demo-spool "$(ls build/demo-spool/queue | tail -n 1)"
build/bin/spool2mbox build/demo-spool -o build/demo-back.mbox
gzip -dc testdata/mbox/sample.mbox.gz | cmp - build/demo-back.mbox && echo "the archive came back byte for byte"
# Maildir: the spool into a Maildir, and the Maildir into another spool (twice: nothing new).
rm -rf build/demo-maildir build/demo-md-spool
build/bin/spool2mbox --maildir build/demo-maildir build/demo-spool
ls build/demo-maildir/new | head -n 2
build/bin/mbox2spool build/demo-maildir build/demo-md-spool
build/bin/mbox2spool build/demo-maildir build/demo-md-spool
build/bin/msgcheck build/demo-maildir

# SMTP: the spool goes to smtpsink (any free port) with spoolsend, which
# records its sessions; smtpreplay checks the recordings and replays one.
set +x
rm -rf build/demo-in build/demo-log
build/bin/smtpsink --listen 127.0.0.1:0 build/demo-in >build/demo-sink.out 2>build/demo-sink.err &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening build/demo-sink.out 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1://p' build/demo-sink.out)
set -x
build/bin/spoolsend --server "127.0.0.1:$port" -j 2 --transcript build/demo-log build/demo-spool
set +x
echo "sent: $(ls build/demo-spool/sent | wc -l) entries; received: $(ls build/demo-in/queue | wc -l) entries"
set -x
build/bin/spoolctl list --state hold build/demo-spool
build/bin/spoolctl release build/demo-spool "$(ls build/demo-spool/hold)"
build/bin/msgcheck -q build/demo-in/queue
build/bin/smtpreplay --check build/demo-log/*.txt
build/bin/smtpreplay --server "127.0.0.1:$port" --diff "$(ls build/demo-log/*.txt | head -n 1)"
kill $sink
