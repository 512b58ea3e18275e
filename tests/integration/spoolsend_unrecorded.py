#!/usr/bin/python3
"""spoolsend when an outcome cannot be recorded: nothing more is sent.

Usage: spoolsend_unrecorded.py BINDIR

sent/ cannot take the entries (a directory of each one's name: the rename
fails, as on a file system gone read-only; as root too). The first outcome
that cannot be recorded ends the run (74): the next entry, whose envelope
went out pipelined behind the message's final dot and was answered 354, is
not sent (no final dot, so the server discards it), and neither is anything
more on the other connections of -j: the server stores one message per
connection at most, each said as accepted and not recorded (and counted so
in the summary), and the entries all stay in queue/.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import testlib
from testlib import check

BIN = sys.argv[1]
SPOOLCTL, SMTPSINK, SPOOLSEND = (os.path.join(BIN, t) for t in ("spoolctl", "smtpsink", "spoolsend"))
ENTRIES = 6

tmp = tempfile.mkdtemp()
try:
    with open(os.path.join(tmp, "m.eml"), "wb") as f:
        f.write(b"From: a@example.org\r\nTo: b@example.net\r\nSubject: once\r\n\r\nhello\r\n")
    for jobs in (1, 3):
        spool = os.path.join(tmp, "sp%d" % jobs)
        for _ in range(ENTRIES):
            r = subprocess.run([SPOOLCTL, "add", "--sender", "a@example.org", "--rcpt", "b@example.net", spool,
                                os.path.join(tmp, "m.eml")], capture_output=True, text=True)
            check(r.returncode == 0, "spoolctl add: %s" % r.stderr)
        queued = sorted(os.listdir(os.path.join(spool, "queue")))
        for name in queued:
            os.mkdir(os.path.join(spool, "sent", name))

        sink_spool = os.path.join(tmp, "sink%d" % jobs)
        sink, port = testlib.start_smtpsink(SMTPSINK, sink_spool)
        try:
            r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "-j", str(jobs), spool],
                               capture_output=True, text=True, timeout=120)
        finally:
            testlib.stop(sink)
        what = "-j %d: " % jobs
        check(r.returncode == 74, what + "exit 74, got %d: %s" % (r.returncode, r.stderr))
        check("could not be recorded" in r.stderr, what + "the unrecorded outcome is said: %s" % r.stderr)
        stored = len(os.listdir(os.path.join(sink_spool, "queue")))
        # One accepted and not recorded is unavoidable, one per connection
        # at most; nothing after it is sent.
        check(1 <= stored <= jobs, what + "the server stored %d messages, at most %d expected" % (stored, jobs))
        # What the server accepted is said, entry by entry and in the summary.
        reported = r.stderr.count("accepted by the server, but its outcome could not be recorded")
        check(reported == stored, what + "%d reported as accepted and not recorded, the server stored %d: %s"
              % (reported, stored, r.stderr))
        check("%d accepted but not recorded" % stored in r.stderr,
              what + "the summary counts what the server accepted: %s" % r.stderr)
        check(sorted(os.listdir(os.path.join(spool, "queue"))) == queued, what + "every entry stays in queue/")
        check(not os.listdir(os.path.join(spool, "deferred")), what + "nothing in deferred/")
finally:
    shutil.rmtree(tmp)

print("spoolsend unrecorded: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
