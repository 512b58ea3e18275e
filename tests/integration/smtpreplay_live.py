#!/usr/bin/python3
"""smtpreplay against live servers on 127.0.0.1: what the replay sends and
when, TLS, credentials, and batches that mean what they say.

Usage: smtpreplay_live.py SMTPREPLAY SMTPSINK SPOOLSEND DOCS_DIR

- a batch replayed to a strict server (one that answers "554 SMTP
  synchronization error", as Exim does, to a client that sends before the
  reply it waits for) goes one command at a time without PIPELINING, and
  in RFC 2920 groups with it;
- a batch with STARTTLS sends nothing after it before the handshake, and
  the message arrives once, over TLS checked with --ca-file; without the
  CA the certificate is refused;
- a session recorded with TLS on connect replays with TLS first; a cs
  copy of it replays with --tls;
- --auth-file puts the password back on the wire (never in the output);
  without it the AUTH refusal is reported with its code;
- --no-data delivers nothing;
- spoolsend reports an AUTH refusal with its code and enhanced code;
- smtpsink(1)'s certificate example gives a certificate that spoolsend
  accepts for 127.0.0.1 with --ca-file; a CN-only one is refused;
- a session where a RCPT was refused and the pipelined DATA got 503
  converts to a batch holding only the second, accepted message, which a
  replay delivers once;
- the first example of each format in docs/transcript-format.md passes
  --check, read as that format.
"""
import glob
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

import testlib
from testlib import check, stop
import threading
import time

SMTPREPLAY, SMTPSINK, SPOOLSEND, DOCS = sys.argv[1:5]
SECRET = "s3cret-pass-phrase"


def replay(*args, **kw):
    return subprocess.run([SMTPREPLAY, *args], capture_output=True, text=True, timeout=120, **kw)


def queued(spool):
    return sorted(glob.glob(os.path.join(spool, "queue", "*")))


class StrictServer:
    """One SMTP session at a time, answered line by line. A client that
    sends a line before the reply it must wait for (RFC 2920; everything
    without PIPELINING) gets 554 and the connection closes, as Exim does.
    With tls_context it offers STARTTLS and takes bytes after it before the
    handshake as an injection (RFC 3207 4.2)."""

    def __init__(self, pipelining, tls_context=None, close_at_data=False, noop_twice=False):
        self.pipelining = pipelining
        self.close_at_data = close_at_data
        self.noop_twice = noop_twice
        self.tls = tls_context
        self.errors, self.messages, self.sessions, self.commands = [], [], 0, []
        self.unfinished = []   # the lines of messages whose connection closed before the final dot
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.session(conn)
            except (OSError, ssl.SSLError) as e:
                self.errors.append("session: %s" % e)
            finally:
                conn.close()

    def session(self, conn):
        self.sessions += 1
        buf = b""
        conn.settimeout(10)

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return None
                buf += data
            l, buf = buf.split(b"\r\n", 1)
            return l.decode("utf-8", "replace")

        conn.sendall(b"220 strict.test ESMTP\r\n")
        in_tls = False
        while True:
            l = line()
            if l is None:
                return
            self.commands.append(l)
            verb = l.split(" ", 1)[0].upper()
            ends = verb in ("EHLO", "HELO", "DATA", "VRFY", "EXPN", "NOOP", "QUIT", "STARTTLS", "AUTH")
            if buf and (not self.pipelining or ends):
                self.errors.append("synchronization error after %r (%r pending)" % (l, buf[:40]))
                conn.sendall(b"554 SMTP synchronization error\r\n")
                return
            if verb == "EHLO":
                caps = ["250-strict.test"]
                if self.pipelining:
                    caps.append("250-PIPELINING")
                if self.tls and not in_tls:
                    caps.append("250-STARTTLS")
                caps.append("250 8BITMIME")
                conn.sendall(("\r\n".join(caps) + "\r\n").encode())
            elif verb == "STARTTLS":
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                conn = self.tls.wrap_socket(conn, server_side=True)
                conn.settimeout(10)
                in_tls = True
            elif verb == "DATA":
                conn.sendall(b"354 go ahead\r\n")
                if self.close_at_data:
                    return
                body = []
                while True:
                    b = line()
                    if b is None:
                        self.unfinished.append(body)
                        return
                    if b == ".":
                        break
                    body.append(b)
                self.messages.append((in_tls, body))
                if buf and not self.pipelining:
                    self.errors.append("synchronization error after the final dot")
                conn.sendall(b"250 2.0.0 queued\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 2.0.0 bye\r\n")
                return
            elif verb == "NOOP" and self.noop_twice:
                conn.sendall(b"250 2.0.0 ok\r\n250 2.0.0 ok again\r\n")   # one reply too many
            elif verb == "RCPT" and self.noop_twice:
                conn.sendall(b"550 5.1.1 no such user\r\n")
            else:
                conn.sendall(b"250 2.0.0 ok\r\n")

    def close(self):
        self.sock.close()


tmp = tempfile.mkdtemp()
try:
    # --- transcript-format.md: each format's example is a transcript that checks clean ----
    doc = open(os.path.join(DOCS, "transcript-format.md")).read()
    sections = {part.split(":", 1)[0]: part for part in doc.split("\n## ")}
    for fmt in ("cs", "swaks", "bsmtp", "native"):
        block = re.search(r"^    .*\n(?:    .*\n|\n)*", sections.get(fmt, ""), re.M)   # its first code block
        check(block is not None, "transcript-format.md has a %s example" % fmt)
        if not block:
            continue
        example = os.path.join(tmp, "example." + fmt)
        with open(example, "w") as f:
            f.write("".join(l[4:] + "\n" for l in block.group(0).rstrip("\n").split("\n")))
        r = replay("--check", "--format", fmt, example)
        check(r.returncode == 0 and not r.stdout, "the %s example of transcript-format.md checks clean: %s"
              % (fmt, r.stdout))

    # --- certificates: smtpsink(1)'s example, run as written there ------------------
    page = open(os.path.join(DOCS, "smtpsink.1")).read()
    m = re.search(r"\$ (openssl req .*?-out cert\.pem)", page.replace("\\e\n", " ").replace("\\-", "-"), re.S)
    check(m is not None, "smtpsink(1) has the openssl example")
    cmd = " ".join(m.group(1).split()) if m else ""
    check("subjectAltName=DNS:localhost,IP:127.0.0.1" in cmd, "the example names localhost and 127.0.0.1: %s" % cmd)
    r = subprocess.run(cmd, shell=True, cwd=tmp, capture_output=True, text=True)
    check(r.returncode == 0, "the example's openssl command runs: %s" % r.stderr)
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    cn_dir = os.path.join(tmp, "cn-only")
    os.makedirs(cn_dir)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
                    "-keyout", os.path.join(cn_dir, "key.pem"), "-out", os.path.join(cn_dir, "cert.pem")],
                   check=True, capture_output=True)
    tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ctx.load_cert_chain(cert, key)
    secret_file = os.path.join(tmp, "pass")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\nnot part of it\n")

    # --- one command at a time, unless PIPELINING -----------------------------------------
    batch = os.path.join(tmp, "two.bsmtp")
    with open(batch, "w") as f:
        f.write("EHLO client.example.org\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nRCPT TO:<c@example.net>\n"
                "DATA\nSubject: one\n\n..dot\n.\nMAIL FROM:<a@example.org>\nRCPT TO:<d@example.net>\nDATA\n"
                "Subject: two\n\nhi\n.\nQUIT\n")
    for pipelining in (False, True):
        srv = StrictServer(pipelining)
        r = replay("--server", "127.0.0.1:%d" % srv.port, "--timeout", "10s", batch)
        srv.close()
        check(r.returncode == 0 and not srv.errors,
              "a batch to a server %s PIPELINING: no synchronization error: %s %s" %
              ("with" if pipelining else "without", srv.errors, r.stdout[-300:]))
        check([b for _, b in srv.messages] == [["Subject: one", "", "..dot"], ["Subject: two", "", "hi"]],
              "both messages arrive whole: %s" % srv.messages)

    # --- --check reports at most ten defects of one code, as msgcheck does ------------------
    flood = os.path.join(tmp, "flood.txt")
    with open(flood, "w") as f:
        f.write("S: 220 x ESMTP\nC: EHLO a\nS: 250 ok\n" + "C: NOOP\n" * 25)
    r = replay("--check", flood)
    missing = [l for l in r.stdout.splitlines() if l.endswith("[smtp.reply-missing]")]
    check(r.returncode == 1 and len(missing) == 10 and "(and 15 more like it)" in missing[-1]
          and "more like it" not in "".join(missing[:-1]),
          "--check: ten of a code, the tenth counting the rest: %s" % r.stdout)

    # --- STARTTLS in a batch: nothing after it before the handshake ------------------------
    tls_batch = os.path.join(tmp, "tls.bsmtp")
    with open(tls_batch, "w") as f:
        f.write("EHLO client.example.org\nSTARTTLS\nEHLO client.example.org\nMAIL FROM:<a@example.org>\n"
                "RCPT TO:<b@example.net>\nDATA\nSubject: over TLS\n\nhi\n.\nQUIT\n")
    r = replay("--check", tls_batch)
    check(r.returncode == 0 and "smtp.batch-session" in r.stdout, "--check warns about STARTTLS in a batch: %s" % r.stdout)
    for pipelining in (False, True):
        srv = StrictServer(pipelining, tls_ctx)
        r = replay("--server", "127.0.0.1:%d" % srv.port, "--ca-file", cert, "--timeout", "10s", tls_batch)
        srv.close()
        check(r.returncode == 0 and not srv.errors and srv.messages == [(True, ["Subject: over TLS", "", "hi"])],
              "a batch with STARTTLS (PIPELINING %s): TLS, then the rest: %s %s %s" %
              (pipelining, srv.errors, srv.messages, r.stdout[-300:]))
    srv = StrictServer(True, tls_ctx)
    r = replay("--server", "127.0.0.1:%d" % srv.port, "--timeout", "10s", tls_batch)
    srv.close()
    check(r.returncode != 0 and not srv.messages and "certificate" in r.stdout,
          "without --ca-file the test certificate is refused: %d %s" % (r.returncode, r.stdout[-400:]))

    # A server that closes the TLS connection while the message goes out:
    # a difference reported (exit 1), not a SIGPIPE that kills the replay.
    big_batch = os.path.join(tmp, "big.bsmtp")
    with open(big_batch, "w") as f:
        f.write("EHLO client.example.org\nSTARTTLS\nEHLO client.example.org\nMAIL FROM:<a@example.org>\n"
                "RCPT TO:<b@example.net>\nDATA\nSubject: big\n\n" + ("x" * 70 + "\n") * 40000 + ".\nQUIT\n")
    srv = StrictServer(True, tls_ctx, close_at_data=True)
    r = replay("--server", "127.0.0.1:%d" % srv.port, "--ca-file", cert, "--timeout", "10s", big_batch)
    srv.close()
    check(r.returncode == 1 and "DIFF: (message body" in r.stdout,
          "a TLS peer that closes during the message: a difference, not SIGPIPE: %d %s %s" %
          (r.returncode, r.stdout[-400:], r.stderr[-300:]))

    # A reply too many (two to one NOOP) is a difference of that step, and
    # taken off: the refused RCPT after it is compared with its own reply.
    extra = os.path.join(tmp, "extra.txt")
    with open(extra, "w") as f:
        f.write("S: 220 mx ESMTP\nC: EHLO client.example.org\nS: 250 mx\nC: NOOP\nS: 250 2.0.0 ok\n"
                "C: MAIL FROM:<a@example.org>\nS: 250 2.1.0 ok\nC: RCPT TO:<b@example.net>\nS: 250 2.1.5 ok\n"
                "C: RSET\nS: 250 2.0.0 ok\nC: QUIT\nS: 221 2.0.0 bye\n")
    srv = StrictServer(False, noop_twice=True)
    r = replay("--server", "127.0.0.1:%d" % srv.port, "--timeout", "10s", extra)
    srv.close()
    diffs = [l for l in r.stdout.splitlines() if ": DIFF: " in l]
    check(r.returncode == 1 and len(diffs) == 2 and "NOOP" in diffs[0] and "no command asked for: 250 2.0.0 ok again"
          in diffs[0] and "RCPT" in diffs[1] and "live 550" in diffs[1] and "5 same, 2 different" in r.stdout,
          "a reply too many is a difference, and the replies after it stay paired: %s" % r.stdout)

    # The live server takes a DATA that the recording shows refused: the
    # recording has no message, and after 354 nothing else may be sent (RFC
    # 5321 4.1.1.4). The connection closes without the final dot (nothing
    # delivered, no RSET written into the message, no wait for --timeout),
    # and the rest of the session is not sent.
    refused_data = os.path.join(tmp, "refused-data.txt")
    with open(refused_data, "w") as f:
        f.write("S: 220 mx ESMTP\nC: EHLO client.example.org\nS: 250 mx\nC: MAIL FROM:<a@example.org>\n"
                "S: 250 2.1.0 ok\nC: RCPT TO:<b@example.net>\nS: 250 2.1.5 ok\nC: DATA\nS: 554 5.7.1 no data for you\n"
                "C: RSET\nS: 250 2.0.0 ok\nC: QUIT\nS: 221 2.0.0 bye\n")
    srv = StrictServer(False)
    started = time.monotonic()
    r = replay("--server", "127.0.0.1:%d" % srv.port, "--timeout", "10s", refused_data)
    took = time.monotonic() - started
    time.sleep(0.2)   # the server sees the close
    srv.close()
    lines = r.stdout.splitlines()
    data = [l for l in lines if ": DATA: " in l]
    check(r.returncode == 1 and took < 5 and len(data) == 1 and "DIFF" in data[0] and "live 354" in data[0]
          and "closed without the final dot" in data[0] and "4 same, 3 different" in r.stdout
          and all("not sent: the connection was closed" in l for l in lines if ": RSET: " in l or ": QUIT: " in l),
          "a DATA taken live where the recording refused it: closed, the rest not sent (%.1f s): %s" % (took, r.stdout))
    check(srv.messages == [] and srv.unfinished == [[]] and "RSET" not in srv.commands,
          "nothing written after the 354, nothing delivered: %s %s %s" % (srv.unfinished, srv.messages, srv.commands))

    # The same extra reply recorded and live: compared with each other, no difference
    # (smtpsink --script plays the recording's own extra reply).
    recorded_extra = os.path.join(tmp, "recorded-extra.txt")
    with open(recorded_extra, "w") as f:
        f.write("S: 220 mx ESMTP\nC: EHLO client.example.org\nS: 250 mx\nC: NOOP\nS: 250 2.0.0 ok\nS: 250 2.0.0 ok again\n"
                "C: MAIL FROM:<a@example.org>\nS: 250 2.1.0 ok\nC: QUIT\nS: 221 2.0.0 bye\n")
    p, port = testlib.start_smtpsink(SMTPSINK, "--script", recorded_extra)
    r = replay("--server", "127.0.0.1:%d" % port, "--timeout", "10s", recorded_extra)
    testlib.stop(p)
    check(r.returncode == 0 and "DIFF" not in r.stdout, "a recorded extra reply met live is no difference: %s" % r.stdout)

    # A recording that does not end with 221, replayed against its own
    # script: smtpsink's closing 421 after the last reply is the server
    # ending the session (RFC 5321 3.8), noted and not compared.
    no_quit = os.path.join(tmp, "no-quit.txt")
    with open(no_quit, "w") as f:
        f.write("S: 220 mx ESMTP\nC: EHLO client.example.org\nS: 250 mx\nC: NOOP\nS: 250 2.0.0 ok\n")
    p, port = testlib.start_smtpsink(SMTPSINK, "--script", no_quit)
    r = replay("--server", "127.0.0.1:%d" % port, "--timeout", "10s", no_quit)
    testlib.stop(p)
    check(r.returncode == 0 and "DIFF" not in r.stdout and "0 different" in r.stdout
          and "closed the session unasked: 421" in r.stdout,
          "the script's closing 421 after the last reply is not a difference: %s" % r.stdout)

    # A message sent in BDAT chunks: replayed to a server that offers CHUNKING;
    # to one that does not, RSET goes instead and the chunk is not sent (its
    # lines would be read as commands).
    chunked = os.path.join(tmp, "chunked.txt")
    with open(chunked, "w") as f:
        f.write("S: 220 mx ESMTP\nC: EHLO client.example.org\nS: 250-mx\nS: 250 CHUNKING\n"
                "C: MAIL FROM:<a@example.org>\nS: 250 2.1.0 ok\nC: RCPT TO:<b@example.net>\nS: 250 2.1.5 ok\n"
                "C: BDAT 30 LAST\nC: Subject: chunked\nC: \nC: one line\nS: 250 2.0.0 queued\n"
                "C: QUIT\nS: 221 2.0.0 bye\n")
    inbox = os.path.join(tmp, "in-chunked")
    p, port = testlib.start_smtpsink(SMTPSINK, inbox)
    r = replay("--server", "127.0.0.1:%d" % port, "--timeout", "10s", chunked)
    testlib.stop(p)
    got = [open(e).read() for e in queued(inbox)]
    check(r.returncode == 0 and "DIFF" not in r.stdout and len(got) == 1 and got[0].endswith("Subject: chunked\n\none line\n"),
          "BDAT replays to a server with CHUNKING: %s %s" % (r.stdout[-400:], got))
    srv = StrictServer(False)
    r = replay("--server", "127.0.0.1:%d" % srv.port, "--timeout", "10s", chunked)
    srv.close()
    diffs = [l for l in r.stdout.splitlines() if ": DIFF: " in l]
    check(r.returncode == 1 and len(diffs) == 1 and "instead of BDAT" in diffs[0] and "CHUNKING" in diffs[0]
          and "5 same, 1 different" in r.stdout and not srv.errors and "RSET" in srv.commands
          and not any("chunked" in c or "one line" in c for c in srv.commands),
          "no BDAT to a server without CHUNKING, its chunk not sent as commands: %s %s %s" %
          (r.stdout, srv.commands, srv.errors))

    # --- recorded sessions: TLS on connect, credentials, --no-data ----------------------------
    def spool_with(n, name):
        out = os.path.join(tmp, name)
        for d in ("tmp", "queue", "deferred", "sent", "failed", "hold"):
            os.makedirs(os.path.join(out, d))
        for i in range(n):
            with open(os.path.join(out, "queue", "20260101T000000.%06dZ.1.%06d.t" % (i, i)), "wb") as f:
                f.write(b"MAIL FROM:<a@example.org>\nRCPT TO:<r%d@example.net>\n\nSubject: %d\n\n.dot line\nbody\n" % (i, i))
        return out

    # Implicit TLS (port 465), with a login.
    inbox = os.path.join(tmp, "in-implicit")
    p, port = testlib.start_smtpsink(SMTPSINK, "--tls-cert", cert, "--tls-key", key, "--implicit-tls", "--auth", "test:" + SECRET, inbox)
    tdir = os.path.join(tmp, "t-implicit")
    r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "tls", "--ca-file", cert,
                        "--auth-user", "test", "--auth-file", secret_file, "--transcript", tdir, spool_with(2, "out1")],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "spoolsend over implicit TLS with AUTH: %s" % r.stderr)
    recorded = glob.glob(os.path.join(tdir, "*"))
    check(len(recorded) == 1, "one transcript: %s" % recorded)
    t = recorded[0]
    text = open(t).read()
    check(SECRET not in text, "the password is not in the transcript")
    check(re.search(r"\A# msgtools transcript 1\n= \S+ connect .*\n= \S+ tls ", text) is not None,
          "the transcript begins inside TLS: %s" % text[:200])
    before = len(queued(inbox))
    r = replay("--server", "127.0.0.1:%d" % port, "--ca-file", cert, "--auth-file", secret_file, "--json", t)
    out = r.stdout + r.stderr
    check(r.returncode == 0, "TLS on connect and the password from --auth-file: same replies: %s" % r.stdout[-500:])
    check(SECRET not in out and "s3cret" not in out, "the password is never printed")
    notes = [json.loads(l).get("note", "") for l in r.stdout.splitlines() if l.strip()]
    auth_notes = [n for n in notes if "--auth-file" in n]
    check(len(auth_notes) == 1 and auth_notes[0].count("--auth-file") == 1,
          "the AUTH step says once that the password came from --auth-file: %s" % auth_notes)
    check(len(queued(inbox)) == before + 2, "the replay delivered the two messages again")
    # --no-data: the envelope only.
    before = len(queued(inbox))
    r = replay("--server", "127.0.0.1:%d" % port, "--ca-file", cert, "--auth-file", secret_file, "--no-data", t)
    check(r.returncode == 0 and "--no-data" in r.stdout, "--no-data replays the envelope: %s" % r.stdout[-500:])
    check(len(queued(inbox)) == before, "--no-data delivers nothing")
    # --diff keeps the notes (the exchanges not compared, and why) and
    # drops only what is the same: "0 different" is read with what was left out.
    r = replay("--server", "127.0.0.1:%d" % port, "--ca-file", cert, "--auth-file", secret_file, "--no-data",
               "--diff", t)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and lines and all(": note: " in l for l in lines[:-1]) and len(lines) > 1
          and "RSET instead of DATA" in r.stdout and " 0 different " in lines[-1],
          "--diff: the notes and the summary: %s" % r.stdout[-600:])
    # Without the password: AUTH is refused, with its code.
    r = replay("--server", "127.0.0.1:%d" % port, "--ca-file", cert, t)
    check(r.returncode == 1 and re.search(r"DIFF: AUTH PLAIN \(initial response\): recorded 235.*, live 535", r.stdout),
          "without --auth-file AUTH is refused: %s" % r.stdout[-600:])
    # A cs copy cannot say that TLS came first: --tls does.
    cs = os.path.join(tmp, "implicit.cs")
    check(replay("--convert", "cs", "-o", cs, t).returncode == 0, "convert to cs")
    r = replay("--server", "127.0.0.1:%d" % port, "--ca-file", cert, "--auth-file", secret_file, "--tls", "--no-data", cs)
    check(r.returncode == 0, "a cs transcript with --tls: %s" % r.stdout[-500:])
    r = replay("--server", "127.0.0.1:%d" % port, "--timeout", "2s", cs)
    check(r.returncode == 69, "in clear to a TLS port: no greeting, exit 69 (got %d)" % r.returncode)
    # spoolsend reports an AUTH refusal with its code and enhanced code.
    r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "tls", "--ca-file", cert,
                        "--auth-user", "test", spool_with(1, "out2")], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, SPOOLSEND_PASSWORD="wrong"))
    check(r.returncode != 0 and re.search(r"refused AUTH PLAIN: 535 5\.7\.8", r.stderr),
          "spoolsend names the AUTH refusal's codes: %s" % r.stderr)
    stop(p)

    # A password goes only over TLS or to a loopback address (no other
    # address is tried here; is_loopback_host() has a unit test); over
    # STARTTLS it goes once TLS is up.
    inbox = os.path.join(tmp, "in-starttls")
    p, port = testlib.start_smtpsink(SMTPSINK, "--tls-cert", cert, "--tls-key", key, "--auth", "test:" + SECRET, inbox)
    tdir = os.path.join(tmp, "t-starttls")
    r = subprocess.run([SPOOLSEND, "--server", "localhost:%d" % port, "--tls", "starttls", "--ca-file", cert,
                        "--auth-user", "test", "--auth-file", secret_file, "--transcript", tdir, spool_with(2, "out3")],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "spoolsend over STARTTLS to localhost with the example certificate: %s" % r.stderr)
    t = glob.glob(os.path.join(tdir, "*"))[0]
    r = replay("--server", "localhost:%d" % port, "--ca-file", cert, "--auth-file", secret_file, "--match", "enhanced", t)
    check(r.returncode == 0, "STARTTLS and AUTH replayed: %s" % r.stdout[-500:])
    stop(p)

    # --- smtpsink(1)'s certificate for 127.0.0.1; a CN-only one is refused -------------------
    for certdir, ok in ((tmp, True), (cn_dir, False)):
        inbox = os.path.join(tmp, "in-cert-%s" % ok)
        p, port = testlib.start_smtpsink(SMTPSINK, "--tls-cert", os.path.join(certdir, "cert.pem"), "--tls-key",
                             os.path.join(certdir, "key.pem"), inbox)
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "starttls", "--ca-file",
                            os.path.join(certdir, "cert.pem"), spool_with(1, "out-cert-%s" % ok)],
                           capture_output=True, text=True, timeout=60)
        stop(p)
        if ok:
            check(r.returncode == 0, "the man page's certificate is accepted for 127.0.0.1: %s" % r.stderr)
        else:
            check(r.returncode != 0 and "IP address mismatch" in r.stderr,
                  "a CN-only certificate is refused for 127.0.0.1: %s" % r.stderr)

    # --- a refused RCPT and a pipelined DATA answered 503, as a batch ------------------------
    rules = os.path.join(tmp, "rules")
    with open(rules, "w") as f:
        f.write("rcpt /^refused@/ 550 5.1.1 no such user\n")
    inbox = os.path.join(tmp, "in-rules")
    p, port = testlib.start_smtpsink(SMTPSINK, "--rules", rules, inbox)
    out = os.path.join(tmp, "out-rules")
    for d in ("tmp", "queue", "deferred", "sent", "failed", "hold"):
        os.makedirs(os.path.join(out, d))
    for i, (rcpt, subject) in enumerate((("refused@example.net", "first"), ("second@example.net", "second"))):
        with open(os.path.join(out, "queue", "20260101T000000.%06dZ.1.%06d.t" % (i, i)), "w") as f:
            f.write("MAIL FROM:<a@example.org>\nRCPT TO:<%s>\n\nSubject: %s\n\nbody\n" % (rcpt, subject))
    tdir = os.path.join(tmp, "t-rules")
    subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--transcript", tdir, out],
                   capture_output=True, text=True, timeout=60)
    stop(p)
    t = glob.glob(os.path.join(tdir, "*"))[0]
    check(re.search(r"^S \S+ 5\d\d .*$", open(t).read(), re.M) is not None, "the refusals are recorded")
    bpath = os.path.join(tmp, "rules.bsmtp")
    r = replay("--convert", "bsmtp", "-o", bpath, t)
    check(r.returncode == 0 and "left out of the batch" in r.stderr, "the conversion notes what it leaves out: %s" % r.stderr)
    b = open(bpath).read()
    check("refused@" not in b and "Subject: first" not in b and "RSET" not in b and "second@example.net" in b,
          "the batch holds the accepted message only: %s" % b)
    r = replay("--check", bpath)
    check(r.returncode == 0, "the batch checks clean: %s" % r.stdout)
    inbox = os.path.join(tmp, "in-batch")
    p, port = testlib.start_smtpsink(SMTPSINK, inbox)
    r = replay("--server", "127.0.0.1:%d" % port, bpath)
    stop(p)
    got = [open(e).read() for e in queued(inbox)]
    check(r.returncode == 0 and len(got) == 1 and "RCPT TO:<second@example.net>" in got[0] and "Subject: second" in got[0]
          and "MAIL FROM" not in got[0].split("\n\n", 1)[1],
          "the batch delivers the second message once, to its recipient: %s %s" % (got, r.stdout[-300:]))
finally:
    shutil.rmtree(tmp)

print("smtpreplay live: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
