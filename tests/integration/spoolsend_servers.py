#!/usr/bin/python3
"""spoolsend against real servers on 127.0.0.1.

Usage: spoolsend_servers.py SPOOLSEND

aiosmtpd (tests/integration/aiosmtpd_server.py) rejects, defers or drops the
connection per recipient; every received message must equal the spool's
message after CRLF conversion, and every recipient must end in the state its
reply calls for, with that reply in the entry or report. Postfix's smtp-sink
takes a batch with and without 8BITMIME. A closed port gives exit 69 and
leaves the spool as it was.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import postfix_tools
import testlib
from testlib import check

SPOOLSEND = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))


def wait_port(port, proc):
    for _ in range(100):
        if proc.poll() is not None:
            raise SystemExit("server exited early")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start on port %d" % port)


def start_aiosmtpd(*args):
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "aiosmtpd_server.py"), *args],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill()
        raise SystemExit("aiosmtpd did not start: %r" % line)
    return p, int(m.group(1))


def start_smtp_sink(*args):
    port = testlib.free_port()
    as_nobody = ["-u", "nobody"] if os.geteuid() == 0 else []   # smtp-sink will not run as root
    p = subprocess.Popen([SMTP_SINK, *as_nobody, *args, "127.0.0.1:%d" % port, "100"],
                         stderr=subprocess.DEVNULL, env=postfix_tools.env())
    wait_port(port, p)
    return p, port


def make_spool(root):
    for d in ("tmp", "queue", "deferred", "sent", "failed"):
        os.makedirs(os.path.join(root, d), exist_ok=True)


seq = [0]


def add_entry(root, mail_from, rcpts, message, mail_params=""):
    seq[0] += 1
    name = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + ".%06dZ.1.%06d.test" % (seq[0], seq[0])
    env = "MAIL FROM:<%s>%s\n" % (mail_from, mail_params)
    env += "".join("RCPT TO:<%s>\n" % r for r in rcpts)
    with open(os.path.join(root, "queue", name), "wb") as f:
        f.write(env.encode() + b"\n" + message)
    return name


def where(root, name):
    for d in ("queue", "deferred", "sent", "failed"):
        if os.path.exists(os.path.join(root, d, name)):
            return d
    return None


def crlf(b):
    b = re.sub(rb"\r\n|\r|\n", b"\r\n", b)
    if not b.endswith(b"\r\n"):
        b += b"\r\n"
    return b


def run(*args):
    return subprocess.run([SPOOLSEND, *args], capture_output=True, text=True, timeout=120)


def msg(n, extra=b""):
    return (b"From: a@example.org\nTo: b@example.net\nSubject: test %d\nMessage-ID: <%d@test>\n\nbody %d\n" % (n, n, n)) + extra


tmp = tempfile.mkdtemp()
os.chmod(tmp, 0o755)   # smtp-sink runs as nobody and writes its dumps below
try:
    # --- aiosmtpd: per-recipient outcomes --------------------------------------
    spool = os.path.join(tmp, "spool")
    save = os.path.join(tmp, "saved")
    os.makedirs(save)
    make_spool(spool)
    tricky = (b"From: a@example.org\r\nSubject: dots and line ends\r\n\r\n"
              b".leading dot\n..two dots\r\nbare CR\rbare LF\n.\r\nnot the end\n.\nstill not\r\n"
              b"\r\n.\r\nQUIT\r\nMAIL FROM:<evil@example.org>\r\nlast line without newline")
    e_ok = add_entry(spool, "a@example.org", ["ok1@example.net", "ok2@example.net"], msg(1))
    e_part = add_entry(spool, "a@example.org", ["ok3@example.net", "rej1@example.net"], msg(2))
    e_def = add_entry(spool, "a@example.org", ["def1@example.net", "ok4@example.net"], msg(3))
    e_rej = add_entry(spool, "a@example.org", ["rej2@example.net"], msg(4))
    e_drop = add_entry(spool, "a@example.org", ["drop1@example.net"], msg(5))
    e_trick = add_entry(spool, "a@example.org", ["ok5@example.net"], tricky)
    e_8bit = add_entry(spool, "a@example.org", ["ok6@example.net"], msg(7, "caf\u00e9\n".encode()))
    e_bad = add_entry(spool, "a@example.org", [], msg(8))   # no recipient: malformed
    server, port = start_aiosmtpd("--save", save, "--reject", "^rej", "--defer", "^def", "--drop", "^drop")
    try:
        r = run("--server", "127.0.0.1:%d" % port, "--json", "--dsn", "--retry-base", "0s", spool)
        check(r.returncode == 1, "exit 1 when some entries were deferred or failed, got %d: %s" % (r.returncode, r.stderr))
        events = [json.loads(l) for l in r.stdout.splitlines()]
        by_entry = {e["entry"]: e for e in events if "entry" in e}
        check(events and "summary" in events[-1], "a summary line ends --json output")
        check(by_entry.get(e_ok, {}).get("outcome") == "sent", "e_ok sent: %s" % by_entry.get(e_ok))
        check(where(spool, e_ok) == "sent", "e_ok in sent/")
        check(by_entry.get(e_part, {}).get("outcome") == "partial", "e_part partial")
        check(where(spool, e_part) == "sent", "e_part in sent/ (its refused recipient reported apart)")
        failed_copies = [n for n in os.listdir(os.path.join(spool, "failed"))
                         if not n.endswith((".report", ".json", ".dsn")) and n not in (e_rej, e_bad)]
        check(len(failed_copies) == 1, "one failed/ entry for e_part's refused recipient: %s" % failed_copies)
        if failed_copies:
            fc = open(os.path.join(spool, "failed", failed_copies[0]), "rb").read().decode()
            check("RCPT TO:<rej1@example.net>" in fc and "ok3" not in fc and "Failed-From: " + e_part in fc,
                  "the failed copy has only rej1 and names its origin")
            rep = open(os.path.join(spool, "failed", failed_copies[0] + ".report")).read()
            check("550 5.1.1" in rep, "the report quotes the 550")
        check(where(spool, e_def) == "deferred", "e_def deferred")
        dtext = open(os.path.join(spool, "deferred", e_def), "rb").read().decode()
        check("def1@example.net" in dtext and "ok4@" not in dtext, "only the deferred recipient stays")
        check(re.search(r"^Attempt: \S+ 451 4\.2\.0", dtext, re.M) is not None, "the attempt records the 451")
        check(re.search(r"^Next-Attempt: ", dtext, re.M) is not None, "a next attempt time")
        check(where(spool, e_rej) == "failed", "e_rej failed")
        for suffix in (".report", ".json", ".dsn"):
            check(os.path.exists(os.path.join(spool, "failed", e_rej + suffix)), "e_rej has its %s" % suffix)
        dsn = open(os.path.join(spool, "failed", e_rej + ".dsn"), "rb").read().decode()
        check("multipart/report; report-type=delivery-status" in dsn and "Final-Recipient: rfc822; rej2@example.net" in dsn
              and "Status: 5.1.1" in dsn and "Action: failed" in dsn, "the DSN is an RFC 3464 report")
        # and msgcheck, which checks reports (RFC 6522, 3464), finds nothing wrong in it
        mc = subprocess.run([os.path.join(os.path.dirname(SPOOLSEND), "msgcheck"), "--werror",
                             os.path.join(spool, "failed", e_rej + ".dsn")], capture_output=True, text=True, timeout=60)
        check(mc.returncode == 0 and "0 errors, 0 warnings" in mc.stderr, "msgcheck finds the DSN clean: %s" % mc.stderr)
        rj = json.load(open(os.path.join(spool, "failed", e_rej + ".json")))
        check(rj["recipients"][0]["code"] == 550, "the JSON report has the code")
        check(where(spool, e_drop) == "deferred", "a connection dropped after the dot defers the entry")
        check(by_entry.get(e_drop, {}).get("may_be_delivered") is True, "and says it may have been delivered")
        check(where(spool, e_bad) == "failed", "a malformed entry fails with a report")
        saved = testlib.heads_and_bodies(save)
        bodies = [b for _, b in saved]
        check(crlf(msg(1)) in bodies, "e_ok's message arrived byte for byte")
        check(crlf(tricky) in bodies, "the tricky message arrived byte for byte (dots, bare CR/LF)")
        check(not any(b"evil@example.org" in h.encode() for h, _ in saved), "no smuggled second message")
        check(sum(1 for _, b in saved if b.startswith(b"From: a@example.org\r\nSubject: dots")) == 1,
              "the tricky message arrived once")
        eight = [h for h, b in saved if "caf\u00e9".encode() in b]
        check(len(eight) == 1 and "BODY=8BITMIME" in eight[0], "8-bit body sent with BODY=8BITMIME: %s" % eight)
        # Second pass: the deferred entries are due (retry-base 0); past --max-age they fail.
        r = run("--server", "127.0.0.1:%d" % port, "--max-age", "0s", spool)
        check(r.returncode == 1, "second pass exit 1")
        check(where(spool, e_def) == "failed", "past --max-age a deferred entry fails")
        rep = open(os.path.join(spool, "failed", e_def + ".report")).read()
        check("gave up after 2 attempts" in rep, "the report says it gave up: %s" % rep)
        # Nothing left: a third pass does nothing and exits 0.
        r = run("--server", "127.0.0.1:%d" % port, spool)
        check(r.returncode == 0, "nothing due: exit 0 (%s)" % r.stderr)
    finally:
        server.kill()
        server.wait()

    # --- unreachable ------------------------------------------------------------
    spool2 = os.path.join(tmp, "spool2")
    make_spool(spool2)
    e = add_entry(spool2, "a@example.org", ["b@example.net"], msg(20))
    r = run("--server", "127.0.0.1:%d" % testlib.free_port(), "--timeout", "5s", spool2)
    check(r.returncode == 69, "unreachable server: exit 69, got %d" % r.returncode)
    check(where(spool2, e) == "queue", "unreachable: the entry stays in queue/")
    check(not os.listdir(os.path.join(spool2, "deferred")), "unreachable: nothing deferred")
    # An entry that can never be sent is failed without a session: the spool
    # changed, so not 69.
    spool2b = os.path.join(tmp, "spool2b")
    make_spool(spool2b)
    bad = add_entry(spool2b, "a@example.org", [], msg(20))
    e = add_entry(spool2b, "a@example.org", ["b@example.net"], msg(20))
    r = run("--server", "127.0.0.1:%d" % testlib.free_port(), "--timeout", "5s", spool2b)
    check(r.returncode == 1 and where(spool2b, bad) == "failed" and where(spool2b, e) == "queue",
          "unreachable, one entry failed: exit 1, got %d: %s" % (r.returncode, r.stderr))

    # --- SIZE: the message's octets (RFC 1870 4: CRLF counted, stuffed dots
    # not); too big fails before DATA ----------------------------------------
    spool5 = os.path.join(tmp, "spool5")
    save5 = os.path.join(tmp, "saved5")
    os.makedirs(save5)
    make_spool(spool5)
    small = msg(400, b".dot line\n" * 10)
    e_small = add_entry(spool5, "a@example.org", ["s@example.net"], small)
    e_big = add_entry(spool5, "a@example.org", ["big@example.net"], msg(401, b"x" * 3000 + b"\n"))
    server, port = start_aiosmtpd("--size", "2000", "--save", save5)
    try:
        r = run("--server", "127.0.0.1:%d" % port, spool5)
        check(r.returncode == 1, "SIZE: exit 1, got %d" % r.returncode)
        check(where(spool5, e_small) == "sent", "SIZE: the small message is sent")
        check(where(spool5, e_big) == "failed", "SIZE: the big one fails")
        rep = open(os.path.join(spool5, "failed", e_big + ".report")).read()
        check("SIZE limit of 2000" in rep, "SIZE: the report says why: %s" % rep)
        heads = [h for h, _ in testlib.heads_and_bodies(save5)]
        wire = len(crlf(small))   # the ten ".dot line"s go stuffed, not counted
        check(len(heads) == 1 and ("SIZE=%d" % wire) in heads[0], "SIZE=%d declared: %s" % (wire, heads))
    finally:
        server.kill()
        server.wait()

    # --- a server that refuses the session: nothing moves, no retry storm ----
    refuser = socket.socket()
    refuser.bind(("127.0.0.1", 0))
    refuser.listen(16)
    rport = refuser.getsockname()[1]
    greeted = []

    def refuse():
        while True:
            try:
                c, _ = refuser.accept()
            except OSError:
                return
            greeted.append(1)
            c.sendall(b"554 5.3.2 no service for you\r\n")
            c.close()

    import threading
    threading.Thread(target=refuse, daemon=True).start()
    spool4 = os.path.join(tmp, "spool4")
    make_spool(spool4)
    refused = [add_entry(spool4, "a@example.org", ["b%d@example.net" % i], msg(300 + i)) for i in range(20)]
    r = run("--server", "127.0.0.1:%d" % rport, "-j", "2", spool4)
    check(r.returncode == 69, "a refused session: exit 69, got %d" % r.returncode)
    check("554 5.3.2 no service" in r.stderr, "the refusal is reported: %s" % r.stderr)
    check(all(where(spool4, n) == "queue" for n in refused), "a refused session leaves every entry in queue/")
    check(len(greeted) <= 2, "one try per connection, not one per entry: %d" % len(greeted))
    refuser.close()
    # AUTH asked for but not offered: the same.
    server, port = start_aiosmtpd()
    try:
        env = dict(os.environ, SPOOLSEND_PASSWORD="secret")
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--auth-user", "alice", spool4],
                           capture_output=True, text=True, timeout=120, env=env)
        check(r.returncode == 69 and "AUTH" in r.stderr, "AUTH not offered: exit 69 with a reason: %d %s" % (r.returncode, r.stderr))
        check(all(where(spool4, n) == "queue" for n in refused), "no AUTH: every entry stays in queue/")
    finally:
        server.kill()
        server.wait()

    # --- smtp-sink: a batch, 8BITMIME on and off ----------------------------------
    SMTP_SINK = postfix_tools.tool("smtp-sink")
    if SMTP_SINK:
        spool3 = os.path.join(tmp, "spool3")
        make_spool(spool3)
        names = [add_entry(spool3, "a@example.org", ["r%d@example.net" % i], msg(100 + i)) for i in range(50)]
        eight = add_entry(spool3, "a@example.org", ["x@example.net"], msg(200, "gr\u00fc\u00dfe\n".encode()))
        dump = os.path.join(tmp, "dump")
        os.makedirs(dump)
        os.chmod(dump, 0o777)
        sink, port = start_smtp_sink("-8", "-d", dump + "/%M.")
        try:
            r = run("--server", "127.0.0.1:%d" % port, "-j", "4", spool3)
            check(r.returncode == 0, "smtp-sink batch: exit 0 (%s)" % r.stderr)
            check(all(where(spool3, n) == "sent" for n in names + [eight]), "smtp-sink batch: all sent")
        finally:
            sink.kill()
            sink.wait()
        dumped = []
        for root, _, files in os.walk(dump):
            for f in files:
                dumped.append(open(os.path.join(root, f), "rb").read())
        check(len(dumped) == 51, "smtp-sink received 51 messages, got %d" % len(dumped))
        down = [d for d in dumped if b"Message-ID: <200@test>" in d]
        check(len(down) == 1 and all(c < 128 for c in down[0]) and b"Content-Transfer-Encoding: quoted-printable" in down[0],
              "without 8BITMIME the 8-bit message went out as 7-bit quoted-printable")
finally:
    shutil.rmtree(tmp)

print("spoolsend servers: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
