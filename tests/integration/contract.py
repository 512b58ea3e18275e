#!/usr/bin/python3
"""Contracts between the tools, each seam crossed by the real programs.

Usage: contract.py BINDIR TESTDATA

- spoolsend -> smtpsink: every transcript spoolsend writes (ASCII and UTF-8
  senders in either order, UTF-8 only in the header, 8-bit bodies, refused
  and deferred recipients; plain and over STARTTLS with AUTH) passes
  `smtpreplay --check` with no error, and the plain ones replay against the
  server they were recorded on with no difference;
- spoolsend asks for SMTPUTF8 and BODY=8BITMIME exactly when `msgcheck
  --spool` says the entry needs them (entries written by another program,
  without any parameter);
- spoolsend -> spoolctl: a failed entry's report (failed/NAME.json and
  .report) names the entry spoolctl lists, and a partial failure's names
  the original it was split from;
- whatever smtpsink stores, from spoolsend, Python's smtplib or Postfix's
  smtp-source, passes `msgcheck --spool` with no envelope defect;
- what mbox2spool writes from every archive in testdata/mbox passes
  `msgcheck --spool` with no envelope defect;
- a resent message's newest block is the same for both tools: the block
  msgcheck checks (whole, or missing its Resent-From) is the one mbox2spool
  takes the sender and the recipients from.
"""
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile

import testlib
from testlib import check, stop

import postfix_tools

BIN, TESTDATA = sys.argv[1], sys.argv[2]
tool = {n: os.path.join(BIN, n) for n in ("spoolsend", "smtpsink", "smtpreplay", "msgcheck", "mbox2spool", "spoolctl")}


def run(name, *args, **kw):
    return subprocess.run([tool[name], *args], capture_output=True, timeout=120, **kw)


def make_spool(path):
    for d in ("tmp", "queue", "deferred", "sent", "failed"):
        os.makedirs(os.path.join(path, d), exist_ok=True)


def write_entry(spool, name, sender, rcpts, message):
    """An entry as another program writes it by docs/spool-format.md: no
    ESMTP parameter at all, whatever the message holds."""
    env = "MAIL FROM:<%s>\n" % sender + "".join("RCPT TO:<%s>\n" % r for r in rcpts) + "\n"
    tmp = os.path.join(spool, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(env.encode() + message)
    os.rename(tmp, os.path.join(spool, "queue", name))


def envelope_codes(path):
    """The envelope.* codes msgcheck --spool reports for an entry or a directory of entries."""
    r = run("msgcheck", "--spool", "--json", path)
    codes = []
    for line in r.stdout.decode().splitlines():
        d = json.loads(line)
        if d.get("defect", "").startswith("envelope."):
            codes.append((d.get("source"), d["defect"], d.get("text")))
    return codes


def mail_line_of(transcript_dir, subject):
    """The MAIL line of the transaction whose message has this Subject, from
    native transcripts (the last MAIL before the message's lines); None when
    the message was not sent."""
    for f in sorted(os.listdir(transcript_dir)):
        mail = None
        for l in open(os.path.join(transcript_dir, f), "rb").read().decode("utf-8", "replace").splitlines():
            m = re.match(r"^C \S+ (.*)$", l)
            if not m:
                continue
            if m.group(1).upper().startswith("MAIL FROM:"):
                mail = m.group(1)
            elif m.group(1) == "Subject: " + subject:
                return mail
    return None


MESSAGES = {
    # name: (sender, recipients, message)
    "1-ascii": ("alice@example.org", ["bob@example.net"],
                # a form feed near the start of the transcript: text, not binary, to smtpreplay
                b"From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: plain\n\nhello\n\fpage two\n"),
    "2-utf8-sender": ("j\u00fcrgen@example.org", ["bob@example.net"],
                      "From: J\u00fcrgen <j\u00fcrgen@example.org>\nTo: bob@example.net\nSubject: utf8 sender\n\nhi\n".encode()),
    "3-utf8-header": ("j@example.org", ["bob@example.net"],
                      "From: J\u00fcrgen <j@example.org>\nTo: bob@example.net\nSubject: caf\u00e9\n\nplain body\n".encode()),
    "4-8bit-body": ("alice@example.org", ["bob@example.net"],
                    "From: alice@example.org\nTo: bob@example.net\nSubject: body\n\nGr\u00fc\u00dfe\n".encode()),
    "5-refused": ("alice@example.org", ["rej@example.net", "bob@example.net"],
                  b"From: alice@example.org\nTo: rej@example.net\nSubject: refused\n\nx\n"),
    "6-deferred": ("alice@example.org", ["def@example.net"],
                   b"From: alice@example.org\nTo: def@example.net\nSubject: deferred\n\nx\n"),
    "7-utf8-again": ("\u00e9lise@example.org", ["bob@example.net"],
                     "From: \u00e9lise@example.org\nTo: bob@example.net\nSubject: second utf8\n\n\u00e9\n".encode()),
    "8-ascii-after": ("alice@example.org", ["bob@example.net"],
                      b"From: alice@example.org\nTo: bob@example.net\nSubject: ascii after utf8\n\nx\n"),
}


def fill(spool):
    make_spool(spool)
    for i, (_, (sender, rcpts, message)) in enumerate(sorted(MESSAGES.items())):
        write_entry(spool, "20261123T0000%02d.000000Z.1.%06d.contract" % (i, i), sender, rcpts, message)


RESENT_DATE = "Mon, 23 Nov 2026 09:15:00 +0100"
# Subject: (the resent fields and trace fields above the first sending's,
#           those below them, the derived MAIL FROM and RCPT TOs (None: not
#           enqueued), msgcheck's missing resent fields)
RESENT = {
    # Postfix appends a missing Resent-Date and Resent-Message-ID to the header
    "appended": ("Received: by mx.example.net; %s\nResent-From: fwd@example.org\nResent-To: new@example.net\n"
                 "Received: by mx.example.org; %s\n" % (RESENT_DATE, RESENT_DATE),
                 "Resent-Date: %s\nResent-Message-Id: <r1@example.org>\n" % RESENT_DATE,
                 "fwd@example.org", ["new@example.net"], []),
    # another field between two resendings: the newer block has no recipient,
    # never the older one's (held, not sent)
    "between": ("Resent-From: carol@example.org\nResent-Date: %s\nX-Mailer: m\nResent-To: dave@example.net\n"
                "Resent-From: bob@example.org\nResent-Date: %s\n" % (RESENT_DATE, RESENT_DATE), "",
                None, None, []),
    # two blocks with nothing between them: the second Resent-Date begins the older
    "back to back": ("Resent-Date: %s\nResent-From: carol@example.org\nResent-Cc: dave@example.net\n"
                     "Resent-Date: %s\nResent-From: bob@example.org\nResent-To: carol@example.org\n"
                     % (RESENT_DATE, RESENT_DATE), "", "carol@example.org", ["dave@example.net"], []),
    # the newest block has no Resent-From: From is the sender, never the older block's
    "no resender": ("Received: by mx.example.net; %s\nResent-Date: %s\nResent-To: erin@example.net\n"
                    "Received: by mx.example.org; %s\nResent-Date: %s\nResent-From: bob@example.org\n"
                    "Resent-To: carol@example.org\n" % ((RESENT_DATE,) * 4), "",
                    "alice@example.org", ["erin@example.net"], ["Resent-From"]),
    # a name that only begins with Resent- is no resending
    "not resent": ("Resent-Comments: by hand\n", "", "alice@example.org", ["bob@example.org"], []),
}


def resent_contract(tmp):
    archive = os.path.join(tmp, "resent.mbox")
    with open(archive, "w") as f:
        for subject, (above, below, _, _, _) in RESENT.items():
            f.write("From - Mon Nov 23 09:15:00 2026\n" + above + "From: alice@example.org\nTo: bob@example.org\n"
                    "Date: %s\nMessage-ID: <%s@example.org>\nSubject: %s\n%s\nbody\n\n"
                    % (RESENT_DATE, subject.replace(" ", "."), subject, below))
    # msgcheck: the missing resent fields of each message (by index: the archive's order)
    r = run("msgcheck", "--mbox", "--json", archive)
    missing = {i: [] for i in range(len(RESENT))}
    for line in r.stdout.decode().splitlines():
        d = json.loads(line)
        if d.get("defect") == "field.missing":
            missing[d["index"]].append(re.search(r"\((.*)\)", d["text"]).group(1))
        elif d.get("severity") == "error":
            check(False, "msgcheck: no other error in the resent messages: %s" % line)
    # mbox2spool: each entry's envelope, by subject
    spool = os.path.join(tmp, "resent")
    r = run("mbox2spool", "-q", archive, spool)
    held = [s for s, v in RESENT.items() if v[2] is None]
    check(r.stderr.decode().count("no recipient in Resent-To/Cc/Bcc") == len(held),
          "mbox2spool says why it holds %s: %s" % (held, r.stderr))
    envelopes = {}
    for name in os.listdir(os.path.join(spool, "queue")):
        text = open(os.path.join(spool, "queue", name), "rb").read().decode()
        env, message = text.split("\n\n", 1)
        subject = re.search(r"^Subject: (.*)$", message, re.M).group(1)
        envelopes[subject] = (re.search(r"^MAIL FROM:<([^>]*)>", env, re.M).group(1),
                              re.findall(r"^RCPT TO:<([^>]*)>", env, re.M))
    for i, (subject, (_, _, sender, rcpts, absent)) in enumerate(RESENT.items()):
        check(missing[i] == absent, "msgcheck on %r: missing %s, not %s" % (subject, absent, missing[i]))
        check(envelopes.get(subject) == (None if sender is None else (sender, rcpts)),
              "mbox2spool on %r: %s %s, not %s" % (subject, sender, rcpts, envelopes.get(subject)))


def main():
    tmp = tempfile.mkdtemp(prefix="msgtools-contract-")
    try:
        rules = os.path.join(tmp, "rules")
        with open(rules, "w") as f:
            f.write("rcpt /^rej@/ 550 5.1.1 no such user\nrcpt /^def@/ 451 4.2.0 mailbox busy\n")

        # --- what each entry needs, by msgcheck ------------------------------------------
        probe = os.path.join(tmp, "probe")
        fill(probe)
        needs = {}
        for name in os.listdir(os.path.join(probe, "queue")):
            codes = {c for _, c, _ in envelope_codes(os.path.join(probe, "queue", name))}
            body = open(os.path.join(probe, "queue", name), "rb").read().split(b"\n\n", 1)[1]
            needs[body] = ("envelope.smtputf8-needed" in codes, "envelope.8bitmime-needed" in codes)
        check(sum(1 for u, _ in needs.values() if u) == 3, "msgcheck: three entries need SMTPUTF8: %s" % needs)
        check(sum(1 for _, e in needs.values() if e) == 2, "msgcheck: two entries need BODY=8BITMIME: %s" % needs)

        # --- spoolsend -> smtpsink, plain ------------------------------------------------
        spool, inbox, log = (os.path.join(tmp, d) for d in ("out", "in", "log"))
        fill(spool)
        os.makedirs(log)
        sink, port = testlib.start_smtpsink(tool["smtpsink"], "--rules", rules, inbox)
        try:
            r = run("spoolsend", "--server", "127.0.0.1:%d" % port, "--transcript", log, spool)
            check(r.returncode == 1, "spoolsend: exit 1 (a refusal, a deferral): %d %s" % (r.returncode, r.stderr))
            transcripts = sorted(os.path.join(log, f) for f in os.listdir(log))
            check(len(transcripts) == 1, "one session, one transcript: %s" % transcripts)
            r = run("smtpreplay", "--check", *transcripts)
            check(r.returncode == 0 and b"0 errors" in r.stderr,
                  "spoolsend's transcripts check clean: %s%s" % (r.stdout.decode(), r.stderr.decode()))
            for t in transcripts:
                r = run("smtpreplay", "--server", "127.0.0.1:%d" % port, "--diff", t)
                check(r.returncode == 0 and b" 0 different" in r.stdout + r.stderr,
                      "replay against the same server: no difference: %s%s" % (r.stdout.decode(), r.stderr.decode()))
            # spoolsend asks for exactly what msgcheck says the entry needs.
            found = 0
            for message, (u, e) in needs.items():
                subject = re.search(rb"^Subject: (.*)$", message, re.M).group(1).decode()
                mail = mail_line_of(log, subject)
                if mail is None:
                    check(subject == "deferred", "message %r is in the transcript" % subject)
                    continue
                found += 1
                words = mail.upper().split()
                check(("SMTPUTF8" in words) == u, "SMTPUTF8 exactly when needed: %r (needed: %s)" % (mail, u))
                check(("BODY=8BITMIME" in words) == e, "BODY=8BITMIME exactly when needed: %r (needed: %s)" % (mail, e))
            check(found == len(needs) - 1, "every message sent was found in the transcript (%d)" % found)
        finally:
            stop(sink)
        check(envelope_codes(os.path.join(inbox, "queue")) == [], "what smtpsink stored from spoolsend checks clean: %s"
              % envelope_codes(os.path.join(inbox, "queue")))
        # A failed entry's report, as spoolsend writes it, names the entry
        # spoolctl lists beside it; a partial failure's names the original,
        # which went on to sent/.
        r = run("spoolctl", "list", "--json", "--state", "failed", spool)
        listed = [json.loads(l)["entry"] for l in r.stdout.decode().splitlines()]
        check(r.returncode == 0 and len(listed) == 1, "spoolctl lists spoolsend's failed entry: %s %s" % (listed, r.stderr))
        for name in listed:
            report = json.load(open(os.path.join(spool, "failed", name + ".json")))
            check(report["entry"] == name, "failed/%s.json names its own entry: %s" % (name, report))
            check(report.get("failed_from") in os.listdir(os.path.join(spool, "sent")),
                  "failed/%s.json names the original, in sent/: %s" % (name, report))
            text = open(os.path.join(spool, "failed", name + ".report")).read()
            check(text.startswith("Entry: %s\nFailed-From: %s\n" % (name, report.get("failed_from"))),
                  "failed/%s.report says the same: %r" % (name, text[:200]))

        # --- spoolsend -> smtpsink over STARTTLS with AUTH ------------------------------------
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        spool2, inbox2, log2 = (os.path.join(tmp, d) for d in ("out2", "in2", "log2"))
        fill(spool2)
        os.makedirs(log2)
        sink, port = testlib.start_smtpsink(tool["smtpsink"], "--rules", rules, "--tls-cert", cert, "--tls-key", key, "--auth", "test:secret", inbox2)
        try:
            r = run("spoolsend", "--server", "127.0.0.1:%d" % port, "--tls", "starttls", "--ca-file", cert,
                    "--auth-user", "test", "--transcript", log2, spool2, env=dict(os.environ, SPOOLSEND_PASSWORD="secret"))
            check(r.returncode == 1, "spoolsend over TLS: exit 1: %d %s" % (r.returncode, r.stderr))
            transcripts = sorted(os.path.join(log2, f) for f in os.listdir(log2))
            r = run("smtpreplay", "--check", *transcripts)
            check(r.returncode == 0 and b"0 errors" in r.stderr,
                  "TLS and AUTH transcripts check clean: %s%s" % (r.stdout.decode(), r.stderr.decode()))
            text = open(transcripts[0], "rb").read()
            check(b"secret" not in text and b"dGVzdABzZWNyZXQ" not in text, "the password is not in the transcript")
        finally:
            stop(sink)
        check(envelope_codes(os.path.join(inbox2, "queue")) == [], "what smtpsink stored over TLS checks clean")

        # --- smtplib and smtp-source -> smtpsink --------------------------------------------
        inbox3 = os.path.join(tmp, "in3")
        sink, port = testlib.start_smtpsink(tool["smtpsink"], inbox3)
        try:
            with smtplib.SMTP("127.0.0.1", port) as s:
                # 8-bit body and header, without BODY=8BITMIME or SMTPUTF8: many clients do so
                s.sendmail("a@example.org", ["b@example.net"],
                           "From: J\u00fcrgen <a@example.org>\r\nSubject: x\r\n\r\nGr\u00fc\u00dfe\r\n".encode())
                # SMTPUTF8 as Python asks for it
                s.sendmail("\u00e9lise@example.org", ["b@example.net"],
                           "From: \u00e9lise@example.org\r\nSubject: y\r\n\r\nplain\r\n".encode(), mail_options=["SMTPUTF8"])
                s.sendmail("a@example.org", ["b@example.net"], b"Subject: z\r\n\r\nascii\r\n")
            smtp_source = postfix_tools.tool("smtp-source")
            if smtp_source:
                src = subprocess.run([smtp_source, "-s", "2", "-m", "10", "-l", "1000",
                                      "127.0.0.1:%d" % port], capture_output=True, timeout=60, env=postfix_tools.env())
                check(src.returncode == 0, "smtp-source ran: %s" % src.stderr)
        finally:
            stop(sink)
        stored = os.listdir(os.path.join(inbox3, "queue"))
        check(len(stored) >= 3, "smtpsink stored the smtplib messages: %d" % len(stored))
        check(envelope_codes(os.path.join(inbox3, "queue")) == [],
              "what smtpsink stored from smtplib and smtp-source checks clean: %s" % envelope_codes(os.path.join(inbox3, "queue")))

        # --- a resent message's newest block: msgcheck's and mbox2spool's -----------------------
        resent_contract(tmp)

        # --- mbox2spool -> msgcheck --spool ------------------------------------------------------
        archives = []
        for root, _, files in os.walk(os.path.join(TESTDATA, "mbox")):
            archives += [os.path.join(root, f) for f in files if f.endswith((".mbox", ".mbox.gz"))]
        check(len(archives) >= 5, "archives found: %d" % len(archives))
        spool4 = os.path.join(tmp, "fromarchives")
        run("mbox2spool", "-q", *sorted(archives), spool4)
        entries = os.listdir(os.path.join(spool4, "queue"))
        check(len(entries) > 20, "mbox2spool made entries: %d" % len(entries))
        codes = envelope_codes(os.path.join(spool4, "queue"))
        check(codes == [], "what mbox2spool writes checks clean: %s" % codes[:5])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if testlib.failures:
        print("%d failures" % testlib.failures)
        sys.exit(1)
    print("all contracts hold")


main()
