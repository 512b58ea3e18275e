#!/usr/bin/python3
"""smtpsink on 127.0.0.1, driven by Python's smtplib, raw sockets, spoolsend
and Postfix's smtp-source.

Usage: smtpsink_servers.py SMTPSINK SPOOLSEND

Checks: messages stored whole with their envelope; pipelined commands
answered in order in one write; BDAT; rules (550 by pattern, 451 every Nth
message, a connection dropped mid-DATA stores nothing; a reply delayed
past spoolsend's limit, a dot answered late); a server without ESMTP
(--no-esmtp: spoolsend falls back to HELO and 7 bits); STARTTLS and AUTH
PLAIN/LOGIN, AUTH only inside TLS (--tls-auth-only); SIZE; a line too long; "<LF>.<CR><LF>" does not end a message;
--discard with --count; spoolsend's messages arrive byte for byte, also over
STARTTLS with AUTH, and to a fallback server; implicit TLS (--implicit-tls) with smtplib and spoolsend;
smtp-source's 500 messages over 10 sessions all stored.
"""
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import postfix_tools
import testlib
from testlib import check

SMTPSINK, SPOOLSEND = sys.argv[1], sys.argv[2]


def start(*args):
    return testlib.start_smtpsink(SMTPSINK, *args)


def stop(p):
    return testlib.stop(p)[1]


def entries(spool):
    return testlib.heads_and_bodies(os.path.join(spool, "queue"))


def talk(port, data, expect_close=False):
    """Send bytes after the greeting; return everything the server says."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(2)
    got = b""
    while not got.endswith(b"\r\n"):
        got += s.recv(4096)
    s.sendall(data)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
            if not expect_close and got.endswith(b"221 2.0.0 smtpsink.test closing connection\r\n"):
                break
    except socket.timeout:
        pass
    s.close()
    return got.decode("latin-1")


def outgoing(name, *entries):
    """A spool for spoolsend under tmp/NAME, with these entries queued (bytes each)."""
    out = os.path.join(tmp, name)
    for d in ("tmp", "queue", "deferred", "sent", "failed"):
        os.makedirs(os.path.join(out, d))
    for i, e in enumerate(entries, 1):
        add_entry(out, i, e)
    return out


def add_entry(out, i, entry):
    with open(os.path.join(out, "queue", "20260101T000000.%06dZ.1.%06d.t" % (i, i)), "wb") as f:
        f.write(entry)


def codes(text):
    return [int(l[:3]) for l in text.split("\r\n") if len(l) >= 4 and l[3] == " "]


tmp = tempfile.mkdtemp()
try:
    # --- storing, pipelining, BDAT, smuggling, limits ----------------------------
    spool = os.path.join(tmp, "in")
    p, port = start("--max-size", "10000", spool)
    try:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            check("pipelining" in s.esmtp_features and "chunking" in s.esmtp_features, "extensions offered")
            s.sendmail("alice@example.org", ["bob@example.net", "carol@example.net"],
                       b"Subject: one\r\n\r\n.leading dot\r\nbody\r\n",
                       rcpt_options=["NOTIFY=FAILURE"])
        got = entries(spool)
        check(len(got) == 1, "one entry stored")
        if got:
            head, body = got[0]
            check("MAIL FROM:<alice@example.org>" in head and "RCPT TO:<bob@example.net> NOTIFY=FAILURE" in head
                  and "RCPT TO:<carol@example.net>" in head, "the envelope: %s" % head)
            check("Smtp-Helo: client.example" in head, "the HELO name is kept")
            check(body == b"Subject: one\r\n\r\n.leading dot\r\nbody\r\n", "the message, dot-stuffing undone: %r" % body)
        # Pipelined: every reply in order.
        r = talk(port, b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c>\r\n"
                       b"DATA\r\nSubject: two\r\n\r\nline\n.\r\nstill the message\r\n.\r\nQUIT\r\n")
        check(codes(r) == [220, 250, 250, 250, 553, 354, 250, 221], "pipelined replies in order: %s" % codes(r))
        two = [b for h, b in entries(spool) if b.startswith(b"Subject: two")]
        check(two == [b"Subject: two\r\n\r\nline\n.\r\nstill the message\r\n"],
              "<LF>.<CRLF> does not end the message: %r" % two)
        # BDAT in two chunks.
        r = talk(port, b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
                       b"BDAT 11\r\nSubject: thBDAT 13 LAST\r\nree\r\n\r\nbody\r\nQUIT\r\n")
        check(codes(r) == [220, 250, 250, 250, 250, 250, 221], "BDAT replies: %s" % codes(r))
        check(any(b == b"Subject: three\r\n\r\nbody\r\n" for _, b in entries(spool)), "the BDAT message is stored")
        # Whole BDAT transactions pipelined in one write (RFC 3030 4.2): each
        # is committed and answered as soon as it is in, not one per tick of
        # the event loop (a second), which would stall the client 20 s here
        # and run into talk()'s 2 s read timeout.
        batch = b"EHLO x\r\n" + b"".join(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
                                          b"BDAT 19 LAST\r\nSubject: p%02d\r\n\r\nx\r\n" % i for i in range(20))
        r = talk(port, batch + b"QUIT\r\n")
        check(codes(r) == [220, 250] + [250, 250, 250] * 20 + [221], "pipelined BDAT replies: %s" % codes(r))
        check(len([b for _, b in entries(spool) if b.startswith(b"Subject: p")]) == 20, "20 pipelined BDAT messages")
        # Sequence and syntax errors, a line too long, SIZE.
        r = talk(port, b"MAIL FROM:<a@example.org>\r\nEHLO x\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
                       b"MAIL FROM:<a@example.org> SIZE=20000\r\nMAIL FROM:a@example.org\r\nNOOP " + b"x" * 5000 +
                       b"\r\nFOO\r\nQUIT\r\n")
        check(codes(r) == [220, 503, 250, 503, 503, 552, 501, 500, 500, 221], "errors: %s" % codes(r))
        check("500 5.5.2 line too long" in r and "552 5.3.4" in r, "the codes say why: %s" % r)
        big = b"x" * 70 + b"\r\n"
        r = talk(port, b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" +
                 big * 200 + b".\r\nQUIT\r\n")
        check(codes(r)[-2:] == [552, 221], "a message over SIZE is refused after its end: %s" % codes(r))
        n_before = len(entries(spool))
    finally:
        err = stop(p)
    check("smtpsink: " in err and " messages" in err, "a summary at exit: %s" % err)
    check(len(entries(spool)) == n_before == 23, "23 messages stored in all, got %d" % len(entries(spool)))
    check(not os.listdir(os.path.join(spool, "tmp")), "nothing left in tmp/")

    # --- rules ----------------------------------------------------------------
    rules = os.path.join(tmp, "rules")
    with open(rules, "w") as f:
        f.write("# test rules\nrcpt /^unknown@/ 550 5.1.1 no such user\n"
                "dot every 3 451 4.3.0 try again later\ndata /^drop@/ drop\n")
    spool2 = os.path.join(tmp, "in2")
    p, port = start("--rules", rules, spool2)
    try:
        outcomes = []
        for i in range(6):
            with smtplib.SMTP("127.0.0.1", port) as s:
                try:
                    refused = s.sendmail("a@example.org", ["ok%d@example.net" % i, "unknown@example.net"],
                                         b"Subject: %d\r\n\r\nx\r\n" % i)
                    outcomes.append(250)
                    check(list(refused) == ["unknown@example.net"], "the unknown recipient is refused: %s" % refused)
                except smtplib.SMTPDataError as e:
                    outcomes.append(e.smtp_code)
        check(outcomes == [250, 250, 451, 250, 250, 451], "every third message gets 451: %s" % outcomes)
        try:
            with smtplib.SMTP("127.0.0.1", port) as s:
                s.sendmail("a@example.org", ["drop@example.net"], b"Subject: dropped\r\n\r\nx\r\n")
            check(False, "the connection should drop mid-DATA")
        except (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError):
            pass
    finally:
        stop(p)
    stored = entries(spool2)
    check(len(stored) == 4, "4 of 6 messages stored, got %d" % len(stored))
    check(not any(b"dropped" in b for _, b in stored), "nothing stored from the dropped session")
    check(all("unknown@" not in h for h, _ in stored), "refused recipients are not in the envelope")

    # --- delays: a slow server ----------------------------------------------------
    # A recipient answered 3 s late meets spoolsend's 1 s limit: deferred,
    # with the limit named. A message answered 2 s after its dot is taken
    # under the RFC's limits, and stored only then.
    with open(rules, "w") as f:
        f.write("rcpt /^slow@/ delay 3s\ndot /^late@/ delay 2s\ndot /^gave-up@/ delay 2s\n")
    slow_spool = os.path.join(tmp, "in-slow")
    p, port = start("--rules", rules, slow_spool)
    try:
        out = outgoing("out-delay", b"MAIL FROM:<a@example.org>\nRCPT TO:<slow@example.net>\n\nSubject: slow\n\nx\n")
        t0 = time.monotonic()
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--timeout", "1s", out],
                           capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
        deferred = os.listdir(os.path.join(out, "deferred"))
        check(r.returncode == 1 and len(deferred) == 1, "a reply 3 s late defers under --timeout 1s: %d %s %s"
              % (r.returncode, deferred, r.stderr))
        check("timed out" in r.stderr and took < 2.9, "the limit is named, and met in time (%.1f s): %s" % (took, r.stderr))
        add_entry(out, 2, b"MAIL FROM:<a@example.org>\nRCPT TO:<late@example.net>\n\nSubject: late\n\nx\n")
        t0 = time.monotonic()
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, out],
                           capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
        check(r.returncode == 0 and os.listdir(os.path.join(out, "sent")), "a dot answered 2 s late is sent: %d %s"
              % (r.returncode, r.stderr))
        check(took >= 1.9, "the reply to the dot came 2 s late (%.1f s)" % took)
        # A sender that gives up waiting for the dot's reply: its message is
        # stored when the wait ends all the same (RFC 5321 6.1's duplicate).
        add_entry(out, 3, b"MAIL FROM:<a@example.org>\nRCPT TO:<gave-up@example.net>\n\nSubject: gave up\n\nx\n")
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--timeout", "1s", out],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "timed out" in r.stderr, "the dot's reply not waited for: %d %s"
              % (r.returncode, r.stderr))
        time.sleep(2.5)
    finally:
        stop(p)
    stored = [b for _, b in entries(slow_spool)]
    check(any(b.startswith(b"Subject: late") for b in stored), "the late message is stored: %s" % stored)
    check(any(b.startswith(b"Subject: gave up") for b in stored), "so is the one its sender gave up on: %s" % stored)
    check(not any(b.startswith(b"Subject: slow") for b in stored), "the slow one is not: %s" % stored)

    # --- a server without ESMTP: spoolsend says HELO, and sends 8 bits as 7 -----------
    old_spool = os.path.join(tmp, "in-old")
    p, port = start("--no-esmtp", old_spool)
    try:
        out = outgoing("out-old", b"MAIL FROM:<a@example.org> BODY=8BITMIME\nRCPT TO:<b@example.net>\n\n"
                                  b"Subject: old\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                                  b"gr\xc3\xbc\xc3\x9fe\n")
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, out], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0, "spoolsend to a server without EHLO: %d %s" % (r.returncode, r.stderr))
        r = talk(port, b"EHLO x\r\nHELO x\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n")
        check(codes(r) == [220, 502, 250, 250, 221] and not re.search(r"\r\n\d{3} \d\.\d", r),
              "EHLO refused, HELO taken, no enhanced code: %r" % r)
    finally:
        stop(p)
    old = entries(old_spool)
    check(len(old) == 1 and "BODY=" not in old[0][0] and all(c < 0x80 for c in old[0][1]),
          "sent with HELO, 7-bit, no parameter: %s" % old)
    if old:
        import email
        got = email.message_from_bytes(old[0][1]).get_payload(decode=True)
        check(got.replace(b"\r\n", b"\n") == "grüße\n".encode(), "the text decodes back: %r" % got)

    # A bad rules file names its line and column.
    with open(rules, "w") as f:
        f.write("rcpt * 250 ok\nrcpt /x/ 99 no\n")
    r = subprocess.run([SMTPSINK, "--discard", "--rules", rules], capture_output=True, text=True, timeout=10)
    check(r.returncode == 65 and re.search(r"rules:2:10: ", r.stderr) is not None,
          "bad rules: exit 65 with file:line:col: %d %s" % (r.returncode, r.stderr))

    # --- STARTTLS and AUTH ---------------------------------------------------------
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-days", "1", "-keyout", key, "-out", cert], check=True, capture_output=True)
    spool3 = os.path.join(tmp, "in3")
    p, port = start("--tls-cert", cert, "--tls-key", key, "--auth", "test:secret", spool3)
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo()
            check(s.has_extn("starttls"), "STARTTLS offered")
            s.starttls(context=ctx)
            s.ehlo()
            check(not s.has_extn("starttls"), "STARTTLS not offered again inside TLS")
            s.login("test", "secret")   # smtplib picks a mechanism the server offers
            s.sendmail("a@example.org", ["b@example.net"], b"Subject: over TLS\r\n\r\nx\r\n")
        for mech in ("PLAIN", "LOGIN"):
            with smtplib.SMTP("127.0.0.1", port) as s:
                s.ehlo()
                s.user, s.password = "test", "wrong"
                try:
                    s.auth(mech, getattr(s, "auth_" + mech.lower()))
                    check(False, "a wrong password must fail (%s)" % mech)
                except smtplib.SMTPAuthenticationError as e:
                    check(e.smtp_code == 535, "535 for a wrong password (%s)" % mech)
        # Inside TLS, commands followed at once by the client's FIN are
        # answered before the close, as in clear text (the records and the
        # end of input are read in one pass). Ten tries: it depended on timing.
        lost = 0
        for _ in range(10):
            raw = socket.create_connection(("127.0.0.1", port), 5)
            raw.settimeout(5)
            f = raw.makefile("rb")
            f.readline()
            raw.sendall(b"EHLO x\r\nSTARTTLS\r\n")
            while not f.readline().startswith(b"220 "):
                pass
            t = ctx.wrap_socket(raw, server_hostname="localhost")
            t.sendall(b"EHLO again.example\r\nNOOP\r\n")
            socket.socket.shutdown(t, socket.SHUT_WR)
            got = b""
            try:
                while True:
                    d = t.recv(4096)
                    if not d:
                        break
                    got += d
            except (OSError, ssl.SSLError):
                pass
            lost += b"250 2.0.0 OK" not in got
            t.close()
        check(lost == 0, "replies before a FIN inside TLS: %d of 10 sessions lost them" % lost)
        # Commands pipelined after STARTTLS are dropped (RFC 3207 4.2).
        r = talk(port, b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@example.org>\r\n", expect_close=False)
        check(codes(r)[-1] == 220 and "2.1.0" not in r, "nothing after STARTTLS is answered in clear: %s" % r)
        # spoolsend with STARTTLS and AUTH.
        out = outgoing("out", b"MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nSubject: spoolsend over TLS\n\nhi\n")
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "starttls", "--tls-verify", "no",
                            "--auth-user", "test", out], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, SPOOLSEND_PASSWORD="secret"))
        check(r.returncode == 0, "spoolsend over STARTTLS with AUTH: %d %s" % (r.returncode, r.stderr))
    finally:
        stop(p)
    # STARTTLS refused by a rule (454): spoolsend --tls starttls sends
    # nothing in clear, and leaves its entry.
    refuse_tls = os.path.join(tmp, "refuse-tls")
    with open(refuse_tls, "w") as f:
        f.write("starttls * 454 4.7.0 TLS not available\n")
    plain_spool = os.path.join(tmp, "in-plain")
    p, port = start("--tls-cert", cert, "--tls-key", key, "--rules", refuse_tls, plain_spool)
    try:
        out = outgoing("out-tls-refused", b"MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nSubject: secret\n\nx\n")
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "starttls", "--tls-verify", "no", out],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 69 and "454" in r.stderr and os.listdir(os.path.join(out, "queue")),
              "STARTTLS refused: nothing sent, the entry left: %d %s" % (r.returncode, r.stderr))
    finally:
        stop(p)
    check(not os.listdir(os.path.join(plain_spool, "queue")), "nothing arrived in clear")

    # --tls-auth-only: no password in clear (RFC 4954 4).
    p, port = start("--tls-cert", cert, "--tls-key", key, "--auth", "test:secret", "--tls-auth-only", "--discard")
    try:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo()
            check(not s.has_extn("auth"), "AUTH not offered in clear")
            code, _ = s.docmd("AUTH", "PLAIN AHRlc3QAc2VjcmV0")
            check(code == 538, "AUTH in clear: 538, got %d" % code)
            s.starttls(context=ctx)
            s.ehlo()
            check(s.has_extn("auth"), "AUTH offered inside TLS")
            s.login("test", "secret")
    finally:
        stop(p)
    r = subprocess.run([SMTPSINK, "--discard", "--auth", "a:b", "--tls-auth-only"], capture_output=True, text=True,
                       timeout=10)
    check(r.returncode == 64 and "--tls-cert" in r.stderr, "--tls-auth-only without TLS: %d %s" % (r.returncode, r.stderr))
    stored = entries(spool3)
    check(len(stored) == 2 and all("Smtp-Tls: yes" in h and "Smtp-Auth: test" in h for h, _ in stored),
          "both TLS messages stored, marked TLS and AUTH: %s" % [h for h, _ in stored])

    # --- implicit TLS (port 465 style) --------------------------------------------------
    spool6 = os.path.join(tmp, "in6")
    p, port = start("--tls-cert", cert, "--tls-key", key, "--implicit-tls", spool6)
    try:
        with smtplib.SMTP_SSL("127.0.0.1", port, context=ctx) as s:
            s.ehlo()
            check(not s.has_extn("starttls"), "no STARTTLS offered inside implicit TLS")
            s.sendmail("a@example.org", ["b@example.net"], b"Subject: implicit TLS\r\n\r\nx\r\n")
        out = outgoing("out6", b"MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nSubject: spoolsend, implicit TLS\n\nhi\n")
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "tls", "--tls-verify", "no", out],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "spoolsend --tls tls to --implicit-tls: %d %s" % (r.returncode, r.stderr))
    finally:
        stop(p)
    stored = entries(spool6)
    check(len(stored) == 2 and all("Smtp-Tls: yes" in h for h, _ in stored),
          "both implicit-TLS messages stored, marked TLS: %s" % [h for h, _ in stored])
    # A certificate that cannot be read is named; the key must match it.
    r = subprocess.run([SMTPSINK, "--discard", "--tls-cert", cert + ".none", "--tls-key", key],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 66 and "cannot load the TLS certificate " + cert + ".none" in r.stderr,
          "a missing certificate: exit 66, named: %d %s" % (r.returncode, r.stderr))

    # --- spoolsend to smtpsink: byte for byte ----------------------------------------
    out = outgoing("out2")
    sent = {}
    for i in range(40):
        body = b"Subject: m%d\nMessage-ID: <%d@t>\n\n" % (i, i) + b".dot\nline\r\n" * (i % 5) + b"end %d\n" % i
        add_entry(out, i, b"MAIL FROM:<a@example.org>\nRCPT TO:<r%d@example.net>\n\n" % i + body)
        sent[i] = re.sub(rb"\r?\n", b"\r\n", body)
    spool4 = os.path.join(tmp, "in4")
    p, port = start(spool4)
    try:
        # The first server listens nowhere: its fallback takes everything.
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:1", "--server", "127.0.0.1:%d" % port, "-j", "3", out],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "spoolsend to smtpsink: %d %s" % (r.returncode, r.stderr))
        check(r.stderr.count("; trying 127.0.0.1:%d" % port) == 1, "the fallback is said once: %s" % r.stderr)
    finally:
        stop(p)
    got = {}
    for h, b in entries(spool4):
        m = re.search(rb"Message-ID: <(\d+)@t>", b)
        if m:
            got[int(m.group(1))] = b
    check(got == sent, "every message arrived byte for byte (%d of %d)" % (len(got), len(sent)))

    # --- --discard, --count; smtp-source ----------------------------------------------
    SMTP_SOURCE = postfix_tools.tool("smtp-source")
    if SMTP_SOURCE:
        p, port = start("--discard", "--count", "500")
        src = subprocess.run([SMTP_SOURCE, "-s", "10", "-m", "500", "-l", "2000", "-d",
                              "127.0.0.1:%d" % port], capture_output=True, text=True, timeout=120,
                             env=postfix_tools.env())
        check(src.returncode == 0, "smtp-source ran: %s" % src.stderr)
        try:
            _, err = p.communicate(timeout=20)
            check(p.returncode == 0 and "500 messages" in err, "--discard --count 500 exits after 500: %s" % err)
        except subprocess.TimeoutExpired:
            p.kill()
            check(False, "--count did not end smtpsink")
        spool5 = os.path.join(tmp, "in5")
        p, port = start("--count", "500", spool5)
        src = subprocess.run([SMTP_SOURCE, "-s", "10", "-m", "500", "-l", "2000", "-d",
                              "127.0.0.1:%d" % port], capture_output=True, text=True, timeout=120,
                             env=postfix_tools.env())
        p.communicate(timeout=20)
        check(len(os.listdir(os.path.join(spool5, "queue"))) == 500, "smtp-source: 500 messages stored")
finally:
    shutil.rmtree(tmp)

print("smtpsink servers: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
