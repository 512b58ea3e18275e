#!/usr/bin/python3
"""A hostile SMTP server on 127.0.0.1, for tests of a client's limits.

Usage: hostile_server.py [--tls CERT KEY] MODE

Prints "listening on 127.0.0.1:PORT" (an ephemeral port) and serves until
killed, each connection in its own thread. MODE:

  endless-ehlo  greets, then answers EHLO with "250-" lines that never end,
                as fast as the client reads them
  slow          sends every reply one byte per second, the greeting included
  slow-mail     greets and answers EHLO at once, then sends every later
                reply one byte per second
  hang-dot      takes the message, never answers its final dot (and reads
                on, so that the client's writes succeed)
  controls      replies carry ESC, NUL and bare CR; every recipient is
                refused with such a reply
  delay         a slow but honest server: each reply after half a second
  stall-data    answers DATA 354, then reads nothing more (the client's
                writes block once the socket buffers are full)
  refuse        greets with 554 (as Postfix does a client it rejects at
                connect), answers QUIT with 221 and anything else with 503
  double-greeting  greets with two complete 220 replies in one write (a
                broken server's banner), then answers correctly; refuses
                every recipient whose address starts with "refused"
  421-dot       offers PIPELINING, takes the message, answers its final dot
                with 421 and closes (RFC 5321 3.8): what was pipelined
                behind the dot gets no reply
  tls-alert     offers STARTTLS (with the --tls certificate, which is then
                not used on connecting); the handshake goes as far as the
                server's certificate (TLS 1.2), then the server aborts it with
                a fatal internal_error alert, as OpenSMTPD 6.8 does on some
                systems

With --tls, every connection starts with a TLS handshake (implicit TLS, as
on port 465) with that certificate and key; but for tls-alert.

No other mode offers PIPELINING: the client sends one command at a time.
"""
import socket
import ssl
import sys
import threading
import time

args = sys.argv[1:]
TLS = CERT = None
if args[:1] == ["--tls"]:
    CERT = (args[1], args[2])
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TLS.load_cert_chain(*CERT)
    args = args[3:]
MODE = args[0] if args else ""
MODES = ("endless-ehlo", "slow", "slow-mail", "hang-dot", "controls", "delay", "stall-data", "refuse", "tls-alert",
         "double-greeting", "421-dot")
if MODE not in MODES:
    raise SystemExit("mode must be one of " + ", ".join(MODES))


def serve(conn):
    try:
        if TLS and MODE != "tls-alert":
            conn = TLS.wrap_socket(conn, server_side=True)
        talk(conn)
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def abort_handshake(conn):
    """Run the server's side of a TLS 1.2 handshake in memory up to its
    first flight (ServerHello, Certificate, ..., ServerHelloDone); answer the
    client's next flight with a fatal internal_error alert, and close."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*CERT)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2   # in TLS 1.3 the client would be done first
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
    while True:
        data = conn.recv(65536)
        if not data:
            return
        incoming.write(data)
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        flight = outgoing.read()
        if flight:
            conn.sendall(flight)
            break
    conn.recv(65536)   # the client's key exchange and Finished
    conn.sendall(b"\x15\x03\x03\x00\x02\x02\x50")   # alert record: fatal (2), internal_error (80)


def talk(conn):
    slow_all = MODE == "slow"

    def send(data, slow):
        if MODE == "delay":
            time.sleep(0.5)
        if not slow:
            conn.sendall(data)
            return
        for b in data:
            conn.sendall(bytes([b]))
            time.sleep(1)

    greeting = b"220 hostile.test ESMTP\r\n"
    if MODE == "refuse":
        greeting = b"554 5.7.1 hostile.test: client host rejected\r\n"
    if MODE == "controls":
        greeting = b"220 hostile.test \x1b[31mESMTP\x00 \rhello\r\n"
    if MODE == "double-greeting":
        greeting = b"220 hostile.test ESMTP\r\n220 hostile.test second banner\r\n"
    send(greeting, slow_all)
    in_data = False
    buf = b""
    while True:
        data = conn.recv(65536)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if in_data:
                if line == b".":
                    in_data = False
                    if MODE == "hang-dot":
                        while conn.recv(65536):
                            pass
                        return
                    if MODE == "421-dot":
                        send(b"421 4.3.0 hostile.test closing\r\n", False)
                        return
                    send(b"250 2.0.0 queued\r\n", slow_all or MODE == "slow-mail")
                continue
            cmd = line.upper()
            slow = slow_all or (MODE == "slow-mail" and not cmd.startswith(b"EHLO"))
            if MODE == "refuse" and cmd != b"QUIT":
                send(b"503 5.5.1 Error: access denied for hostile.test\r\n", False)
            elif cmd.startswith(b"EHLO") and MODE == "tls-alert":
                send(b"250-hostile.test\r\n250 STARTTLS\r\n", False)
            elif cmd == b"STARTTLS" and MODE == "tls-alert":
                send(b"220 2.0.0 ready to start TLS\r\n", False)
                abort_handshake(conn)
                return
            elif cmd.startswith(b"EHLO"):
                if MODE == "endless-ehlo":
                    chunk = (b"250-" + b"x" * 40 + b"\r\n") * 100
                    while True:
                        conn.sendall(chunk)
                send(b"250-hostile.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n" if MODE == "421-dot"
                     else b"250-hostile.test\r\n250 8BITMIME\r\n", slow)
            elif cmd.startswith(b"MAIL"):
                send(b"250 2.1.0 ok\r\n", slow)
            elif cmd.startswith(b"RCPT"):
                if MODE == "double-greeting" and cmd.startswith(b"RCPT TO:<REFUSED"):
                    send(b"550 5.1.1 no such user\r\n", slow)
                elif MODE == "controls":
                    # with C1 (U+009B), an override (U+202E) and U+2028 in UTF-8
                    send(b"550 5.1.1 \x1b]0;owned\x07 no \x00 such\ruser\x1b[2J \xc2\x9b2J "
                         b"invoice\xe2\x80\xaefdp.exe\xe2\x80\xa8line\r\n", False)
                else:
                    send(b"250 2.1.5 ok\r\n", slow)
            elif cmd == b"DATA":
                send(b"354 go ahead\r\n", slow)
                if MODE == "stall-data":
                    time.sleep(3600)
                in_data = True
            elif cmd == b"RSET":
                send(b"250 2.0.0 ok\r\n", slow)
            elif cmd == b"QUIT":
                send(b"221 2.0.0 bye\r\n", slow)
                return
            else:
                send(b"500 5.5.1 what?\r\n", slow)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print("listening on 127.0.0.1:%d" % listener.getsockname()[1], flush=True)
while True:
    c, _ = listener.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
