#!/usr/bin/python3
"""make_bomb.py PATH - write a gzip mbox archive of two messages to PATH: the
first takes 257 MiB (one line of base64-like text, repeated), more than the
reader's default limit of 256 MiB, and compresses to under 1 MiB; the second
is small. Made at test time rather than kept: a decompression bomb."""

import sys
import zlib

head = (b"From alice@example.org Mon Nov 23 09:15:00 2026\n"
        b"From: Alice <alice@example.org>\n"
        b"To: bob@example.net\n"
        b"Subject: Backup\n"
        b"Date: Mon, 23 Nov 2026 09:15:00 +0000\n"
        b"Message-ID: <backup@example.org>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: application/octet-stream\n"
        b"Content-Transfer-Encoding: base64\n"
        b"\n")
tail = (b"\n"
        b"From bob@example.net Mon Nov 23 09:16:00 2026\n"
        b"From: Bob <bob@example.net>\n"
        b"To: alice@example.org\n"
        b"Subject: Re: Backup\n"
        b"Date: Mon, 23 Nov 2026 09:16:00 +0000\n"
        b"Message-ID: <re-backup@example.net>\n"
        b"\n"
        b"Thanks.\n")
line = b"QUJD" * 19 + b"\n"
chunk = line * ((1 << 20) // len(line))
z = zlib.compressobj(6, zlib.DEFLATED, 16 + 15)
with open(sys.argv[1], "wb") as out:
    out.write(z.compress(head))
    written = 0
    while written <= 257 << 20:
        out.write(z.compress(chunk))
        written += len(chunk)
    out.write(z.compress(tail))
    out.write(z.flush())
