#!/usr/bin/python3
"""A --ca-file that cannot be loaded (missing, or no certificate in it) is a
mistake of the command line, said before any connection: spoolsend and
smtpreplay exit 66 naming it, as for an --auth-file that cannot be read.
Found only at the handshake, it passed for a server that cannot be reached:
exit 69, and a deferred entry past --max-age failed ("gave up ... no
session with SERVER"), with a bounce, though the server was up.

Usage: tls_ca_file.py SPOOLSEND SMTPREPLAY
"""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import testlib
from testlib import check

SPOOLSEND, SMTPREPLAY = sys.argv[1], sys.argv[2]

tmp = tempfile.mkdtemp()
server = socket.socket()
accepted = []


def serve():
    """A server that offers STARTTLS and answers 220 to it; it counts its
    connections (there should be none)."""
    while True:
        try:
            c, _ = server.accept()
        except OSError:
            return
        accepted.append(1)
        with c, contextlib.suppress(OSError):
            f = c.makefile("rb")
            c.sendall(b"220 mx.example ESMTP\r\n")
            for line in f:
                verb = line.strip().upper()
                if verb.startswith(b"EHLO"):
                    c.sendall(b"250-mx.example\r\n250 STARTTLS\r\n")
                elif verb == b"STARTTLS":
                    c.sendall(b"220 2.0.0 go ahead\r\n")
                    break
                else:
                    c.sendall(b"221 2.0.0 bye\r\n")
                    break


try:
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    threading.Thread(target=serve, daemon=True).start()

    spool = os.path.join(tmp, "spool")
    for d in ("tmp", "queue", "deferred", "sent", "failed"):
        os.makedirs(os.path.join(spool, d))
    entry = os.path.join(spool, "deferred", "20260101T000000.000000Z.1.000000.t")
    with open(entry, "w") as f:   # first tried long ago: past any --max-age
        f.write("MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n"
                "Attempt: 2026-01-01T00:00:00Z 451 4.3.0 try again later\n"
                "Next-Attempt: 2026-01-01T00:05:00Z\n\nSubject: x\n\nbody\n")
    not_pem = os.path.join(tmp, "not.pem")
    with open(not_pem, "w") as f:
        f.write("no certificate here\n")
    transcript = os.path.join(tmp, "t.txt")
    with open(transcript, "w") as f:
        f.write("S: 220 mx.example ESMTP\nC: EHLO client.example\nS: 250 mx.example\nC: QUIT\nS: 221 bye\n")

    for ca in (os.path.join(tmp, "missing.pem"), not_pem):
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "starttls", "--ca-file", ca,
                            "--max-age", "1d", "--timeout", "5s", spool], capture_output=True, text=True, timeout=60)
        check(r.returncode == 66 and "--ca-file" in r.stderr and ca in r.stderr,
              "spoolsend --ca-file %s: exit 66, the file named (got %d): %s" % (ca, r.returncode, r.stderr))
        check(os.path.exists(entry) and not os.listdir(os.path.join(spool, "failed")),
              "spoolsend --ca-file %s: the deferred entry is left as it was: %s" % (ca, os.listdir(spool + "/failed")))
        r = subprocess.run([SMTPREPLAY, "--server", "127.0.0.1:%d" % port, "--tls", "--ca-file", ca, "--timeout", "5s", transcript],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 66 and "--ca-file" in r.stderr and ca in r.stderr,
              "smtpreplay --ca-file %s: exit 66, the file named (got %d): %s" % (ca, r.returncode, r.stderr))
        check(not accepted, "--ca-file %s: no connection was made (%d)" % (ca, len(accepted)))
    # Without TLS the file is not used, nor looked at.
    r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:1", "--tls", "none", "--ca-file", not_pem, "--max-age", "1000w",
                        spool],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 69, "--tls none: --ca-file not looked at (got %d): %s" % (r.returncode, r.stderr))
    # A dry run connects to nothing and loads nothing.
    r = subprocess.run([SPOOLSEND, "--dry-run", "--ca-file", not_pem, spool], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "--dry-run connects to nothing and loads nothing: %d %s" % (r.returncode, r.stderr))
finally:
    server.close()
    shutil.rmtree(tmp)

print("tls ca-file: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
