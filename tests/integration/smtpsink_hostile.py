#!/usr/bin/python3
"""smtpsink against hostile and careless clients on 127.0.0.1.

Usage: smtpsink_hostile.py SMTPSINK

Checks:
- a client that pipelines HELP without ever reading the replies does not
  make smtpsink grow (VmRSS from /proc/PID/status stays within 32 MB of
  what it was), and is disconnected once it has not read for --timeout;
- a client that sends one byte every 2 s is cut off with 421 4.4.2 when
  its command's time is up (--timeout), not kept as long as it trickles;
- five such clients against --max-connections 5: a sixth is told 421 4.7.0
  at first, and a normal client is served once their deadlines passed;
- SIGTERM ends smtpsink within 2 s, sessions open, with its summary;
- stopped (SIGSTOP) past --timeout while a client sends a whole
  transaction, then continued: what the client sent is read and answered,
  the message stored, not taken for a silence past the limit (421).
"""
import collections
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

import testlib
from testlib import check

SMTPSINK = sys.argv[1]
TIMEOUT = 4   # smtpsink --timeout, seconds


def start(*args):
    return testlib.start_smtpsink(SMTPSINK, "--timeout", "%ds" % TIMEOUT, *args)


def stop(p):
    return testlib.stop(p)[1]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(TIMEOUT + 6)
    return s


def read_line(s):
    got = b""
    while not got.endswith(b"\n"):
        try:
            c = s.recv(1)
        except (socket.timeout, ConnectionResetError):
            break
        if not c:
            break
        got += c
    return got.decode("latin-1").rstrip("\r\n")


def trickle(s, stop_at, sent):
    """A byte every 2 s until the server closes or stop_at."""
    for b in b"NOOP then nothing for a long time":
        if time.monotonic() >= stop_at:
            return
        try:
            s.send(bytes([b]))
            sent.append(time.monotonic())
        except OSError:
            return
        time.sleep(2)


# --- HELP pipelined without reading --------------------------------------------------
p, port = start("--discard")
try:
    time.sleep(0.2)
    base = rss_kib(p.pid)
    s = connect(port)
    read_line(s)
    s.setblocking(False)
    chunk = b"HELP\r\n" * 10000
    sent, peak, dropped_after = 0, base, None
    t0 = time.monotonic()
    while time.monotonic() - t0 < TIMEOUT + 8:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:
            dropped_after = time.monotonic() - t0
            break
        peak = max(peak, rss_kib(p.pid))
    s.close()
    print("HELP flood: %d bytes sent, VmRSS %d KiB -> peak %d KiB, dropped after %s s"
          % (sent, base, peak, "%.1f" % dropped_after if dropped_after else "-"))
    check(peak - base < 32 * 1024, "VmRSS grew by %d KiB under a HELP flood" % (peak - base))
    check(dropped_after is not None, "a client that never reads is disconnected")
    # Still serving.
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.sendmail("a@example.org", ["b@example.net"], b"Subject: after the flood\r\n\r\nx\r\n")
finally:
    err = stop(p)
check("1 dropped (replies not read)" in err, "the summary counts the dropped client: %s" % err)

# --- a byte every 2 s ----------------------------------------------------------------
p, port = start("--discard")
try:
    s = connect(port)
    check(read_line(s).startswith("220 "), "greeting")
    t0 = time.monotonic()
    t = threading.Thread(target=trickle, args=(s, t0 + TIMEOUT + 10, []))
    t.start()
    reply = read_line(s)
    took = time.monotonic() - t0
    t.join()
    s.close()
    check(reply == "421 4.4.2 smtpsink.test timeout, closing", "a trickling client gets 421 4.4.2: %r" % reply)
    check(TIMEOUT - 0.5 <= took <= TIMEOUT + 2, "cut off at the deadline (%ds): after %.1f s" % (TIMEOUT, took))
finally:
    err = stop(p)
check("1 timed out" in err, "the summary counts the client cut off: %s" % err)

# --- five slow clients against --max-connections 5 ------------------------------------
p, port = start("--discard", "--max-connections", "5")
try:
    slow, threads = [], []
    t0 = time.monotonic()
    for i in range(5):
        s = connect(port)
        check(read_line(s).startswith("220 "), "slow client %d greeted" % i)
        slow.append(s)
        t = threading.Thread(target=trickle, args=(s, t0 + TIMEOUT + 10, []))
        t.start()
        threads.append(t)
    extra = connect(port)
    check(read_line(extra).startswith("421 4.7.0"), "a sixth connection is refused while the five hold the slots")
    extra.close()
    cut = [read_line(s) for s in slow]
    check(all(r.startswith("421 4.4.2") for r in cut), "the five are cut off at their deadline: %s" % cut)
    time.sleep(0.3)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            c.sendmail("a@example.org", ["b@example.net"], b"Subject: served\r\n\r\nx\r\n")
        served = time.monotonic() - t0
        check(served < TIMEOUT + 4, "a normal client served %.1f s after the five came" % served)
    except (smtplib.SMTPException, OSError) as e:
        check(False, "a normal client is served after the deadline: %s" % e)
    for t in threads:
        t.join()
    for s in slow:
        s.close()
finally:
    err = stop(p)
check("1 message," in err, "the normal client's message counted: %s" % err)

# --- SIGTERM ---------------------------------------------------------------------------
tmp = tempfile.mkdtemp()
spool = os.path.join(tmp, "in")
p, port = start(spool)
try:
    idle = connect(port)
    read_line(idle)
    mid = connect(port)
    read_line(mid)
    mid.sendall(b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
    for _ in range(4):
        read_line(mid)
    mid.sendall(b"Subject: half\r\n\r\nthe message goes on")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.sendmail("a@example.org", ["b@example.net"], b"Subject: whole\r\n\r\nx\r\n")
    time.sleep(0.2)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=5)
        took = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        took = 99
    check(took < 2, "SIGTERM ends smtpsink within 2 s: %.1f s" % took)
    check(p.returncode == 0, "exit 0 after SIGTERM: %s" % p.returncode)
    check(re.search(r"smtpsink: 3 sessions, 1 message,", err) is not None, "the summary after SIGTERM: %r" % err)
    queued = os.listdir(os.path.join(spool, "queue"))
    check(len(queued) == 1 and not os.listdir(os.path.join(spool, "tmp")),
          "the whole message is in queue/, the half one nowhere: %s" % queued)
    # RFC 5321 3.8: a server that shuts down says 421 to its sessions, an
    # idle one and one in DATA alike.
    for name, s in (("idle", idle), ("in DATA", mid)):
        line = read_line(s)
        while line and not line.startswith("421"):   # the replies before it
            line = read_line(s)
        check(line.startswith("421 4.3.2 "), "a 421 to the %s session at SIGTERM: %r" % (name, line))
    idle.close()
    mid.close()
finally:
    if p.poll() is None:
        p.kill()
    subprocess.run(["rm", "-rf", tmp])

# A signal sent as soon as the "listening on" line is read (as a test
# waits for it) stops the sink as any other: exit 0 and the summary, never
# death by the signal (the handlers were set after the line once).
tmp = tempfile.mkdtemp()
early = collections.Counter()
for i in range(30):
    p, port = start(os.path.join(tmp, "in%d" % i))
    p.send_signal((signal.SIGTERM, signal.SIGINT, signal.SIGHUP)[i % 3])   # SIGHUP: its terminal gone
    _, err = p.communicate(timeout=10)
    early["exit %s%s" % (p.returncode, ", summary" if "smtpsink: 0 sessions" in err else "")] += 1
check(early == collections.Counter({"exit 0, summary": 30}), "a signal right after 'listening on': %s" % dict(early))
subprocess.run(["rm", "-rf", tmp])

# --- SIGSTOP, then SIGCONT past the time limit ----------------------------------------
# The client is prompt; the sink is what was stopped. Continued, it reads
# what came meanwhile before it looks at its time limits.
def state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


tmp = tempfile.mkdtemp()
spool = os.path.join(tmp, "in")
p, port = testlib.start_smtpsink(SMTPSINK, "--timeout", "1s", spool)
try:
    s = connect(port)
    read_line(s)
    s.sendall(b"EHLO x\r\n")
    while not read_line(s).startswith("250 "):
        pass
    p.send_signal(signal.SIGSTOP)
    for _ in range(500):
        if state(p.pid) == "T":
            break
        time.sleep(0.01)
    check(state(p.pid) == "T", "smtpsink stopped by SIGSTOP")
    s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
              b"Subject: sent while it was stopped\r\n\r\nx\r\n.\r\n")
    time.sleep(1.5)   # past --timeout, stopped
    p.send_signal(signal.SIGCONT)
    replies = [read_line(s) for _ in range(4)]
    check([r[:3] for r in replies] == ["250", "250", "354", "250"],
          "stopped past --timeout and continued: the transaction sent meanwhile is answered: %s" % replies)
    s.close()
    err = stop(p)
    check(len(os.listdir(os.path.join(spool, "queue"))) == 1 and "1 message" in err,
          "stopped and continued: the message is stored: %s" % err)
finally:
    if p.poll() is None:
        p.kill()
    subprocess.run(["rm", "-rf", tmp])

print("smtpsink hostile: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
