#!/usr/bin/python3
"""spoolsend survives SIGKILL at any moment.

Usage: spoolsend_crash.py SPOOLSEND [MESSAGES] [KILLS]

A spool of MESSAGES entries (2000 by default) is sent over one connection
to aiosmtpd; spoolsend is killed with SIGKILL at random moments KILLS times
(8 by default) and restarted, then run to the end. Every message must have
arrived at least once, and a kill may cause at most one message to arrive
twice: the one whose final dot was sent but whose reply was not yet
recorded. Every entry must end in sent/, none half-written or left behind.
Then three spoolsend processes work one spool at once: every message must
arrive exactly once.
"""
import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import testlib
from testlib import check

SPOOLSEND = sys.argv[1]
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
KILLS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
HERE = os.path.dirname(os.path.abspath(__file__))


def make_spool(root, first, count):
    for d in ("tmp", "queue", "deferred", "sent", "failed"):
        os.makedirs(os.path.join(root, d))
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for i in range(first, first + count):
        name = "%s.%06dZ.1.%06d.crash" % (stamp, i, i)
        with open(os.path.join(root, "queue", name), "wb") as f:
            f.write(b"MAIL FROM:<a@example.org>\nRCPT TO:<r%d@example.net>\n\n" % i)
            f.write(b"From: a@example.org\nTo: r%d@example.net\nMessage-ID: <%d@crash.test>\n\n" % (i, i))
            f.write(b"line of body text\n" * (20 + i % 200))


def arrivals(save):
    counts = collections.Counter()
    for n in os.listdir(save):
        if n.endswith(".tmp"):
            continue
        data = open(os.path.join(save, n), "rb").read()
        mid = re.search(rb"Message-ID: <(\d+)@crash\.test>", data)
        check(mid is not None, "saved message %s has its Message-ID" % n)
        if mid:
            counts[int(mid.group(1))] += 1
    return counts


tmp = tempfile.mkdtemp()
server = None
try:
    spool = os.path.join(tmp, "spool")
    save = os.path.join(tmp, "saved")
    os.makedirs(save)
    make_spool(spool, 0, MESSAGES)

    server = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "aiosmtpd_server.py"), "--save", save],
                              stdout=subprocess.PIPE, text=True)
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", server.stdout.readline())
    if not m:
        raise SystemExit("aiosmtpd did not start")
    args = [SPOOLSEND, "--server", "127.0.0.1:" + m.group(1), "-j", "1", "--retry-base", "0s", spool]

    seed = os.environ.get("MSG_SEED", str(int(time.time() * 1000)))
    print("seed %s (rerun with MSG_SEED=%s)" % (seed, seed), flush=True)
    rng = random.Random(seed)
    kills = 0
    for _ in range(KILLS):
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.02, 0.6))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    for _ in range(3):   # finish; a pass may leave entries deferred by a dropped session
        r = subprocess.run(args, capture_output=True, text=True, timeout=600)
        if r.returncode == 0:
            break
    check(r.returncode == 0, "the last run exits 0, got %d: %s" % (r.returncode, r.stderr[-500:]))

    sent = [n for n in os.listdir(os.path.join(spool, "sent")) if n.endswith(".crash")]
    check(len(sent) == MESSAGES, "all %d entries in sent/, got %d" % (MESSAGES, len(sent)))
    for d in ("queue", "deferred", "failed", "tmp"):
        left = os.listdir(os.path.join(spool, d))
        check(not left, "nothing left in %s/: %s" % (d, left[:5]))

    counts = arrivals(save)
    missing = [i for i in range(MESSAGES) if counts[i] == 0]
    twice = sum(c - 1 for c in counts.values() if c > 1)
    check(not missing, "every message arrived: %d missing, e.g. %s" % (len(missing), missing[:5]))
    check(twice <= kills, "at most one duplicate per kill: %d duplicates after %d kills" % (twice, kills))
    print("spoolsend crash: %d messages, %d kills, %d duplicates" % (MESSAGES, kills, twice))

    # Three processes, one spool: each entry is claimed by one of them.
    spool2 = os.path.join(tmp, "spool2")
    make_spool(spool2, MESSAGES, 1000)
    before = sum(arrivals(save).values())
    args2 = [SPOOLSEND, "--server", "127.0.0.1:" + m.group(1), "-j", "3", spool2]
    procs = [subprocess.Popen(args2, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        check(p.returncode == 0, "concurrent spoolsend exit 0, got %d: %s" % (p.returncode, err[-300:]))
    counts = arrivals(save)
    new = {i: counts[i] for i in range(MESSAGES, MESSAGES + 1000)}
    check(all(c == 1 for c in new.values()),
          "three processes: every message exactly once: %s" % [(i, c) for i, c in new.items() if c != 1][:10])
    check(sum(counts.values()) - before == 1000, "three processes sent 1000 messages")
    sent2 = os.listdir(os.path.join(spool2, "sent"))
    check(len(sent2) == 1000, "three processes: all 1000 in sent/, got %d" % len(sent2))
finally:
    if server:
        server.kill()
        server.wait()
    shutil.rmtree(tmp)

sys.exit(1 if testlib.failures else 0)
