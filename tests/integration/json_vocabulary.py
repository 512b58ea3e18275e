#!/usr/bin/env python3
"""json_vocabulary.py BINDIR TESTDATA DOCS - every tool's --json output
speaks the vocabulary of docs/json.md: each name a tool prints is in the
page's table of shared names or in that tool's own section, and each
tool that takes --json has a section. The tools run on real input: a
defective message, an archive, a spool delivered to smtpsink with one
recipient refused, a transcript checked and replayed."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import testlib
from testlib import check, stop

BIN, TESTDATA, DOCS = sys.argv[1], sys.argv[2], sys.argv[3]


def run(tool, *args, **kw):
    return subprocess.run([os.path.join(BIN, tool), *args], capture_output=True, text=True, timeout=120, **kw)


def sections(path):
    """{section title: set of names} from the page: the backquoted words of
    the prose and the keys of the JSON examples."""
    out, title = {}, None
    for line in open(path, encoding="utf-8"):
        if line.startswith("## "):
            title = line[3:].strip()
            out[title] = set()
            continue
        if title is None:
            continue
        out[title] |= set(re.findall(r"`([a-z_0-9]+)`", line))
        out[title] |= set(re.findall(r'"([a-z_0-9]+)":', line))
        out[title] |= set(re.findall(r"`([a-z_0-9]+)\[\]", line))
        out[title] |= set(re.findall(r'\{"([a-z_0-9]+)"', line))
        out[title] |= set(re.findall(r'"([a-z_0-9]+)"(?:, |\})', line)) if "`{" in line else set()
    return out


def keys(obj, into):
    if isinstance(obj, dict):
        for k, v in obj.items():
            into.add(k)
            keys(v, into)
    elif isinstance(obj, list):
        for v in obj:
            keys(v, into)
    return into


def lines_of(text, what):
    objs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            check(False, "%s printed a line that is not JSON: %r (%s)" % (what, line, e))
    check(objs, "%s printed no JSON at all" % what)
    return objs


doc = sections(os.path.join(DOCS, "json.md"))
shared = doc.get("Shared names", set())
check(shared, "docs/json.md has a table of shared names")


def section_for(prefix):
    for title, names in doc.items():
        if title.startswith(prefix):
            return names
    check(False, "docs/json.md has no section '%s'" % prefix)
    return set()


def vocabulary(section, objs, what):
    allowed = shared | section_for(section)
    used = set()
    for o in objs:
        keys(o, used)
    for k in sorted(used - allowed):
        check(False, "%s prints '%s', which docs/json.md does not name (shared names or '%s')" % (what, k, section))


# Every tool whose --help offers --json has a section.
for t in ("msgcheck", "msgshow", "msgrewrite", "mbox2spool", "spool2mbox", "spoolsend", "smtpreplay", "smtpsink",
          "spoolctl"):
    if "--json" in run(t, "--help").stdout:
        section_for(t)

tmp = tempfile.mkdtemp(prefix="json_vocabulary_")
try:
    defects = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(TESTDATA, "defects")) for f in fs
                     if f.endswith(".eml"))[:40]
    messages = sorted(os.path.join(TESTDATA, "messages", f) for f in os.listdir(os.path.join(TESTDATA, "messages")))

    r = run("msgcheck", "--json", *defects)
    objs = lines_of(r.stdout, "msgcheck --json")
    vocabulary("msgcheck", objs, "msgcheck --json")
    check(all("source" in o and "index" in o for o in objs), "msgcheck names each defect's source and index")
    empty = os.path.join(tmp, "empty")
    open(empty, "w").close()
    vocabulary("msgcheck", lines_of(run("msgcheck", "--json", empty).stdout, "msgcheck --json (not mail)"),
               "msgcheck --json (not mail)")

    vocabulary("msgshow", lines_of(run("msgshow", "--json", *messages).stdout, "msgshow --json"), "msgshow --json")

    r = run("msgrewrite", "--json", "--dry-run", "--fix", "--crlf", *messages[:8], *defects[:20])
    objs = lines_of(r.stdout, "msgrewrite --json")
    vocabulary("msgrewrite", objs, "msgrewrite --json")
    check(any(o.get("remaining") for o in objs), "msgrewrite --fix --json says what remains")
    note = os.path.join(tmp, "note.txt")
    with open(note, "w") as f:
        f.write("Just a note, no header.\n")
    objs = lines_of(run("msgrewrite", "--json", "--dry-run", "--fix", note).stdout, "msgrewrite --json (not mail)")
    vocabulary("msgrewrite", objs, "msgrewrite --json (not mail)")
    check(any(o.get("not_mail") for o in objs), "msgrewrite --json says why input that is not mail is refused")
    objs = lines_of(run("msgrewrite", "--json", "--dry-run", "--fix", "--max-size", "10", messages[0]).stdout,
                    "msgrewrite --json (too large)")
    vocabulary("msgrewrite", objs, "msgrewrite --json (too large)")
    check(any(o.get("too_large") is True for o in objs), "msgrewrite --json says a message over --max-size is refused")

    # mbox2spool: enqueued, then duplicates; a message without recipients is skipped.
    spool = os.path.join(tmp, "spool")
    archive = os.path.join(TESTDATA, "mbox", "sample.mbox.gz")
    objs = lines_of(run("mbox2spool", "--json", archive, spool).stdout, "mbox2spool --json")
    objs += lines_of(run("mbox2spool", "--json", archive, spool).stdout, "mbox2spool --json (again)")
    lonely = os.path.join(tmp, "lonely.mbox")
    with open(lonely, "w") as f:
        f.write("From a@example.org Mon Nov 23 09:15:00 2026\nFrom: a@example.org\nSubject: to nobody\n\nx\n")
    objs += lines_of(run("mbox2spool", "--json", lonely, spool).stdout, "mbox2spool --json (skipped)")
    vocabulary("mbox2spool", objs, "mbox2spool --json")
    check({o.get("status") for o in objs} == {"enqueued", "duplicate", "skipped"},
          "mbox2spool --json: enqueued, duplicate and skipped seen: %s" % {o.get("status") for o in objs})

    # spoolsend: a dry run, then a delivery where one recipient is refused.
    vocabulary("spoolsend", lines_of(run("spoolsend", "--dry-run", "--json", spool).stdout, "spoolsend --dry-run"),
               "spoolsend --dry-run --json")
    rules = os.path.join(tmp, "rules")
    with open(rules, "w") as f:
        f.write("rcpt /^other3@/ 550 5.1.1 no such user\nrcpt /^other5@/ 451 4.2.0 try later\n")
    sink, port = testlib.start_smtpsink(os.path.join(BIN, "smtpsink"), "--rules", rules, os.path.join(tmp, "in"))
    try:
        r = run("spoolsend", "--json", "--server", "127.0.0.1:%d" % port, spool)
    finally:
        stop(sink)
    objs = lines_of(r.stdout, "spoolsend --json")
    vocabulary("spoolsend", objs, "spoolsend --json")
    check(any(o.get("outcome") == "partial" for o in objs), "spoolsend --json: a partial delivery seen")
    reports = [os.path.join(spool, "failed", n) for n in os.listdir(os.path.join(spool, "failed")) if n.endswith(".json")]
    check(reports, "a failed/NAME.json report was written")
    for p in reports:
        vocabulary("failed/NAME.json", [json.load(open(p))], p)

    vocabulary("spoolctl", lines_of(run("spoolctl", "list", "--json", spool).stdout, "spoolctl list --json"),
               "spoolctl list --json")

    # smtpreplay: a check with defects, and a replay against the server side of a transcript.
    tdir = os.path.join(TESTDATA, "transcripts")
    bad = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(tdir, "defects")) for f in fs)[:10]
    objs = lines_of(run("smtpreplay", "--check", "--json", *bad).stdout, "smtpreplay --check --json")
    vocabulary("smtpreplay", objs, "smtpreplay --check --json")
    # The shared names: `detail` only when there is one, the particulars
    # in `text` in parentheses (as msgcheck has them).
    defects = [o for o in objs if "defect" in o]
    check(any("detail" in o for o in defects) and any("detail" not in o for o in defects),
          "smtpreplay --check --json: defects with and without particulars")
    for o in defects:
        if "detail" in o:
            check(o["detail"] != "" and o["text"].endswith("(" + o["detail"] + ")"),
                  "smtpreplay --check --json: text with its particulars: %r" % o)
    sample = os.path.join(tdir, "auth-login.txt")
    sink, port = testlib.start_smtpsink(os.path.join(BIN, "smtpsink"), "--script", sample)
    try:
        r = run("smtpreplay", "--json", "--server", "127.0.0.1:%d" % port, sample)
    finally:
        stop(sink)
    vocabulary("smtpreplay", lines_of(r.stdout, "smtpreplay --json (replay)"), "smtpreplay --json (replay)")
    r = run("smtpreplay", "--json", "--timeout", "2s", "--server", "127.0.0.1:1", sample)
    vocabulary("smtpreplay", lines_of(r.stdout, "smtpreplay --json (no server)"), "smtpreplay --json (no server)")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if testlib.failures else 0)
