"""testlib.py - what the Python integration tests share: checks that count
their failures, and an smtpsink started on a free loopback port."""
import re
import subprocess

failures = 0


def check(cond, what):
    """Count and print a failed check; the test goes on."""
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


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
