#!/usr/bin/python3
"""A test SMTP server on 127.0.0.1 built on Python's aiosmtpd.

Usage: aiosmtpd_server.py [--reject RE] [--defer RE] [--drop RE]
                          [--save DIR] [--hostname NAME] [--port N] [--size N]

Prints "listening on 127.0.0.1:PORT" (an ephemeral port unless --port is
given) and serves until killed. A recipient matching --reject is answered
550, one matching --defer 451; when a transaction has a recipient matching
--drop, the connection is closed after the message's final dot, before any
reply (the duplicate window a sender must survive). With --save, each
accepted message is written to DIR as a spool-like file: the envelope as
MAIL/RCPT lines, an empty line, then the message's bytes as received
(CRLF, dot-stuffing removed), named by arrival order. --size offers SIZE
with that limit (default: no SIZE limit).
"""
import argparse
import asyncio
import os
import re
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, args):
        self.reject = re.compile(args.reject) if args.reject else None
        self.defer = re.compile(args.defer) if args.defer else None
        self.drop = re.compile(args.drop) if args.drop else None
        self.save = args.save
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject.search(address):
            return "550 5.1.1 <%s>: recipient rejected" % address
        if self.defer and self.defer.search(address):
            return "451 4.2.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop and any(self.drop.search(r) for r in envelope.rcpt_tos):
            server.transport.close()
            return "421 4.3.0 closing"   # never reaches the client
        self.count += 1
        if self.save:
            head = "MAIL FROM:<%s>" % envelope.mail_from
            for opt in envelope.mail_options:
                head += " " + opt
            head += "\n"
            for rcpt, opts in zip(envelope.rcpt_tos, envelope.rcpt_options):
                head += "RCPT TO:<%s>%s\n" % (rcpt, "".join(" " + o for o in opts))
            name = os.path.join(self.save, "%06d" % self.count)
            with open(name + ".tmp", "wb") as f:
                f.write(head.encode("utf-8") + b"\n" + envelope.original_content)
            os.rename(name + ".tmp", name)
        return "250 2.0.0 OK queued as %06d" % self.count


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reject")
    ap.add_argument("--defer")
    ap.add_argument("--drop")
    ap.add_argument("--save")
    ap.add_argument("--hostname", default="aiosmtpd.test")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--size", type=int, default=0)
    args = ap.parse_args()
    handler = Handler(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname=args.hostname, ident="test server",
                     decode_data=False, enable_SMTPUTF8=True, data_size_limit=args.size),
        "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    print("listening on 127.0.0.1:%d" % port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
