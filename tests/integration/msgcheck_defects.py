#!/usr/bin/python3
"""Every defect code has a message that shows it, and only it.

Usage: msgcheck_defects.py MSGCHECK DEFECTS_DIR

DEFECTS_DIR (testdata/defects) holds one directory per defect code listed by
`msgcheck --list`. Each directory has small messages (NAME.eml; for the
envelope group, spool entries NAME.entry) and a file `expect`, one line per
message:

    NAME.eml LINE [also=CODE,CODE] [args=ARG,ARG] [make=SCRIPT] [exit=N]

LINE is the 1-based line at which `msgcheck --json NAME.eml` must report the
directory's code. No other defect, of any severity, may be reported, except
the codes named by also= (defects that cannot be avoided together with this
one). args= adds command line arguments (--utf8 for header.utf8-invalid).
make= names a Python script in the directory that writes the message to the
path it is given, for samples too large to keep (a decompression bomb): the
message is made at test time, in a temporary directory, under NAME. exit=
is msgcheck's expected exit status (default: 0 or 1).
Empty lines and lines starting with '#' are ignored.

The test fails when a code has no directory or no message, when a directory
is not named after a known code, and when a message does not give exactly the
expected report. Each failure is printed on a line of its own; the exit
status is 1 on any failure, 0 otherwise.

Standard library only; run it with Debian's /usr/bin/python3.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile


def list_codes(msgcheck):
    out = subprocess.run([msgcheck, "--list"], capture_output=True, text=True, check=True).stdout
    return [line.split("\t", 1)[0] for line in out.splitlines() if line.strip()]


def parse_expect(path, failures):
    """[(name, line, also, args, make, exit)] from an expect file."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            where = "%s:%d" % (path, n)
            if len(words) < 2 or not words[1].isdigit() or int(words[1]) < 1:
                failures.append("%s: expected 'NAME.eml LINE [also=CODES] [args=ARGS]', got %r" % (where, line))
                continue
            also, args, make, status = [], [], None, None
            ok = True
            for w in words[2:]:
                if w.startswith("also="):
                    also += [c for c in w[5:].split(",") if c]
                elif w.startswith("args="):
                    args += [a for a in w[5:].split(",") if a]
                elif w.startswith("make="):
                    make = w[5:]
                elif w.startswith("exit=") and w[5:].isdigit():
                    status = int(w[5:])
                else:
                    failures.append("%s: unknown field %r" % (where, w))
                    ok = False
            if ok:
                entries.append((words[0], int(words[1]), also, args, make, status))
    return entries


def run_msgcheck(msgcheck, path, args, status):
    """The list of (code, line) reported, or an error string."""
    p = subprocess.run([msgcheck, "--json"] + args + [path], capture_output=True)
    if status is not None and p.returncode != status:
        return "msgcheck exited with %d, not %d: %s" % (p.returncode, status, p.stderr.decode(errors="replace").strip())
    if status is None and p.returncode not in (0, 1):
        return "msgcheck exited with %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip())
    found = []
    for raw in p.stdout.decode("utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            found.append((obj["defect"], int(obj["line"])))
        except (ValueError, KeyError) as e:
            return "unreadable output line %r (%s)" % (raw, e)
    return found


def main(argv):
    if len(argv) != 3:
        print("usage: msgcheck_defects.py MSGCHECK DEFECTS_DIR", file=sys.stderr)
        return 2
    msgcheck, root = argv[1], argv[2]
    # smtp.* codes are a transcript's (smtpreplay --check), with their own
    # samples in testdata/transcripts/defects/.
    codes = [c for c in list_codes(msgcheck) if not c.startswith("smtp.")]
    known = set(codes)
    failures = []
    checked = 0

    dirs = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    for d in dirs:
        if d not in known:
            failures.append("%s: directory is not named after a defect code (see msgcheck --list)" % d)

    for code in codes:
        cdir = os.path.join(root, code)
        expect = os.path.join(cdir, "expect")
        if not os.path.isdir(cdir):
            failures.append("%s: no directory %s" % (code, cdir))
            continue
        if not os.path.isfile(expect):
            failures.append("%s: no expect file" % code)
            continue
        entries = parse_expect(expect, failures)
        if not entries:
            failures.append("%s: expect lists no message" % code)
            continue
        for name, want_line, also, args, make, status in entries:
            where = "%s/%s" % (code, name)
            for a in also:
                if a not in known:
                    failures.append("%s: also= names an unknown code %r" % (where, a))
            path = os.path.join(cdir, name)
            tmp = None
            if make:
                tmp = tempfile.mkdtemp(prefix="msgcheck_defects_")
                path = os.path.join(tmp, name)
                made = subprocess.run([sys.executable, os.path.join(cdir, make), path], capture_output=True)
                if made.returncode != 0 or not os.path.isfile(path):
                    failures.append("%s: %s did not make the message: %s"
                                    % (where, make, made.stderr.decode(errors="replace").strip()))
                    shutil.rmtree(tmp)
                    continue
            if not os.path.isfile(path):
                failures.append("%s: message file is missing" % where)
                continue
            found = run_msgcheck(msgcheck, path, args, status)
            if tmp:
                shutil.rmtree(tmp)
            checked += 1
            if isinstance(found, str):
                failures.append("%s: %s" % (where, found))
                continue
            lines = sorted(l for c, l in found if c == code)
            if not lines:
                failures.append("%s: %s not reported (expected at line %d)" % (where, code, want_line))
            elif want_line not in lines:
                failures.append("%s: %s reported at line %s, expected at line %d"
                                % (where, code, ",".join(map(str, lines)), want_line))
            elif len(lines) > 1:
                failures.append("%s: %s reported %d times (lines %s), expected once"
                                % (where, code, len(lines), ",".join(map(str, lines))))
            for c, l in found:
                if c != code and c not in also:
                    failures.append("%s: unexpected %s at line %d" % (where, c, l))
            for a in also:
                if a != code and not any(c == a for c, _ in found):
                    failures.append("%s: also=%s is not reported (remove it from expect)" % (where, a))

    for f in failures:
        print("FAIL: " + f)
    print("%d codes, %d messages checked, %d failures" % (len(codes), checked, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
