#!/usr/bin/python3
# rewrite_py.py - the Python peer of `msgrewrite --mbox --7bit --fold` for tests/bench/run.sh.
"""Round trip every message of an mbox archive through Python's `email` package.

usage: rewrite_py.py ARCHIVE OUT

ARCHIVE is an mboxrd archive, plain or gzip (detected by its magic bytes); OUT is
written as mboxrd, gzip when it ends in ".gz", "-" for standard output.

The archive is read as a stream, one message in memory at a time (no
mailbox.mbox, which builds a table of contents first). Framing as libmsg reads
mboxrd (RFC 4155): a message starts at a line beginning "From " at the start of
the archive, after an empty line, or right after an empty message's From_ line;
it runs to the next such line, less the one empty line that separates messages;
one '>' is removed from every line matching ^>+From .

Each message:
    msg = email.message_from_bytes(data, policy=P)
    out = msg.as_bytes(policy=P)        # BytesGenerator, mangle_from_=False
and is written back as the From_ line (unchanged), the output quoted as mboxrd
(a '>' before every line matching ^>*From , which is what mangle_from_ would do
for mboxo, done here for mboxrd), and the separating empty line when the input had
one. P is

    email.policy.default.clone(cte_type='7bit', max_line_length=78, linesep=L)

where L is the line break of the message's first line, "\\n" or "\\r\\n": the
rewrite keeps each message's line endings, as msgrewrite does unless asked for
CRLF or LF (email.policy.SMTP is the same policy with linesep "\\r\\n", so
choosing the line break per message covers both). cte_type='7bit' is Python's
way of asking for 7-bit output (BytesGenerator re-encodes 8-bit text bodies
that have a charset, and refolds headers holding 8-bit bytes into RFC 2047
words); refold_source='long' (the default policy's) with max_line_length=78 is
its header folding.

A message on which parsing or generating raises is counted and written as it was
read (its original bytes); the count is on standard error at the end, with a
summary line: messages, failures, seconds.
"""
import email
import email.policy
import gzip
import sys
import time

FROM = b"From "


def open_in(path):
    f = sys.stdin.buffer if path == "-" else open(path, "rb", buffering=1 << 20)
    if f.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")
    return f


def open_out(path):
    if path == "-":
        return sys.stdout.buffer
    if path.endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=6)
    return open(path, "wb", buffering=1 << 20)


def messages(f):
    """Yields (from_line, data, separator) for each message of mboxrd stream f.

    from_line: the From_ line as read, line break included; data: the message,
    unquoted; separator: the empty line that followed it (b"\\n", b"\\r\\n") or
    b"" when there was none. Bytes before the first From_ line are skipped.
    """
    from_line = None
    lines = []
    prev_empty = True  # the start of the archive counts as after an empty line
    for line in f:
        if line.startswith(FROM) and (prev_empty or (from_line is not None and not lines)):
            if from_line is not None:
                yield finish(from_line, lines)
            from_line, lines = line, []
            prev_empty = False
            continue
        prev_empty = line == b"\n" or line == b"\r\n"
        if line[:1] == b">":
            stripped = line.lstrip(b">")
            if stripped.startswith(FROM):
                line = line[1:]
        lines.append(line)
    if from_line is not None:
        yield finish(from_line, lines)


def finish(from_line, lines):
    sep = b""
    if lines and (lines[-1] == b"\n" or lines[-1] == b"\r\n"):
        sep = lines.pop()
    return from_line, b"".join(lines), sep


def quote(data):
    """mboxrd quoting: '>' before every line matching ^>*From ."""
    if b"From " not in data:
        return data
    out = []
    for line in data.splitlines(keepends=True):
        if line.lstrip(b">").startswith(FROM):
            line = b">" + line
        out.append(line)
    return b"".join(out)


def main(argv):
    if len(argv) != 2:
        print("usage: rewrite_py.py ARCHIVE OUT", file=sys.stderr)
        return 64
    p_lf = email.policy.default.clone(cte_type="7bit", max_line_length=78, linesep="\n")
    p_crlf = p_lf.clone(linesep="\r\n")

    t0 = time.perf_counter()
    n = failures = 0
    first_error = None
    fin = open_in(argv[0])
    out = open_out(argv[1])
    try:
        for from_line, data, sep in messages(fin):
            n += 1
            eol = data.find(b"\n")
            policy = p_crlf if eol > 0 and data[eol - 1:eol] == b"\r" else p_lf
            try:
                msg = email.message_from_bytes(data, policy=policy)
                res = msg.as_bytes(policy=policy)
            except Exception as e:  # a bug of the email package on an odd message: keep the original
                failures += 1
                if first_error is None:
                    first_error = "message %d: %s: %s" % (n, type(e).__name__, e)
                res = data
            if res and not res.endswith(b"\n"):
                res += b"\r\n" if policy is p_crlf else b"\n"
            out.write(from_line)
            out.write(quote(res))
            out.write(sep)
    finally:
        if out is not sys.stdout.buffer:
            out.close()
        else:
            out.flush()
    secs = time.perf_counter() - t0
    if failures:
        print("rewrite_py.py: %d message(s) raised and were copied unchanged (first: %s)"
              % (failures, first_error), file=sys.stderr)
    print("rewrite_py.py: %d messages, %d failures, %.3f s" % (n, failures, secs), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
