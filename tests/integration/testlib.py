"""testlib.py - what the Python integration tests share: checks that count
their failures, an smtpsink started on a free loopback port, and the files
of a directory read as messages."""
import os
import re
import socket
import subprocess

failures = 0


def check(cond, what):
    """Count and print a failed check; the test goes on."""
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def full_pipe():
    """The write end of a pipe that is full and will stay so (nothing reads
    it) and that does not block: given to a tool as its standard output,
    every write fails (EAGAIN), as on a full disk, without a device."""
    r, w = os.pipe()
    os.set_blocking(w, False)
    for chunk in (65536, 1):   # big writes first, then byte by byte to the last slot
        try:
            while True:
                os.write(w, b"x" * chunk)
        except BlockingIOError:
            pass
    return r, w


def free_port():
    """A TCP port of 127.0.0.1 that was free when asked."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def heads_and_bodies(d):
    """The files of directory d (a spool's queue/, a server's saved
    messages), by name: each split at its first empty line into (the head
    as text, the body as bytes)."""
    out = []
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            head, _, body = f.read().partition(b"\n\n")
        out.append((head.decode(), body))
    return out


def start_smtpsink(smtpsink, *args):
    """smtpsink on 127.0.0.1, any free port: (process, port)."""
    p = subprocess.Popen([smtpsink, "--listen", "127.0.0.1:0", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", p.stdout.readline())
    if not m:
        p.kill()
        raise SystemExit("smtpsink did not start: %s" % p.stderr.read())
    return p, int(m.group(1))


def stop(p):
    """SIGTERM, then SIGKILL after 10 s; returns (stdout, stderr)."""
    p.terminate()
    try:
        return p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()
