#!/usr/bin/python3
"""Every tool, its standard output full (a pipe nobody reads that does not
block, as a full disk fails): exit 74 and "cannot write" said of it,
never an exit 0 with the output lost. Work done besides the output stays
done (mbox2spool --json enqueues all the same).

Usage: stdout_full.py BINDIR TESTDATA
"""
import os
import subprocess
import sys
import tempfile

import testlib
from testlib import check

BIN, TESTDATA = sys.argv[1], sys.argv[2]
ARCHIVE = os.path.join(TESTDATA, "mbox", "sample.mbox.gz")
MESSAGE = os.path.join(TESTDATA, "clean", "plain-us-ascii.eml")
DEFECTIVE = os.path.join(TESTDATA, "defects", "line.bare-cr", "old-mac-break.eml")


def tool(name):
    return os.path.join(BIN, name)


def to_full_pipe(*cmd):
    r_end, w_end = testlib.full_pipe()
    try:
        return subprocess.run(list(cmd), stdout=w_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(w_end)
        os.close(r_end)


def main():
    tmp = tempfile.mkdtemp(prefix="stdout-full-")
    spool = os.path.join(tmp, "spool")
    r = subprocess.run([tool("mbox2spool"), "--sender", "", "--rcpt", "archive@example.org", ARCHIVE, spool],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "mbox2spool: %s" % r.stderr)
    entry = sorted(os.listdir(os.path.join(spool, "queue")))[0]
    cases = [
        (tool("msgcheck"), "--json", DEFECTIVE),
        (tool("msgshow"), "--stats", "--mbox", ARCHIVE),
        (tool("msgrewrite"), "--7bit", MESSAGE),
        (tool("spool2mbox"), spool),
        (tool("spoolctl"), "list", spool),
        (tool("spoolctl"), "list", "--json", spool),
        (tool("spoolctl"), "show", spool, entry),
        (tool("spoolsend"), "--dry-run", "--server", "127.0.0.1:9", spool),
        (tool("spoolsend"), "--dry-run", "--json", "--server", "127.0.0.1:9", spool),
        (tool("mbox2spool"), "--json", "--sender", "", "--rcpt", "other@example.org", ARCHIVE,
         os.path.join(tmp, "spool2")),
    ]
    for cmd in cases:
        r = to_full_pipe(*cmd)
        what = " ".join(os.path.basename(c) if c.startswith(tmp) or c.startswith(BIN) else c for c in cmd)
        check(r.returncode == 74 and ("cannot write to standard output" in r.stderr or "cannot write <stdout>" in r.stderr),
              "%s to a full standard output: exit 74, said: %d %s" % (what, r.returncode, r.stderr))
    # The entries are made all the same: only the report was lost.
    check(len(os.listdir(os.path.join(tmp, "spool2", "queue"))) == len(os.listdir(os.path.join(spool, "queue"))),
          "mbox2spool --json to a full standard output still enqueues every message")
    if testlib.failures:
        sys.exit(1)
    print("stdout_full: all checks passed")


main()
