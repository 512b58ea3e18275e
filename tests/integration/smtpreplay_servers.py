#!/usr/bin/python3
"""smtpreplay: checking, converting, anonymising, and replaying transcripts
against smtpsink, Postfix's smtp-sink and aiosmtpd on 127.0.0.1.

Usage: smtpreplay_servers.py SMTPREPLAY SMTPSINK SPOOLSEND TRANSCRIPTS_DIR

- every sample in TRANSCRIPTS_DIR passes --check (exit 0);
- each defects/CODE/*.txt reports CODE (and nothing else but the codes it
  cannot avoid), exit 1 for an error, 0 for a warning;
- conversions round-trip (cs -> swaks -> cs, cs -> native -> cs), batch
  SMTP keeps the client's lines, and --anonymise output still passes --check
  and holds none of the original addresses;
- each sample replays against smtpsink --script with every reply's text
  the same, and against smtpsink configured by rules with every code the same;
- against smtp-sink and aiosmtpd the differences are exactly the expected
  ones (server behaviour that differs from the recorded servers');
- text with no SMTP command is refused (65); a swaks transcript's bare-LF
  "." is content, replayed byte for byte; a connection dropped on both
  sides is the same outcome;
- a closed port gives exit 69;
- a standard output that cannot be written (a full pipe) gives exit 74 and
  says so, whatever the mode;
- spoolsend --transcript output checks clean and replays against the same
  server without a difference.
"""
import base64
import glob
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
from testlib import check, stop

SMTPREPLAY, SMTPSINK, SPOOLSEND, TDIR = sys.argv[1:5]
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = sorted(glob.glob(os.path.join(TDIR, "*.txt")))          # sessions with both sides
BATCHES = sorted(glob.glob(os.path.join(TDIR, "*.bsmtp")))       # batch SMTP: the client's side only


def run(*args, **kw):
    return subprocess.run([SMTPREPLAY, *args], capture_output=True, text=True, timeout=120, **kw)


def parse_native(text):
    """(text, inside TLS) of each C line, as the native format marks them."""
    tls, out = False, []
    for l in text.splitlines():
        if l.startswith("= ") and l.split(" ", 2)[2].startswith("tls"):
            tls = True
        elif l.startswith("C "):
            out.append((l.split(" ", 2)[2], tls))
    return out


def mismatches(out):
    """(line, recorded code, live code) of each differing exchange in --json output."""
    got = []
    for l in out.splitlines():
        j = json.loads(l)
        if "match" in j and not j["match"]:
            got.append((j["line"], (j["recorded"] or {}).get("code"), (j["live"] or {}).get("code")))
    return got


def summary_agrees(out):
    """The --json summary counts what the step objects say: same is the
    steps compared and matched, mismatches the steps that did not match."""
    steps = [json.loads(l) for l in out.splitlines()]
    summary = steps.pop()
    same = sum(1 for j in steps if j["compared"] and j["match"])
    return (summary["same"], summary["mismatches"], summary["compared"]) == \
        (same, sum(1 for j in steps if not j["match"]), sum(1 for j in steps if j["compared"]))


tmp = tempfile.mkdtemp()
try:
    # --- checking ---------------------------------------------------------------
    r = run("--check", *SAMPLES, *BATCHES)
    check(r.returncode == 0 and len(SAMPLES) >= 6 and BATCHES, "every sample passes --check: %s" % r.stdout)
    for b in BATCHES:
        r = run("--convert", "native", b)
        check(r.returncode == 0 and r.stdout.count("\nC - ") == len(open(b).read().splitlines()),
              "%s: batch SMTP read as client lines only" % b)
    ALSO = {"smtp.body-unterminated": {"smtp.reply-missing"}}
    for path in sorted(glob.glob(os.path.join(TDIR, "defects", "*", "*.txt"))):
        code = os.path.basename(os.path.dirname(path))
        r = run("--check", "--json", path)
        found = [json.loads(l) for l in r.stdout.splitlines()]
        codes = {f["defect"] for f in found if "defect" in f}
        check(code in codes, "%s reports %s: %s" % (path, code, codes))
        check(codes <= {code} | ALSO.get(code, set()), "%s reports only %s: %s" % (path, code, codes))
        severity = {f["severity"] for f in found if f.get("defect") == code}
        check(r.returncode == (1 if "error" in severity else 0), "%s: exit %d for %s" % (path, r.returncode, severity))
        lines = [f["line"] for f in found if f.get("defect") == code]
        check(all(l > 1 for l in lines), "%s: the line is given: %s" % (path, lines))
    r = run("--explain", "smtp.pipelining")
    check(r.returncode == 0 and "RFC 2920" in r.stdout, "--explain prints the explanation")

    # --- converting and anonymising ------------------------------------------------
    for s in SAMPLES:
        original = run("--convert", "cs", s).stdout
        for fmt in ("swaks", "native"):
            conv = os.path.join(tmp, "conv." + fmt)
            r = run("--convert", fmt, "-o", conv, s)
            check(r.returncode == 0, "convert %s to %s" % (s, fmt))
            back = run("--convert", "cs", conv).stdout
            check(back == original, "%s: cs -> %s -> cs is the same" % (s, fmt))
            check(run("--check", conv).returncode == 0, "%s as %s passes --check" % (s, fmt))
        r = run("--convert", "bsmtp", s)
        client = [l[3:] if l.startswith("C: ") else l[2:] for l in original.splitlines() if l.startswith("C:")]
        client = [re.sub(r" SIZE=\d+", "", l) if l.startswith("MAIL FROM:") else l for l in client]   # batches drop SIZE=
        # What the server accepted, in order; every line left out has a note.
        it = iter(client)
        check(r.returncode == 0 and all(l in it for l in r.stdout.splitlines()),
              "%s: bsmtp keeps client lines, in order: %s" % (s, r.stderr))
        notes = [l for l in r.stderr.splitlines() if ": note: left out of the batch: " in l]
        check((len(r.stdout.splitlines()) == len(client)) == (not notes), "%s: a note for what is left out: %s" % (s, notes))
        bpath = os.path.join(tmp, "batch.bsmtp")
        open(bpath, "w").write(r.stdout)
        check(run("--check", bpath).returncode == 0, "%s as bsmtp passes --check" % s)
        anon = run("--anonymise", "--convert", "cs", s).stdout
        apath = os.path.join(tmp, "anon.txt")
        open(apath, "w").write(anon)
        r = run("--check", apath)
        check(r.returncode == 0, "%s anonymised passes --check: %s" % (s, r.stdout))
        text = open(s).read()
        for addr in set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)):
            check(addr not in anon, "%s: %s is gone after --anonymise" % (s, addr))
        check(len(anon.splitlines()) == len(original.splitlines()), "%s: --anonymise keeps every line" % s)

    # --- replay against smtpsink -----------------------------------------------------
    for s in SAMPLES:
        p, port = testlib.start_smtpsink(SMTPSINK, "--script", s)
        r = run("--server", "127.0.0.1:%d" % port, "--match", "text", s)
        _, err = stop(p)
        check(r.returncode == 0, "%s replays against smtpsink --script with the same text: %s" % (s, r.stdout))
        check("0 client lines differed" in err, "smtpsink --script saw the script's lines: %s" % err)
        # --no-data sends RSET where the script has DATA or BDAT: the script
        # answers it and passes over the message, and the rest plays as
        # recorded (never a 354 to RSET, never a command read as mail).
        p, port = testlib.start_smtpsink(SMTPSINK, "--script", s)
        r = run("--server", "127.0.0.1:%d" % port, "--match", "text", "--no-data", "--timeout", "10s", s)
        _, err = stop(p)
        check(r.returncode == 0, "%s replays with --no-data against smtpsink --script: %s" % (s, r.stdout))
    # What one tool reads as a transcript the other plays: a line that
    # belongs to no side is left out by both (a warning at its line), and
    # what smtpreplay refuses smtpsink refuses, exit 65.
    stray = os.path.join(tmp, "stray.txt")
    with open(SAMPLES[0]) as f:
        lines = f.read().splitlines(True)
    with open(stray, "w") as f:
        f.writelines(lines[:1] + ["a stray line\n"] + lines[1:])
    check(run("--check", stray).returncode == 1, "smtpreplay --check reports the stray line")
    p, port = testlib.start_smtpsink(SMTPSINK, "--script", stray)
    r = run("--server", "127.0.0.1:%d" % port, "--match", "text", stray)
    _, err = stop(p)
    check(r.returncode == 0, "a transcript with a stray line plays against smtpsink --script: %s" % r.stdout)
    check("%s:2:1: warning: line belongs to no side" % stray in err, "smtpsink says the stray line: %s" % err)
    prose = os.path.join(tmp, "no-transcript.txt")
    with open(prose, "w") as f:
        f.write("Dear reader,\nthis is no transcript.\n")
    for bad in (prose, os.devnull):
        r = subprocess.run([SMTPSINK, "--listen", "127.0.0.1:0", "--script", bad], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 65 and "not a transcript" in r.stderr and run("--check", bad).returncode == 65,
              "%s: refused by smtpsink --script and smtpreplay, exit 65: %d %s" % (bad, r.returncode, r.stderr))
    # The project's server configured like the recorded ones, compared by code.
    rules = os.path.join(tmp, "rules")
    with open(rules, "w") as f:
        f.write("rcpt /^rich$/ 250 rich... Recipient ok\n"
                "vrfy /^rich$/ 250 <rich@shadrach.smallorg.org>\n"
                "vrfy /^jessica$/ 550 jessica... User unknown\n")
    spool = os.path.join(tmp, "in")
    p, port = testlib.start_smtpsink(SMTPSINK, "--rules", rules, "--auth", "vasia:secret", spool)
    for s in SAMPLES:
        r = run("--server", "127.0.0.1:%d" % port, s)
        check(r.returncode == 0, "%s replays against smtpsink with rules, same codes: %s" % (s, r.stdout))
    stop(p)

    # --- against Postfix's smtp-sink and aiosmtpd: the expected differences -----------------
    expected = {
        "smtp-sink": {
            "auth-login.txt": [(14, 334, 250), (16, 334, None), (18, 235, None)],
            "sendmail-ehlo-help.txt": [(13, 214, 500), (25, 214, 500)],
            "sendmail-multipart.txt": [],
            "sendmail-vrfy.txt": [(6, 252, 250), (8, 550, 250)],
        },
        "aiosmtpd": {
            "auth-login.txt": [(14, 334, 538), (16, 334, None), (18, 235, None)],
            "sendmail-ehlo-help.txt": [(13, 214, 501), (25, 214, 501)],
            "sendmail-multipart.txt": [],
            "sendmail-vrfy.txt": [(4, 250, 252), (8, 550, 252)],
        },
    }
    servers = []
    smtp_sink = postfix_tools.tool("smtp-sink")
    sink = None
    if smtp_sink:
        sink_port = testlib.free_port()
        as_nobody = ["-u", "nobody"] if os.geteuid() == 0 else []   # smtp-sink will not run as root
        sink = subprocess.Popen([smtp_sink, *as_nobody, "127.0.0.1:%d" % sink_port, "100"],
                                stderr=subprocess.DEVNULL, env=postfix_tools.env())
        servers.append(("smtp-sink", sink_port))
    aio = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "aiosmtpd_server.py")], stdout=subprocess.PIPE, text=True)
    aio_port = int(re.match(r"listening on 127\.0\.0\.1:(\d+)", aio.stdout.readline()).group(1))
    servers.append(("aiosmtpd", aio_port))
    for _ in range(100 if sink else 0):
        try:
            socket.create_connection(("127.0.0.1", sink_port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        for server, port in servers:
            for s in SAMPLES:
                name = os.path.basename(s)
                if name not in expected[server]:
                    continue
                r = run("--server", "127.0.0.1:%d" % port, "--json", s)
                got = mismatches(r.stdout)
                want = expected[server][name]
                check(got == want, "%s against %s: differences %s, expected %s" % (name, server, got, want))
                check(r.returncode == (1 if want else 0), "%s against %s: exit %d" % (name, server, r.returncode))
                check(summary_agrees(r.stdout), "%s against %s: the summary counts the steps: %s" %
                      (name, server, r.stdout[-300:]))
    finally:
        for p in (sink, aio):
            if p:
                p.kill()
                p.wait()

    # --- text with no SMTP in it, a bare LF in a swaks transcript, a drop on both sides ---
    prose = os.path.join(tmp, "prose.txt")
    with open(prose, "w") as f:
        f.write("\n* Trying 127.0.0.1:25...\n> EHLO vm\n< 250 ok\nthis is no transcript\n")
    p, port = testlib.start_smtpsink(SMTPSINK, os.path.join(tmp, "in-prose"))
    try:
        for mode in (("--check",), ("--server", "127.0.0.1:%d" % port)):
            r = run(*mode, prose)
            check(r.returncode == 65 and "prose.txt:2:1: error: not a transcript: no SMTP command" in r.stdout,
                  "%s: text with no SMTP command is refused at its first line: %d %s" % (mode[0], r.returncode, r.stdout))
    finally:
        stop(p)
    # swaks prints message lines raw: CRLF ones with their CR, bare-LF ones
    # without. A "." after a bare LF is content: the replay sends one message,
    # byte for byte, and no smuggled command.
    smuggle = os.path.join(tmp, "smuggle.txt")
    with open(smuggle, "wb") as f:
        f.write(b"<-  220 x ESMTP\n -> EHLO a.example\n<-  250 x\n -> MAIL FROM:<a@example.org>\n<-  250 ok\n"
                b" -> RCPT TO:<b@example.net>\n<-  250 ok\n -> DATA\n<-  354 go\n"
                b" -> Subject: smuggle\r\n -> \r\n -> hello\n -> .\n -> MAIL FROM:<evil@example.org>\r\n"
                b" -> RCPT TO:<victim@example.net>\r\n -> DATA\r\n -> x\r\n -> .\n<-  250 queued\n"
                b" -> QUIT\n<-  221 bye\n")
    r = run("--check", "--json", smuggle)
    codes = [json.loads(l)["defect"] for l in r.stdout.splitlines() if "defect" in json.loads(l)]
    check(codes == ["line.bare-lf", "line.bare-lf"], "the bare LFs are reported, nothing else: %s" % codes)
    r = run("--convert", "native", smuggle)
    check(r.returncode == 65 and "smuggle.txt:12: nothing written" in r.stderr, "no native form for a bare LF: %s" % r.stderr)
    spool = os.path.join(tmp, "in-smuggle")
    p, port = testlib.start_smtpsink(SMTPSINK, spool)
    try:
        r = run("--server", "127.0.0.1:%d" % port, smuggle)
        check(r.returncode == 0 and "evil" not in r.stdout, "the smuggling session replays the same: %s" % r.stdout)
    finally:
        stop(p)
    stored = [open(f, "rb").read() for f in glob.glob(os.path.join(spool, "queue", "*"))]
    check(len(stored) == 1 and stored[0].endswith(b"\n\nSubject: smuggle\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\n"
                                                  b"RCPT TO:<victim@example.net>\r\nDATA\r\nx\r\n"),
          "one message, its bare LFs as recorded: %s" % stored)
    # The recorded server dropped the connection in the middle of the
    # message, and so does the live one: the same outcome.
    drop = os.path.join(tmp, "drop.txt")
    with open(drop, "w") as f:
        f.write("<-  220 x ESMTP\n -> EHLO a.example\n<-  250 x\n -> MAIL FROM:<a@example.org>\n<-  250 ok\n"
                " -> RCPT TO:<drop@example.net>\n<-  250 ok\n -> DATA\n<-  354 go\n -> Subject: x\n -> \n -> .\n"
                "*** Remote host closed connection unexpectedly.\n")
    rules = os.path.join(tmp, "drop-rules")
    with open(rules, "w") as f:
        f.write("data /^drop@/ drop\n")
    p, port = testlib.start_smtpsink(SMTPSINK, "--rules", rules, os.path.join(tmp, "in-drop"))
    try:
        r = run("--server", "127.0.0.1:%d" % port, "--json", drop)
        check(r.returncode == 0 and mismatches(r.stdout) == [] and summary_agrees(r.stdout),
              "no reply on both sides is the same: %d %s" % (r.returncode, r.stdout[-400:]))
        bsmtp = os.path.join(tmp, "drop.bsmtp")
        with open(bsmtp, "w") as f:
            f.write("EHLO a.example\nMAIL FROM:<a@example.org>\nRCPT TO:<drop@example.net>\nDATA\nSubject: x\n\n.\nQUIT\n")
        r = run("--server", "127.0.0.1:%d" % port, bsmtp)
        check(r.returncode == 1, "a batch records no drop: a drop is a difference: %s" % r.stdout)
    finally:
        stop(p)

    r = run("--server", "127.0.0.1:%d" % testlib.free_port(), "--timeout", "5", SAMPLES[0])
    check(r.returncode == 69, "a closed port: exit 69, got %d" % r.returncode)

    # --- standard output that cannot be written: 74, said, in every mode ----------------
    p, port = testlib.start_smtpsink(SMTPSINK, "--script", SAMPLES[0])
    defective = sorted(glob.glob(os.path.join(TDIR, "defects", "*", "*.txt")))[0]   # --check prints its error
    modes = [("--convert", "cs", SAMPLES[0]), ("--convert", "bsmtp", SAMPLES[0]), ("--anonymise", SAMPLES[0]),
             ("--check", defective), ("--check", "--json", SAMPLES[0]),
             ("--server", "127.0.0.1:%d" % port, "--match", "text", SAMPLES[0])]
    try:
        for mode in modes:
            r_end, w_end = testlib.full_pipe()
            try:
                r = subprocess.run([SMTPREPLAY, *mode], stdout=w_end, stderr=subprocess.PIPE, text=True,
                                   timeout=120)
            finally:
                os.close(w_end)
                os.close(r_end)
            check(r.returncode == 74 and "smtpreplay: cannot write to standard output" in r.stderr,
                  "%s to a full standard output: exit 74, said: %d %s" % (" ".join(mode), r.returncode, r.stderr))
    finally:
        stop(p)

    # --- spoolsend --transcript, checked and replayed ------------------------------------
    out = os.path.join(tmp, "out")
    for d in ("tmp", "queue", "deferred", "sent", "failed"):
        os.makedirs(os.path.join(out, d))
    for i in range(3):
        with open(os.path.join(out, "queue", "20260101T000000.%06dZ.1.%06d.t" % (i, i)), "wb") as f:
            f.write(b"MAIL FROM:<a@example.org>\nRCPT TO:<r%d@example.net>\nRCPT TO:<s%d@example.net>\n\n" % (i, i))
            f.write(b"Subject: %d\n\n.dot line\nbody\n" % i)
    tdir = os.path.join(tmp, "transcripts")
    p, port = testlib.start_smtpsink(SMTPSINK, os.path.join(tmp, "in2"))
    try:
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--transcript", tdir, out],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "spoolsend --transcript: %s" % r.stderr)
        recorded = sorted(glob.glob(os.path.join(tdir, "*")))
        check(len(recorded) == 1, "one session, one transcript: %s" % recorded)
        for t in recorded:
            head = open(t).readline()
            check(head.startswith("# msgtools transcript 1"), "the native format's first line")
            r = run("--check", t)
            check(r.returncode == 0, "spoolsend's transcript passes --check: %s" % r.stdout)
            r = run("--server", "127.0.0.1:%d" % port, "--match", "code", "--json", t)
            check(r.returncode == 0 and mismatches(r.stdout) == [],
                  "spoolsend's transcript replays without a difference: %s" % mismatches(r.stdout))
            check(json.loads(r.stdout.splitlines()[-1])["compared"] >= 12, "every exchange compared")
    finally:
        stop(p)

    # With STARTTLS and AUTH: the password is not in the transcript, which
    # still checks clean.
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-days", "1", "-keyout", key, "-out", cert], check=True, capture_output=True)
    for f in os.listdir(os.path.join(out, "sent")):
        os.rename(os.path.join(out, "sent", f), os.path.join(out, "queue", f))
    tdir2 = os.path.join(tmp, "transcripts2")
    p, port = testlib.start_smtpsink(SMTPSINK, "--tls-cert", cert, "--tls-key", key, "--auth", "test:s3cret-pass", os.path.join(tmp, "in3"))
    try:
        r = subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % port, "--tls", "starttls", "--tls-verify", "no",
                            "--auth-user", "test", "--transcript", tdir2, out], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, SPOOLSEND_PASSWORD="s3cret-pass"))
        check(r.returncode == 0, "spoolsend over TLS with AUTH: %s" % r.stderr)
        for t in glob.glob(os.path.join(tdir2, "*")):
            text = open(t).read()
            check("s3cret" not in text and base64.b64encode(b"\0test\0s3cret-pass").decode() not in text,
                  "no password in the transcript")
            check(re.search(r"^= \S+ tls TLS", text, re.M) is not None, "the TLS event is recorded")
            r = run("--check", t)
            check(r.returncode == 0, "the TLS and AUTH transcript passes --check: %s" % r.stdout)
            lines = parse_native(text)
            check(any(tls and l.startswith("MAIL FROM") for l, tls in lines), "MAIL is marked inside TLS")
    finally:
        stop(p)
finally:
    shutil.rmtree(tmp)

print("smtpreplay servers: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
