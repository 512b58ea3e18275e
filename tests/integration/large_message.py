#!/usr/bin/env python3
"""Peak memory of the tools on one large message (docs/security.md: memory
follows the limits, not the input).

usage: large_message.py BINDIR

Made at test time, in a temporary directory, never stored:
- a gzip archive (a few MB) holding one message with a 96 MiB base64 body
  (one character in it outside the alphabet);
  msgshow --stats and --json, msgcheck and mbox2spool read it with their default
  thread count. The message itself has to be held (gzip cannot be mapped),
  so each may take its size and a bounded window more: at most 1.25 times
  the message and 32 MiB. Decoding the whole body at once, or copying the
  message for a worker thread, or a word per line to locate defects, goes
  past that.
- the same with a base64 text/plain part of UTF-8 (a uuencoded file at its
  start): msgshow's tree, --json, --extract and --extract-all and msgcheck
  decode and check it in slices, under the same bound.
- a 96 MiB text holding one uuencoded file: shown, checked and extracted
  with the file decoded in pieces, under the same kind of bound.
- 200 MiB on standard input: msgcheck reads no more than the limit of one
  message (192 MiB), then refuses it (exit 65).
- a message whose body is one 32 MiB line of UTF-8 text; msgrewrite --7bit
  re-encodes it. It holds the input and the output, the body encoded
  straight into the output (at most three times the message and 32 MiB);
  encoding it twice to compare the sizes, holding the encoded body beside
  the output, or copying the decoded 8bit body, goes past that. With
  --fix --7bit --fold --crlf it may hold one version more (four and a half
  times the message and 32 MiB); copying the input into each step, or
  keeping every step's version, goes past that.
- the same message over --max-size: refused (exit 65) without being read,
  nothing written, under 32 MiB.

Each child's peak RSS comes from wait4(). Prints one line per check; exit
status 1 on any failure. Standard library only; run it with Debian's
/usr/bin/python3.
"""

import base64
import gzip
import os
import subprocess
import sys
import tempfile

MIB = 1 << 20


def peak_rss(argv, stdin=subprocess.DEVNULL):
    """(exit status, peak RSS in bytes, stderr) of one run of argv."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return p.returncode, usage.ru_maxrss * 1024, err.read().decode("utf-8", "replace")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 64
    bindir = sys.argv[1]
    failures = 0

    def check(name, argv, limit, codes):
        nonlocal failures
        code, rss, err = peak_rss(argv)
        ok = code in codes and rss <= limit
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {code}, peak RSS {rss / MIB:.0f} MiB"
              f" (limit {limit / MIB:.0f} MiB)")
        if code not in codes:
            print("     " + err.strip().replace("\n", "\n     "))
        failures += not ok

    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "one.mbox.gz")
        line = b"QUJD" * 19 + b"\n"   # 76 base64 characters
        body = 96 * MIB
        with gzip.open(archive, "wb", compresslevel=1) as f:
            f.write(b"From a@example.org Mon Nov 23 09:15:00 2026\n"
                    b"From: a@example.org\nTo: b@example.net\nSubject: large\n"
                    b"Date: Mon, 23 Nov 2026 09:15:00 +0000\nMessage-ID: <large@example.org>\n"
                    b"MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
                    b"Content-Transfer-Encoding: base64\n\n")
            # One character outside the alphabet: checking the body then
            # decodes it (to count what the decoder skips), in slices too.
            f.write(b"!" + line)
            chunk = line * 8192
            for _ in range(body // len(chunk)):
                f.write(chunk)
        bound = int(1.25 * body) + 32 * MIB
        check("msgshow --stats --mbox", [os.path.join(bindir, "msgshow"), "--stats", "--mbox", archive],
              bound, (0,))
        check("msgshow --json --mbox", [os.path.join(bindir, "msgshow"), "--json", "--mbox", archive],
              bound, (0,))
        check("msgcheck --mbox", [os.path.join(bindir, "msgcheck"), "--mbox", archive], bound, (0, 1))
        check("mbox2spool", [os.path.join(bindir, "mbox2spool"), "-q", archive, os.path.join(tmp, "spool")],
              bound, (0,))
        entries = os.listdir(os.path.join(tmp, "spool", "queue"))
        if len(entries) != 1:
            print(f"FAIL mbox2spool: {len(entries)} entries in queue/, not 1")
            failures += 1
        os.unlink(archive)

        # A text part as large: its charset is checked, files uuencoded
        # into it are looked for, it is shown, digested and extracted, all
        # in slices (decoding it whole, as a string, goes past the bound).
        text_archive = os.path.join(tmp, "text.mbox.gz")
        utf8_line = base64.b64encode("\u00e9".encode() * 28 + b"\n") + b"\n"   # 76 characters
        with gzip.open(text_archive, "wb", compresslevel=1) as f:
            f.write(b"From a@example.org Mon Nov 23 09:15:00 2026\n"
                    b"From: a@example.org\nTo: b@example.net\nSubject: large text\n"
                    b"Date: Mon, 23 Nov 2026 09:15:00 +0000\nMessage-ID: <text@example.org>\n"
                    b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                    b"Content-Disposition: attachment; filename=big.txt\n"
                    b"Content-Transfer-Encoding: base64\n\n")
            f.write(base64.encodebytes(b"begin 644 small.bin\n#86)C\n`\nend\n\n"))  # 33 bytes: no padding
            chunk = utf8_line * 8192
            for _ in range(body // len(chunk)):
                f.write(chunk)
        show = os.path.join(bindir, "msgshow")
        check("msgshow (text)", [show, "--mbox", text_archive], bound, (0,))
        check("msgshow --json (text)", [show, "--json", "--mbox", text_archive], bound, (0,))
        check("msgcheck (text)", [os.path.join(bindir, "msgcheck"), "--mbox", text_archive], bound, (0, 1))
        check("msgshow --extract (text)", [show, "--mbox", "--extract", "1", text_archive], bound, (0,))
        parts = os.path.join(tmp, "parts")
        os.mkdir(parts)
        check("msgshow --extract-all (text)", [show, "--mbox", "-q", "--extract-all", parts, text_archive], bound, (0,))
        extracted = sorted(os.listdir(parts))
        if extracted != ["big.txt", "small.bin"] or os.path.getsize(os.path.join(parts, "small.bin")) != 3:
            print(f"FAIL msgshow --extract-all (text): wrote {extracted}")
            failures += 1
        for name in extracted:
            os.unlink(os.path.join(parts, name))
        os.unlink(text_archive)

        # A large file uuencoded into an 8bit text: the text is handed over
        # whole (it needs no decoding), the file is decoded and let go in
        # pieces (holding it whole goes past the bound).
        uu_archive = os.path.join(tmp, "uu.mbox.gz")
        uu_line = b"M" + b"86)C" * 15 + b"\n"   # 45 bytes a line
        uu_lines = 96 * MIB // len(uu_line)
        with gzip.open(uu_archive, "wb", compresslevel=1) as f:
            f.write(b"From a@example.org Mon Nov 23 09:15:00 2026\n"
                    b"From: a@example.org\nTo: b@example.net\nSubject: uuencoded\n"
                    b"Date: Mon, 23 Nov 2026 09:15:00 +0000\nMessage-ID: <uu@example.org>\n"
                    b"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
                    b"Content-Transfer-Encoding: 7bit\n\nThe file:\n\nbegin 644 big.bin\n")
            for _ in range(uu_lines // 8192):
                f.write(uu_line * 8192)
            f.write(b"`\nend\n")
        uu_bound = int(1.25 * 96 * MIB) + 32 * MIB
        check("msgshow (uuencoded file)", [show, "--mbox", uu_archive], uu_bound, (0,))
        check("msgshow --json (uuencoded file)", [show, "--json", "--mbox", uu_archive], uu_bound, (0,))
        check("msgcheck (uuencoded file)", [os.path.join(bindir, "msgcheck"), "--mbox", uu_archive], uu_bound, (0, 1))
        check("msgshow --extract (uuencoded file)", [show, "--mbox", "--extract", "1.u1", uu_archive], uu_bound, (0,))
        os.unlink(uu_archive)

        # Standard input is read whole (it cannot be mapped), but no further
        # than the limit of one message: longer input is refused, not held.
        big = os.path.join(tmp, "stdin.eml")
        with open(big, "wb") as f:
            f.truncate(200 * MIB)   # sparse: costs no disk
        with open(big, "rb") as stdin:
            code, rss, err = peak_rss([os.path.join(bindir, "msgcheck")], stdin=stdin)
        ok = code == 65 and rss <= 192 * MIB + 32 * MIB and "limit of one message" in err
        print(f"{'ok  ' if ok else 'FAIL'} msgcheck < 200 MiB: exit {code}, peak RSS {rss / MIB:.0f} MiB"
              f" (limit {192 + 32} MiB)")
        failures += not ok
        os.unlink(big)
        for e in entries:
            os.unlink(os.path.join(tmp, "spool", "queue", e))

        message = os.path.join(tmp, "line.eml")
        text = 32 * MIB
        with open(message, "wb") as f:
            f.write(b"From: a@example.org\nTo: b@example.net\nSubject: one line\n"
                    b"Date: Mon, 23 Nov 2026 09:15:00 +0000\nMessage-ID: <line@example.org>\n\n")
            # In pieces: this process's own peak would count as the
            # child's (exec keeps the high-water mark of the memory it replaces).
            for _ in range(text // MIB):
                f.write("\u00e9".encode() * (MIB // 2))
            f.write(b"\n")
        rewrite = os.path.join(bindir, "msgrewrite")
        out = os.path.join(tmp, "out.eml")
        check("msgrewrite --7bit", [rewrite, "--7bit", "-o", out, message], 3 * text + 32 * MIB, (0,))
        check("msgrewrite --fix --7bit --fold --crlf",
              [rewrite, "--fix", "--7bit", "--fold", "--crlf", "-o", out, message],
              int(4.5 * text) + 32 * MIB, (0, 1))
        os.unlink(out)
        check("msgrewrite --max-size", [rewrite, "--7bit", "--max-size", str(MIB), "-o", out, message],
              32 * MIB, (65,))
        if os.path.exists(out):
            print("FAIL msgrewrite --max-size: wrote the message it refused")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
