#!/usr/bin/python3
"""Agreement test: msgshow --json against Python's email package.

Usage: python_agree.py MSGSHOW PATH...

Every PATH is a message file, or a directory whose files (recursively) are
message files. For each message, msgshow's JSON is compared with what
email.parser.BytesParser(policy=email.policy.default) makes of the same
bytes:

  - the list of leaf sections (IMAP numbering, RFC 3501 6.4.5),
  - per leaf: the content type, and the decoded bytes (size and SHA-256,
    reported together as the field "body"),
  - the decoded Subject.

Each mismatch is printed as "file: section: field: ours=... python=...".
A mismatch listed in KNOWN_DIFFERENCES (a deliberate, documented difference,
see docs/parsing.md "Where we differ from Python's email package") is
reported as "known" and does not fail the test; any other mismatch makes the
exit status 1. A known difference that no longer occurs is reported as
"stale" (a warning, not a failure), so that the table can be kept small.

Standard library only; run it with Debian's /usr/bin/python3.
"""

import email.parser
import email.policy
import hashlib
import json
import os
import subprocess
import sys

# Deliberate differences, mirrored in docs/parsing.md ("Where we differ from
# Python's email package"). Key: (file base name, section, field); section
# is "" for message-level fields ("sections", "subject"); field "body" covers
# the decoded size and SHA-256 together. Value: the reason (D1.. as in the
# document).
D1 = "D1 base64 ending in a lone sextet: we drop the 6 bits, Python returns the undecoded text"
D2 = "D2 message/* other than rfc822/global is a leaf for us; Python parses it as a message"
D3 = "D3 multipart whose boundary never occurs: Python keeps the line break of the parent's delimiter"
D4 = "D4 last part of an unclosed multipart: we keep its final line break, Python drops it"
D5 = "D5 QP '=' + trailing blanks + line break is a soft break (RFC 2045 6.7); Python keeps it"
D6 = "D6 encoded word in an unknown charset is kept literally; Python decodes it as ASCII"
D7 = "D7 message/rfc822 with a base64/QP encoding is a leaf; Python parses the encoded text"
D8 = "D8 a charset label is decoded with its superset (gb2312 as gb18030); Python decodes it strictly"
D9 = "D9 a multipart with no body part: we show its text as a text/plain part; Python makes the multipart a leaf"
D10 = "D10 two delimiter lines in a row: we show an empty part, Python drops it (mime.empty-part)"
KNOWN_DIFFERENCES = {
    ("truncated-base64.eml", "3", "body"): D1,
    ("bounce.txt", "2", "body"): D2,
    ("delivery-status-multiple-blank-lines.txt", "2", "body"): D2,
    ("delivery-status-no-blank-line.txt", "1", "body"): D2,
    ("delivery-status.anonymized.eml", "1", "body"): D2,
    ("delivery-status.txt", "1", "body"): D2,
    ("delivery-status2.txt", "2", "body"): D2,
    ("disposition-notification.anonymized.eml", "2", "body"): D2,
    ("disposition-notification.txt", "2", "body"): D2,
    ("empty-multipart.txt", "1", "body"): D3,
    ("missing-close-boundary.eml", "2", "body"): D4,
    ("qp-soft-breaks.eml", "1", "body"): D5,
    ("encoded-words-embedded.eml", "", "subject"): D6,
    ("rfc822-base64.eml", "", "sections"): D7,
    ("gbk-labelled-gb2312.eml", "", "subject"): D8,
    ("multipart-no-part.eml", "1", "type"): D9,
    ("multipart-no-part.eml", "1", "body"): D9,
}

EMBEDDED_MESSAGE_TYPES = ("message/rfc822", "message/global")


# --- Python's view ---------------------------------------------------------

def join(prefix, n):
    return "%s.%d" % (prefix, n) if prefix else str(n)


class PyLeaf:
    def __init__(self, section, part):
        self.section = section
        self.type = part.get_content_type()
        self.data = None      # decoded bytes, or None when Python has none
        self.note = ""
        if part.is_multipart():
            # Python parsed a non-rfc822 message/* body as a message (D2).
            self.note = "python parsed %s as an embedded message" % self.type
        else:
            try:
                self.data = part.get_payload(decode=True)
            except Exception as exc:  # noqa: BLE001 - report, don't crash
                self.note = "python failed to decode: %r" % exc
            if self.data is None:
                self.data = b""


def py_walk_entity(part, section, out):
    """An entity with its own section number `section`."""
    ctype = part.get_content_type()
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for k, child in enumerate(part.get_payload(), 1):
            py_walk_entity(child, join(section, k), out)
    elif part.is_multipart() and ctype in EMBEDDED_MESSAGE_TYPES:
        py_walk_root(part.get_payload(0), section, out)
    else:
        out.append(PyLeaf(section, part))


def py_walk_root(msg, context, out):
    """The root entity of a message embedded at section `context` ("" for
    the top level): a multipart shares its context's number, anything else
    is part 1 of it."""
    if msg.is_multipart() and msg.get_content_maintype() == "multipart":
        py_walk_entity(msg, context, out)
    else:
        py_walk_entity(msg, join(context, 1), out)


def py_subject(msg):
    try:
        value = msg["subject"]
    except Exception as exc:  # noqa: BLE001
        return "<python error: %r>" % exc
    if value is None:
        return None
    text = str(value)
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        text = from_8bit(text)
    elif "\ufffd" in text:
        # Python replaced raw 8-bit bytes it could not decode by U+FFFD. Take
        # the raw field as Python stored it (undecodable bytes kept as
        # surrogate escapes), turn the 8-bit text into Unicode by our rule
        # (UTF-8, else windows-1252), and let Python parse that, so that
        # encoded words and white space are still Python's doing.
        raw = next((v for k, v in msg.raw_items() if k.lower() == "subject"), None)
        if raw is not None and any(0xDC80 <= ord(c) <= 0xDCFF for c in raw):
            text = str(msg.policy.header_fetch_parse("Subject", from_8bit(raw)))
    return text


def from_8bit(text):
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


# --- our view --------------------------------------------------------------

def our_messages(msgshow, path):
    proc = subprocess.run([msgshow, "--json", path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError("msgshow exited with %d: %s" %
                           (proc.returncode, proc.stderr.decode("utf-8", "replace").strip()))
    return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines() if line.strip()]


def our_subject(obj):
    for h in obj["headers"]:
        if h["name"].lower() == "subject":
            return h["value"]
    return None


# --- comparison ------------------------------------------------------------

class Report:
    def __init__(self):
        self.failures = 0
        self.known = 0
        self.seen_known = set()

    def mismatch(self, path, section, field, ours, theirs):
        name = os.path.basename(path)
        key = (name, section, field)
        reason = KNOWN_DIFFERENCES.get(key)
        where = "%s: section %s: %s" % (path, section or "-", field)
        if reason:
            self.known += 1
            self.seen_known.add(key)
            print("known    %s: ours=%s python=%s (%s)" % (where, ours, theirs, reason))
        else:
            self.failures += 1
            print("MISMATCH %s: ours=%s python=%s" % (where, ours, theirs))


def compare_file(msgshow, path, report):
    with open(path, "rb") as f:
        raw = f.read()
    ours = our_messages(msgshow, path)
    if len(ours) != 1:
        report.mismatch(path, "", "messages", len(ours), 1)
        return
    ours = ours[0]
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    theirs = []
    py_walk_root(msg, "", theirs)

    a = [p["section"] for p in ours["parts"]]
    b = [p.section for p in theirs]
    if a != b:
        report.mismatch(path, "", "sections", a, b)

    pyparts = {p.section: p for p in theirs}
    for part in ours["parts"]:
        sec = part["section"]
        p = pyparts.get(sec)
        if p is None:
            continue
        if part["type"] != p.type:
            report.mismatch(path, sec, "type", part["type"], p.type)
        if p.data is None:
            report.mismatch(path, sec, "body", "%d bytes" % part["size"], p.note)
            continue
        if p.note:
            report.mismatch(path, sec, "decode", "ok", p.note)
        digest = hashlib.sha256(p.data).hexdigest()
        if part["size"] != len(p.data) or part["sha256"] != digest:
            report.mismatch(path, sec, "body", "%d bytes sha256 %s" % (part["size"], part["sha256"][:16]),
                            "%d bytes sha256 %s" % (len(p.data), digest[:16]))

    s_ours, s_py = our_subject(ours), py_subject(msg)
    if s_ours != s_py:
        report.mismatch(path, "", "subject", json.dumps(s_ours, ensure_ascii=False),
                        json.dumps(s_py, ensure_ascii=False))


def message_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield os.path.join(root, name)
        else:
            yield path


def main(argv):
    if len(argv) < 3:
        print("usage: python_agree.py MSGSHOW PATH...", file=sys.stderr)
        return 2
    msgshow, paths = argv[1], argv[2:]
    report = Report()
    count = 0
    for path in message_files(paths):
        count += 1
        try:
            compare_file(msgshow, path, report)
        except Exception as exc:  # noqa: BLE001 - one bad file must not hide the others
            report.failures += 1
            print("ERROR    %s: %s" % (path, exc))
    for key in sorted(set(KNOWN_DIFFERENCES) - report.seen_known):
        if any(os.path.basename(p) == key[0] for p in message_files(paths)):
            print("stale    known difference no longer seen: %s section %s %s" % key)
    print("%d files, %d mismatches, %d known differences" % (count, report.failures, report.known))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
