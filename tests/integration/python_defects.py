#!/usr/bin/python3
"""Cross-check: msgcheck's defect codes against Python's email package.

Usage: python_defects.py MSGCHECK TESTDATA_DIR

For every message in TESTDATA_DIR/defects/CODE/*.eml and TESTDATA_DIR/clean/
*.eml (the envelope.*, mbox.* and smtp.* codes and spool entries are skipped: Python has no
envelope), this parses the bytes with

    email.message_from_binary_file(f, policy=email.policy.default)

and collects what Python's email package reports, as a set of names:

  - for every part (msg.walk()): the body is decoded first (get_content() for
    text parts, get_payload(decode=True) for other leaves), because Python
    registers base64 defects only when it decodes; an exception raised there
    is recorded as "exception:<Type>";
  - then the class names of part.defects;
  - and the class names of the .defects of every header object (fetching a
    header runs policy.default's header parser); an exception raised while
    parsing a header is recorded as "exception:<Type>".

msgcheck's codes come from `msgcheck --json FILE` (with the expect file's
args=). The table PYTHON below says, for every msgcheck code, which set of
names Python reports for that code's messages (the empty set when Python does
not notice the defect), how the two relate (KIND) and why (a key of
REASONS). The test fails, one line per mismatch, when

  - Python's set for a message differs from the table's set for its code,
  - msgcheck no longer reports a directory's code for its message,
  - a clean message gets any report from either side,
  - `msgcheck --list` has a code (outside envelope.*) that the table lacks,
    or the table names a code msgcheck does not know.

so that a change in Python or in msgcheck shows up. The explanation of every
difference is in docs/defects.md, "Python's email package".

Standard library only; run it with Debian's /usr/bin/python3.
"""

import concurrent.futures
import email
import email.policy
import json
import os
import subprocess
import sys

# How Python's report relates to msgcheck's code.
SAME = "same"    # Python detects the same problem (perhaps under another name)
OTHER = "other"  # Python reports something, but not this problem
NONE = "none"    # Python reports nothing

# One line per reason; docs/defects.md says the same at more length.
REASONS = {
    "detected": "Python reports the same problem",
    "b64-on-decode": "decode_b() reports it, but only when the part is decoded",
    "exception": "Python raises instead of recording a defect",
    "no-separator": "feedparser: a line that is neither field nor continuation ends the header (MissingHeaderBodySeparatorDefect)",
    "field-name-ascii": "feedparser's headerRE allows only printable ASCII before the colon, so the line ends the header",
    "obs-wsp-colon": "feedparser's headerRE has no obs-optional (WSP before colon): the line ends the header",
    "structured-8bit": "any 8-bit byte in a structured field is UndecodableBytesDefect; UTF-8 is never validated",
    "consequence": "Python reports only the consequence (inner multipart finds no start boundary)",
    "message-cte-ignored": "message/rfc822 body is parsed as a message whatever its CTE; base64 text has no header",
    "no-cte-check": "get_payload() never compares the data with a 7bit/8bit CTE",
    "no-line-length": "Python's parser and decoders never look at line length (a transport/generation rule)",
    "qp-lenient": "quopri/binascii.a2b_qp leave a bad '=' escape as it is and report nothing",
    "decode-replace": "get_text_content() decodes with errors='replace'",
    "label-trusted": "get_text_content() decodes in the declared charset, in which every byte of a one-byte charset is text",
    "ascii-default": "no charset means us-ascii, decoded with errors='replace'",
    "date-lenient": "parsedate_to_datetime() accepts obsolete zones and drops the weekday",
    "no-field-rules": "the parser keeps fields as found; no required/once-only/Sender rules (max_count only on assignment)",
    "unstructured-drops": "UnstructuredHeader.parse() keeps parse_tree defects out of .defects",
    "q-lenient": "decode_q() turns only =XX into a byte, keeps any other '=' and returns no defect",
    "no-limits": "the parser has no size, count or depth limits",
    "ew-length": "get_encoded_word() does not check RFC 2047's 75-character limit",
    "not-msgid": "In-Reply-To and References are unstructured in the header registry",
    "boundary-length": "the boundary is used as found; its length is not checked",
    "filename-free": "get_filename() returns the name as given; what it means is the application's business",
    "cte-unchecked": "the CTE value is not validated; an unknown one returns the raw bytes",
    "no-mime-version": "Content-Type is honoured with or without MIME-Version",
    "ew-in-word": "the text is shown as written, the encoded word not decoded, and no defect is noted",
    "line-endings": "feedparser splits lines at CRLF, CR or LF alike",
    "nul-free": "NUL bytes in a body are ordinary data",
    "boundary-exact": "feedparser matches a delimiter line exactly, as libmsg does; prefix-matching readers are the risk",
    "qp-trailing": "quopri keeps literal white space at the end of a line and reports nothing",
    "empty-part-dropped": "feedparser drops a part with no bytes between two delimiter lines and notes nothing",
    "uu-silent": "_decode_uu() raises ValueError or decodes what it can; get_payload() never records a defect",
    "trace-unstructured": "Received and Return-Path are not in the header registry: unstructured, never parsed",
    "boundary-chars": "the boundary is matched as given; its characters are not checked",
    "boundary-rstrip": "get_boundary() strips trailing white space, so the close delimiter is text (CloseBoundaryNotFoundDefect)",
    "ew-joined": "a character cut between two encoded words goes unnoticed (UTF-8 words decoded together, Shift_JIS word by word into wrong text)",
    "report-unchecked": "message/delivery-status is parsed into blocks of fields; report-type, required fields and values are never checked",
}

# msgcheck code -> (Python's defect names for that code's messages, KIND, reason).
PYTHON = {
    "address.obsolete": ({"ObsoleteHeaderDefect"}, SAME, "detected"),
    "address.syntax": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "body.8bit-in-7bit": (set(), NONE, "no-cte-check"),
    "report.type-mismatch": (set(), NONE, "report-unchecked"),
    "report.syntax": (set(), NONE, "report-unchecked"),
    "report.field-missing": (set(), NONE, "report-unchecked"),
    "report.action": (set(), NONE, "report-unchecked"),
    "report.status": (set(), NONE, "report-unchecked"),
    "body.base64-bad-char": ({"InvalidBase64CharactersDefect"}, SAME, "b64-on-decode"),
    "body.base64-bad-padding": ({"InvalidBase64PaddingDefect"}, SAME, "b64-on-decode"),
    "body.base64-line-too-long": (set(), NONE, "no-line-length"),
    "body.qp-bad-escape": (set(), NONE, "qp-lenient"),
    "body.qp-line-too-long": (set(), NONE, "no-line-length"),
    "charset.bad-bytes": (set(), NONE, "decode-replace"),
    "charset.mislabelled": (set(), NONE, "label-trusted"),
    "charset.missing": (set(), NONE, "ascii-default"),
    "charset.unknown": ({"exception:LookupError"}, SAME, "exception"),
    "date.obsolete": (set(), NONE, "date-lenient"),
    "date.range": ({"InvalidDateDefect"}, SAME, "detected"),
    "date.syntax": ({"InvalidDateDefect"}, SAME, "detected"),
    "date.weekday": (set(), NONE, "date-lenient"),
    "field.duplicate": (set(), NONE, "no-field-rules"),
    "field.missing": (set(), NONE, "no-field-rules"),
    "field.sender-required": (set(), NONE, "no-field-rules"),
    "header.8bit": (set(), NONE, "unstructured-drops"),
    "header.bad-field-name": ({"MissingHeaderBodySeparatorDefect"}, SAME, "field-name-ascii"),
    "header.block-too-large": (set(), NONE, "no-limits"),
    "header.encoded-word-charset": (set(), NONE, "unstructured-drops"),
    "header.encoded-word-in-quotes": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "header.encoded-word-malformed": (set(), NONE, "q-lenient"),
    "header.encoded-word-in-word": (set(), NONE, "ew-in-word"),
    "header.encoded-word-too-long": (set(), NONE, "ew-length"),
    "header.encoded-word-split": (set(), NONE, "ew-joined"),
    "header.envelope-line": ({"MisplacedEnvelopeHeaderDefect"}, SAME, "detected"),
    "header.first-line-folded": ({"FirstHeaderLineIsContinuationDefect"}, SAME, "detected"),
    "header.missing-colon": ({"MissingHeaderBodySeparatorDefect"}, SAME, "no-separator"),
    "header.no-separator": ({"MissingHeaderBodySeparatorDefect"}, SAME, "no-separator"),
    "header.nul": (set(), NONE, "unstructured-drops"),
    "header.control": (set(), NONE, "unstructured-drops"),
    "header.space-before-colon": ({"MissingHeaderBodySeparatorDefect"}, OTHER, "obs-wsp-colon"),
    "header.too-many-fields": (set(), NONE, "no-limits"),
    "header.utf8-invalid": ({"UndecodableBytesDefect"}, OTHER, "structured-8bit"),
    "line.bare-cr": (set(), NONE, "line-endings"),
    "line.bare-lf": (set(), NONE, "line-endings"),
    "line.long": (set(), NONE, "no-line-length"),
    "line.nul": (set(), NONE, "nul-free"),
    "line.too-long": (set(), NONE, "no-line-length"),
    "message-id.obsolete": (set(), NONE, "not-msgid"),
    "message-id.missing": (set(), NONE, "no-field-rules"),
    "message-id.syntax": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "mime.boundary-missing": ({"NoBoundaryInMultipartDefect", "MultipartInvariantViolationDefect"}, SAME, "detected"),
    "mime.boundary-not-found": ({"StartBoundaryNotFoundDefect", "MultipartInvariantViolationDefect"}, SAME, "detected"),
    "mime.boundary-reused": ({"StartBoundaryNotFoundDefect"}, OTHER, "consequence"),
    "mime.boundary-too-long": (set(), NONE, "boundary-length"),
    "mime.boundary-over-limit": (set(), NONE, "boundary-length"),
    "mime.boundary-unclosed": ({"CloseBoundaryNotFoundDefect"}, SAME, "detected"),
    "mime.content-type-syntax": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "mime.filename-path": (set(), NONE, "filename-free"),
    "mime.message-encoding": ({"MissingHeaderBodySeparatorDefect"}, OTHER, "message-cte-ignored"),
    "mime.nesting-too-deep": (set(), NONE, "no-limits"),
    "mime.param-continuation-gap": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "mime.param-duplicate": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "mime.param-extended-quoted": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "mime.param-syntax": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "mime.too-many-parts": (set(), NONE, "no-limits"),
    "mime.unknown-encoding": (set(), NONE, "cte-unchecked"),
    "mime.version-missing": (set(), NONE, "no-mime-version"),
    "mime.version-missing-plain": (set(), NONE, "no-mime-version"),
    "mime.private-encoding": (set(), NONE, "cte-unchecked"),
    "mime.multipart-encoding": ({"InvalidMultipartContentTransferEncodingDefect"}, SAME, "detected"),
    "mime.empty-part": (set(), NONE, "empty-part-dropped"),
    "mime.no-body-part": ({"StartBoundaryNotFoundDefect", "MultipartInvariantViolationDefect"}, SAME, "detected"),
    "mime.boundary-in-part": (set(), NONE, "boundary-exact"),
    "body.qp-trailing-space": (set(), NONE, "qp-trailing"),
    "body.uuencode-no-begin": (set(), NONE, "uu-silent"),
    "body.uuencode-bad-line": (set(), NONE, "uu-silent"),
    "body.uuencode-no-end": (set(), NONE, "uu-silent"),
    "mime.field-duplicate": (set(), NONE, "no-field-rules"),
    "mime.version-syntax": ({"InvalidHeaderDefect"}, SAME, "detected"),
    "mime.boundary-chars": (set(), NONE, "boundary-chars"),
    "mime.boundary-trailing-space": ({"CloseBoundaryNotFoundDefect"}, OTHER, "boundary-rstrip"),
    "trace.obsolete": (set(), NONE, "trace-unstructured"),
}

SKIPPED_GROUPS = ("envelope.", "mbox.", "smtp.")   # smtp.*: transcripts, not messages


def exc_name(e):
    return "exception:" + type(e).__name__


def python_defects(path):
    """The set of defect class names (and exception:<Type>) Python reports."""
    found = set()
    try:
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
    except Exception as e:  # the parser should never raise; record it if it does
        return {exc_name(e)}
    for part in msg.walk():
        # Decode first: Message.get_payload(decode=True) adds the base64
        # defects to part.defects only when it runs.
        if part.get_content_maintype() == "text":
            try:
                part.get_content()
            except Exception as e:
                found.add(exc_name(e))
        elif not part.is_multipart():
            try:
                part.get_payload(decode=True)
            except Exception as e:
                found.add(exc_name(e))
        found.update(type(d).__name__ for d in part.defects)
        # Message.items() is [(name, policy.header_fetch_parse(name, raw))];
        # do it one field at a time so that one exception hides nothing else.
        for name, raw in part.raw_items():
            try:
                header = part.policy.header_fetch_parse(name, raw)
                found.update(type(d).__name__ for d in header.defects)
            except Exception as e:
                found.add(exc_name(e))
    return found


def msgcheck_codes(msgcheck, path, args):
    """The list of codes msgcheck reports, or an error string."""
    p = subprocess.run([msgcheck, "--json"] + args + [path], capture_output=True)
    if p.returncode not in (0, 1):
        return "msgcheck exited with %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip())
    codes = []
    for raw in p.stdout.decode("utf-8", errors="replace").splitlines():
        if raw.strip():
            try:
                codes.append(json.loads(raw)["defect"])
            except (ValueError, KeyError) as e:
                return "unreadable output line %r (%s)" % (raw, e)
    return codes


def expect_args(path):
    """{message name: [args]} from an expect file (NAME LINE [also=] [args=])."""
    args = {}
    if not os.path.isfile(path):
        return args
    with open(path, encoding="utf-8") as f:
        for raw in f:
            words = raw.split()
            if not words or words[0].startswith("#"):
                continue
            args[words[0]] = [a for w in words[2:] if w.startswith("args=")
                              for a in w[5:].split(",") if a]
    return args


def check_one(job):
    """(job, python set, msgcheck codes or error string) for one message."""
    msgcheck, code, path, args = job
    return job, python_defects(path), msgcheck_codes(msgcheck, path, args)


def fmt(names):
    return ",".join(sorted(names)) if names else "-"


def main(argv):
    if len(argv) != 3:
        print("usage: python_defects.py MSGCHECK TESTDATA_DIR", file=sys.stderr)
        return 2
    msgcheck, root = argv[1], argv[2]
    out = subprocess.run([msgcheck, "--list"], capture_output=True, text=True, check=True).stdout
    known = [l.split("\t", 1)[0] for l in out.splitlines() if l.strip()]
    codes = [c for c in known if not c.startswith(SKIPPED_GROUPS)]
    failures = []

    for c in codes:
        if c not in PYTHON:
            failures.append("%s: not in the table PYTHON of python_defects.py" % c)
    for c, (_, kind, reason) in sorted(PYTHON.items()):
        if c not in known or c.startswith(SKIPPED_GROUPS):
            failures.append("%s: in the table but not a code of msgcheck --list" % c)
        if kind not in (SAME, OTHER, NONE) or reason not in REASONS:
            failures.append("%s: bad table entry (kind %r, reason %r)" % (c, kind, reason))

    jobs = []
    for c in codes:
        cdir = os.path.join(root, "defects", c)
        if not os.path.isdir(cdir):
            failures.append("%s: no directory %s" % (c, cdir))
            continue
        args = expect_args(os.path.join(cdir, "expect"))
        names = sorted(n for n in os.listdir(cdir) if n.endswith(".eml"))
        if not names:
            failures.append("%s: no .eml message in %s" % (c, cdir))
        for n in names:
            jobs.append((msgcheck, c, os.path.join(cdir, n), args.get(n, [])))
    cleandir = os.path.join(root, "clean")
    clean = sorted(n for n in os.listdir(cleandir) if n.endswith(".eml"))
    if not clean:
        failures.append("no message in %s" % cleandir)
    for n in clean:
        jobs.append((msgcheck, None, os.path.join(cleandir, n), []))

    # Two large messages take most of the time (Python's header parser on a
    # 1 MiB field); run the messages in parallel.
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = list(pool.map(check_one, jobs))

    seen = {}  # code -> set of Python names over its messages
    for (_, code, path, _), py, mc in results:
        where = os.path.relpath(path, root)
        if isinstance(mc, str):
            failures.append("%s: %s" % (where, mc))
            mc = []
        if code is None:
            if py:
                failures.append("%s: clean message, but Python reports %s" % (where, fmt(py)))
            if mc:
                failures.append("%s: clean message, but msgcheck reports %s" % (where, fmt(set(mc))))
            continue
        seen.setdefault(code, set()).update(py)
        if code not in mc:
            failures.append("%s: msgcheck does not report %s (it reports %s)" % (where, code, fmt(set(mc))))
        if code not in PYTHON:
            continue
        want = PYTHON[code][0]
        if py != want:
            extra, missing = sorted(py - want), sorted(want - py)
            failures.append("%s: Python reports %s, the table expects %s (%s%s)"
                            % (where, fmt(py), fmt(want),
                               "new: " + ",".join(extra) if extra else "",
                               ("; " if extra and missing else "") + ("gone: " + ",".join(missing) if missing else "")))

    # Summary.
    width = max(len(c) for c in codes)
    print("%-*s  %-8s  %-5s  %s" % (width, "code", "result", "kind", "python defects"))
    counts = {SAME: 0, OTHER: 0, NONE: 0}
    for c in codes:
        if c not in PYTHON:
            continue
        want, kind, reason = PYTHON[c]
        counts[kind] += 1
        got = seen.get(c, set())
        print("%-*s  %-8s  %-5s  %s [%s]" % (width, c, "agree" if kind == SAME else "differ",
                                             kind, fmt(got), reason))
    print("clean: %d messages, %s" % (len(clean), "no reports on either side"
                                       if not any("clean message" in f for f in failures) else "REPORTS (see FAIL lines)"))
    print("%d codes compared (envelope.* skipped), %d messages: %d agree, %d differ "
          "(%d Python reports otherwise, %d Python misses), %d failures"
          % (len(codes), len(results), counts[SAME], counts[OTHER] + counts[NONE],
             counts[OTHER], counts[NONE], len(failures)))
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
