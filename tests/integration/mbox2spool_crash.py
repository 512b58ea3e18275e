#!/usr/bin/python3
"""Crash safety of mbox2spool: killed with SIGKILL at random moments, then run
again, every message is in the spool exactly once and no partial entry is
ever visible.

Usage: mbox2spool_crash.py MBOX2SPOOL SPOOL2MBOX

A 2,000-message archive is generated. mbox2spool is started and killed
(SIGKILL) after a random delay, eight times in a row on the same spool;
after each kill every entry in queue/ must be complete: it parses, and its
message is exactly the archive's message named by its Mbox-Source
annotation. A last run to completion must leave each message exactly once,
and spool2mbox must give the archive back byte for byte.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def make_archive(path, count, rng):
    messages = []
    with open(path, "wb") as f:
        for i in range(count):
            body = b"".join(b"line %d of message %d %s\n" % (k, i, b"x" * rng.randrange(0, 60))
                            for k in range(rng.randrange(1, 80)))
            if i % 7 == 0:
                body += b">From quoted line\n"
            msg = (b"From: sender%d@example.org\nTo: rcpt%d@example.net\nSubject: message %d\n"
                   b"Date: Mon, 23 Nov 2026 09:15:00 +0100\n\n" % (i, i, i)) + body
            f.write(b"From sender%d@example.org Mon Nov 23 09:15:00 2026\n" % i)
            f.write(msg.replace(b"\n>From", b"\n>>From"))  # mboxrd quoting
            f.write(b"\n")
            messages.append(msg)
    return messages


def check_entries(spool, messages, final):
    seen = {}
    for state in ("queue", "deferred", "sent", "failed"):
        d = os.path.join(spool, state)
        if not final and not os.path.isdir(d):
            continue  # killed while it made the spool's directories: the next run makes the rest
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            head, sep, message = data.partition(b"\n\n")
            if not sep:
                return "%s/%s: no empty line after the envelope" % (state, name)
            source = [l for l in head.split(b"\n") if l.startswith(b"Mbox-Source: ")]
            if len(source) != 1:
                return "%s/%s: no Mbox-Source annotation" % (state, name)
            index = int(source[0].rsplit(b" ", 1)[1])
            if message != messages[index]:
                return "%s/%s: message %d is not whole" % (state, name, index)
            if index in seen:
                return "message %d is in the spool twice (%s and %s)" % (index, seen[index], name)
            seen[index] = name
    if final and len(seen) != len(messages):
        return "%d of %d messages in the spool" % (len(seen), len(messages))
    return None


def main():
    m2s, s2m = sys.argv[1], sys.argv[2]
    seed = os.environ.get("MSG_SEED", str(int(time.time() * 1000)))
    print("seed %s (rerun with MSG_SEED=%s)" % (seed, seed), flush=True)
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp()
    try:
        archive = os.path.join(tmp, "archive.mbox")
        messages = make_archive(archive, 2000, rng)
        spool = os.path.join(tmp, "spool")
        # how long a whole run takes, to spread the kills over it
        t0 = time.monotonic()
        subprocess.run([m2s, "-q", archive, os.path.join(tmp, "probe")], check=True)
        full = max(time.monotonic() - t0, 0.05)
        kills = 0
        for k in range(8):
            p = subprocess.Popen([m2s, "-q", archive, spool], stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, full * 0.8))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
            problem = check_entries(spool, messages, False)
            if problem:
                print("FAIL after kill %d: %s" % (k + 1, problem))
                return 1
        r = subprocess.run([m2s, "-q", archive, spool])
        if r.returncode != 0:
            print("FAIL: the last run exited %d" % r.returncode)
            return 1
        problem = check_entries(spool, messages, True)
        if problem:
            print("FAIL at the end: %s" % problem)
            return 1
        back = os.path.join(tmp, "back.mbox")
        subprocess.run([s2m, "-q", spool, "-o", back], check=True)
        with open(archive, "rb") as a, open(back, "rb") as b:
            if a.read() != b.read():
                print("FAIL: spool2mbox does not give the archive back")
                return 1
        print("ok: %d kills, %d messages each in the spool once" % (kills, len(messages)))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
