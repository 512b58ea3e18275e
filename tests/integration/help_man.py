#!/usr/bin/env python3
"""help_man.py BINDIR DOCSDIR - every tool's --help and its man page list
the same options: the long options --help prints against the option items
(.TP) of the page's OPTIONS section (and of its OPERATIONS or COMMANDS
section, where it has one); smtpreplay(1) names every smtp.* code of
the defect catalogue (msgcheck --list); and no page holds a line troff
would drop (a text line that starts with a dot or a quote is a request)
or a control character."""
import os
import re
import subprocess
import sys

TOOLS = ["msgcheck", "msgrewrite", "msgshow", "mbox2spool", "spool2mbox", "spoolsend", "smtpreplay", "smtpsink",
         "spoolctl"]


def help_options(path):
    out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30).stdout
    opts = set()
    for line in out.splitlines():
        # Option lines of the options table start with white space and a dash.
        m = re.match(r"\s+(-\w \[ )?(--[a-z0-9][a-z0-9-]*)", line)
        if m:
            opts.add(m.group(2))
    return opts


def man_options(path):
    text = open(path, encoding="utf-8").read()
    opts = set()
    section = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".SH"):
            section = line[3:].strip().strip('"')
            continue
        if section not in ("OPTIONS", "COMMANDS", "OPERATIONS"):
            continue
        # The tag line of an item: the line after .TP.
        if i > 0 and lines[i - 1].startswith(".TP"):
            for m in re.finditer(r"\\-\\-([a-z0-9](?:[a-z0-9]|\\-)*)", line):
                opts.add("--" + m.group(1).replace("\\-", "-"))
    return opts


# The man(7) macros and troff requests the pages use.
MACROS = {"TH", "SH", "SS", "TP", "PP", "IP", "B", "I", "BR", "BI", "IR", "RB", "RI", "IB", "EX", "EE", "RS", "RE",
          "br", "nf", "fi", "sp", "\\\""}


def troff_problems(path):
    out = []
    for n, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line):
            out.append("%s:%d: a control character" % (path, n))
        if line[:1] in (".", "'") and line[1:].split(" ")[0] not in MACROS:
            out.append("%s:%d: not a request troff knows, the line would be dropped: %s" % (path, n, line[:40]))
    return out


def main():
    bindir, docs = sys.argv[1], sys.argv[2]
    fails = 0
    for t in TOOLS:
        for p in troff_problems(os.path.join(docs, t + ".1")):
            print("FAIL: " + p)
            fails += 1
    for t in TOOLS:
        h = help_options(os.path.join(bindir, t))
        page = os.path.join(docs, t + ".1")
        if not os.path.exists(page):
            print("FAIL: %s has no man page" % t)
            fails += 1
            continue
        m = man_options(page)
        if not h:
            print("FAIL: %s --help lists no option" % t)
            fails += 1
        for o in sorted(h - m):
            print("FAIL: %s: %s is in --help but not in %s.1" % (t, o, t))
            fails += 1
        for o in sorted(m - h):
            print("FAIL: %s: %s is in %s.1 but not in --help" % (t, o, t))
            fails += 1
    listed = subprocess.run([os.path.join(bindir, "msgcheck"), "--list"], capture_output=True, text=True,
                            timeout=30).stdout
    codes = [l.split("\t")[0] for l in listed.splitlines() if l.startswith("smtp.")]
    page = open(os.path.join(docs, "smtpreplay.1"), encoding="utf-8").read().replace("\\-", "-")
    if not codes:
        print("FAIL: msgcheck --list lists no smtp.* code")
        fails += 1
    for c in codes:
        if not re.search(r"^\.BR " + re.escape(c) + r" [,.]$", page, re.M):
            print("FAIL: smtpreplay.1 does not list %s among its codes" % c)
            fails += 1
    sys.exit(1 if fails else 0)


main()
