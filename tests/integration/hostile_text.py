#!/usr/bin/python3
"""Hostile text in every human-readable and machine-readable output of the
offline tools: headers, attachment names, content types, charsets, spool
entries and transcripts that carry terminal escapes, bare CRs, C1
controls, bidirectional overrides and isolates, U+2028/U+2029, line feeds
decoded out of RFC 2047 and RFC 2231, and file names with line feeds.

What is shown to a person (stdout and stderr of msgshow, msgcheck,
msgrewrite, spoolctl, smtpreplay) holds none of them raw, and a line
stays one line: no text from an input forges a line of its own. JSON
Lines stay one valid object per line, with the same characters escaped.
Names msgshow --extract-all gives files hold none of them either.

Usage: hostile_text.py BINDIR
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import testlib
from testlib import check

BIN = sys.argv[1]

# What must never reach a terminal raw: C0 but tab and line feed, DEL, C1
# in UTF-8, bidirectional embeddings, overrides and isolates, U+2028, U+2029.
UNSAFE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]")
RLO, LRI, PDI, LS, PS = "\u202e", "\u2066", "\u2069", "\u2028", "\u2029"
HOSTILE = "a\x1b]0;owned\x07\x1b[2J\rb\bc\x7fd\u009be" + RLO + "fdp.exe " + LRI + "x" + PDI + LS + "f" + PS


def ew(text):
    """An RFC 2047 encoded word of `text` in UTF-8."""
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def run(tool, *args):
    return subprocess.run([os.path.join(BIN, tool), *args], capture_output=True, timeout=60)


def safe(blob, what):
    m = UNSAFE.search(blob)
    return check(m is None, "%s: raw %r: %r" % (what, m and m.group(0), m and blob[max(0, m.start() - 80):m.end() + 80]))


def lines_start(blob, prefixes, what):
    """Every line of `blob` starts with one of `prefixes`: nothing forged."""
    for line in blob.split(b"\n"):
        if line and not line.startswith(prefixes):
            check(False, "%s: a line of its own: %r in %r" % (what, line, blob[:600]))
            return


def json_lines(blob, n, what):
    """`blob` is `n` JSON objects, one a line, with nothing raw in them."""
    got = blob.decode("utf-8").split("\n")
    check(got[-1] == "" and len(got) - 1 == n, "%s: %d lines, expected %d: %r" % (what, len(got) - 1, n, blob[:600]))
    for line in got[:-1]:
        try:
            json.loads(line)
        except ValueError as e:
            check(False, "%s: not JSON (%s): %r" % (what, e, line[:300]))
    safe(blob, what + " (JSON)")


def message(tmp):
    """A message whose header and parts carry the hostile text everywhere
    a reader shows it; the line feeds are decoded out of RFC 2047 and RFC 2231."""
    text = ("From: a@example.org\nTo: b@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
            "Message-ID: <m@example.org>\nSubject: " + ew(HOSTILE) + " " + ew("x\nForged: yes\r\nY") + "\n"
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
            "--XX\nContent-Type: text/plain\n\nhello\n"
            "--XX\nContent-Type: application/octet-stream\n"
            "Content-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe\n"
            "Content-Transfer-Encoding: base64\n\naGVsbG8K\n"
            "--XX\nContent-Type: application/octet-stream\n"
            "Content-Disposition: attachment; filename*=utf-8''a%0Aforged%1B%5B2J%C2%9B%E2%81%A6b%E2%80%A8.txt\n\nzz\n"
            "--XX\nContent-Type: text/plain; charset=\"utf\x1b[2J" + RLO + "8\"\n\nzz\n"
            "--XX\nContent-Type: te\u009bxt/pl" + RLO + "ain\n\nzz\n"
            "--XX--\n")
    path = os.path.join(tmp, "hostile.eml")
    with open(path, "wb") as f:
        f.write(text.encode())
    return path


def main():
    tmp = tempfile.mkdtemp(prefix="msgtools-hostile-")
    try:
        eml = message(tmp)
        # A file name with a line feed, an escape and an override, given
        # on the command line.
        named = os.path.join(tmp, "n\nmsgshow: forged\x1b[2J" + RLO + ".eml")
        shutil.copy(eml, named)
        missing = os.path.join(tmp, "gone\nmsgcheck: forged\x1b[2J" + RLO)

        # --- msgshow -----------------------------------------------------------
        for args in (["--headers", eml], ["--headers", named], [eml, named]):
            r = run("msgshow", *args)
            safe(r.stdout, "msgshow %s stdout" % args[0])
            safe(r.stderr, "msgshow %s stderr" % args[0])
            lines_start(r.stdout, (b"  ", tmp.encode()), "msgshow %s stdout" % args[0])
            lines_start(r.stderr, (tmp.encode(),), "msgshow %s stderr" % args[0])
        r = run("msgshow", "--headers", eml)
        check(b"invoice\\xe2\\x80\\xaefdp.exe" in r.stdout, "msgshow: the override in a file name escaped: %r" % r.stdout)
        check(b"\\x0aForged: yes\\x0d\\x0aY" in r.stdout, "msgshow: a decoded line feed escaped: %r" % r.stdout)
        r = run("msgshow", "--json", eml, named)
        json_lines(r.stdout, 2, "msgshow --json")
        check(b"\\u202e" in r.stdout and b"\\u2028" in r.stdout and b"\\u009b" in r.stdout,
              "msgshow --json: overrides, separators and C1 as \\u escapes: %r" % r.stdout[:400])
        safe(r.stderr, "msgshow --json stderr")
        r = run("msgshow", "--stats", eml)
        safe(r.stdout, "msgshow --stats")
        check(b"te\\xc2\\x9bxt/pl\\xe2\\x80\\xaeain" in r.stdout, "msgshow --stats: the type escaped: %r" % r.stdout)
        out = os.path.join(tmp, "parts")
        os.mkdir(out)
        r = run("msgshow", "--extract-all", out, eml)
        check(r.returncode == 0, "msgshow --extract-all: exit %d: %r" % (r.returncode, r.stderr))
        files = sorted(os.listdir(out))
        check(len(files) == 2, "msgshow --extract-all: two files: %r" % files)
        for name in files:
            safe(name.encode(), "msgshow --extract-all file name")
        check("invoice_fdp.exe" in files, "msgshow --extract-all: the override made '_': %r" % files)
        safe(r.stdout, "msgshow --extract-all stdout")
        r = run("msgshow", "--extract", "9", named)
        safe(r.stderr, "msgshow --extract stderr")
        lines_start(r.stderr, (b"msgshow: ", tmp.encode()), "msgshow --extract stderr")
        r = run("msgshow", missing)
        check(r.returncode == 66, "msgshow: a missing file: exit 66, got %d" % r.returncode)
        safe(r.stderr, "msgshow missing-file stderr")
        lines_start(r.stderr, (b"msgshow: ",), "msgshow missing-file stderr")

        # --- msgcheck ----------------------------------------------------------
        r = run("msgcheck", eml, named)
        safe(r.stdout, "msgcheck stdout")
        lines_start(r.stdout, (tmp.encode(),), "msgcheck stdout")
        r = run("msgcheck", missing, eml)
        safe(r.stderr, "msgcheck missing-file stderr")
        lines_start(r.stderr, (b"msgcheck: ",), "msgcheck missing-file stderr")
        r = run("msgcheck", "--json", eml, named)
        n = r.stdout.count(b"\n")
        json_lines(r.stdout, n, "msgcheck --json")
        check(n > 2, "msgcheck --json: defects reported: %r" % r.stdout[:300])
        r = run("msgcheck", "--format", "sarif", eml, missing)
        try:
            json.loads(r.stdout)
        except ValueError as e:
            check(False, "msgcheck --format sarif: not JSON: %s" % e)
        safe(r.stdout, "msgcheck --format sarif")

        # --- msgrewrite: its notes quote the message ---------------------------
        r = run("msgrewrite", "--to-utf8", "--fix", "--dry-run", eml, named)
        safe(r.stderr, "msgrewrite stderr")
        lines_start(r.stderr, (tmp.encode(), b"msgrewrite: "), "msgrewrite stderr")
        check(b"utf\\x1b[2J\\xe2\\x80\\xae8" in r.stderr, "msgrewrite: the charset escaped in its note: %r" % r.stderr)
        r = run("msgrewrite", "--to-utf8", "--fix", "--dry-run", "--json", eml)
        json_lines(r.stdout, r.stdout.count(b"\n"), "msgrewrite --json")

        # --- spoolctl: entries from elsewhere ----------------------------------
        spool = os.path.join(tmp, "spool")
        for d in ("tmp", "queue", "deferred", "sent", "failed"):
            os.makedirs(os.path.join(spool, d))
        entry = "1700000000.a" + RLO + "b\x1b[2J.host"
        with open(os.path.join(spool, "queue", entry), "wb") as f:
            f.write(("MAIL FROM:<al" + RLO + "ice@example.org> SMTPUTF8\nRCPT TO:<b" + LS + "ob@example.net>\n"
                     "X-Note: " + HOSTILE + "\n\n").encode())
            with open(eml, "rb") as m:
                f.write(m.read())
        r = run("spoolctl", "list", spool)
        safe(r.stdout + r.stderr, "spoolctl list")
        check(r.stdout.count(b"\n") == 1, "spoolctl list: one line: %r" % r.stdout)
        r = run("spoolctl", "list", "--json", spool)
        json_lines(r.stdout, 1, "spoolctl list --json")
        r = run("spoolctl", "show", spool, entry)
        check(r.returncode == 0, "spoolctl show: exit %d: %r" % (r.returncode, r.stderr))
        safe(r.stdout + r.stderr, "spoolctl show")
        lines_start(r.stdout, (b"  ", b"Entry: ", b"State: ", b"Size: ", b"Envelope:", b"Header:"), "spoolctl show")
        r = run("spoolctl", "show", spool, "no\nspoolctl: forged" + RLO)
        safe(r.stderr, "spoolctl show (no such entry)")
        lines_start(r.stderr, (b"spoolctl: no entry",), "spoolctl show (no such entry)")

        # --- smtpreplay: a transcript and its name ----------------------------
        # (Not so many control bytes that it is taken for binary data.)
        tr = os.path.join(tmp, "t\nsmtpreplay: forged\x1b[2J" + RLO + ".txt")
        said = "\x1b[2J" + RLO + "fdp.exe " + LRI + "x" + PDI + LS + "\u009b" + PS
        with open(tr, "wb") as f:
            f.write(("S: 220 hi " + said + "\r\nC: EHLO a.example\r\nS: 250 ok" + RLO + "\r\n"
                     "C: MAIL FROM:<a@example.org>\r\nS: 250 ok\r\nC: RCPT TO:<b@example.org>\r\n"
                     "S: 550 no " + said + "\r\nC: QUIT\r\nS: 221 bye\r\nC: BOGUS\u009b" + RLO + "\r\n").encode())
        r = run("smtpreplay", "--check", tr)
        safe(r.stdout + r.stderr, "smtpreplay --check")
        lines_start(r.stdout, (tmp.encode(),), "smtpreplay --check stdout")
        lines_start(r.stderr, (b"smtpreplay: ",), "smtpreplay --check stderr")
        r = run("smtpreplay", "--check", "--json", tr)
        json_lines(r.stdout, r.stdout.count(b"\n"), "smtpreplay --check --json")
        r = run("smtpreplay", "--convert", "bsmtp", "-o", os.path.join(tmp, "batch"), tr)
        safe(r.stderr, "smtpreplay --convert stderr")
        lines_start(r.stderr, (tmp.encode(), b"smtpreplay: "), "smtpreplay --convert stderr")
        check(b"left out of the batch" in r.stderr, "smtpreplay --convert: the note is there: %r" % r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if testlib.failures:
        print("%d failures" % testlib.failures)
        sys.exit(1)
    print("hostile text: all checks passed")


if __name__ == "__main__":
    main()
