#!/usr/bin/env python3
# msgtools' own benchmark corpus generator (tests/bench/run.sh uses this copy; the project does not
# depend on anything outside its tree at run time).
"""Deterministic benchmark corpus: an mboxrd archive of varied, realistic messages.

usage: gen_corpus.py --mb SIZE --seed N -o FILE [--gzip] [--text-only] [--8bit]
Mix: short and long plain text, multipart/alternative, mixed with base64 attachments
(1 KiB .. 2 MiB, skewed small), nested mixed>alternative>related, quoted-printable in
UTF-8 / ISO-8859-1 / KOI8-R, RFC 2047 subjects, long folded headers, some CRLF messages,
'From ' lines in bodies, message/rfc822 attachments, and ~2% malformed messages.
"""
import argparse, base64, gzip, quopri, random

WORDS = ("mail message server client header body spool archive queue delivery relay "
         "boundary charset encoding transfer recipient sender envelope report status").split()
RU = "почта сообщение сервер клиент заголовок тело очередь доставка получатель отправитель".split()
FR = "été garçon déjà naïve façade crème brûlée où à".split()


def words(r, n, pool=WORDS):
    return " ".join(r.choice(pool) for _ in range(n))


def para(r, lines, pool=WORDS):
    return "\n".join(words(r, r.randint(6, 14), pool) for _ in range(lines))


def enc_word(s, charset, r):
    if r.random() < 0.5:
        return "=?%s?B?%s?=" % (charset, base64.b64encode(s.encode(charset)).decode())
    q = quopri.encodestring(s.encode(charset), header=True).decode().replace("=\n", "")
    return "=?%s?Q?%s?=" % (charset, q)


def headers(r, i, extra=()):
    refs = " ".join("<%d.%d@lists.example.org>" % (i, k) for k in range(r.randint(0, 30)))
    subj = words(r, r.randint(3, 9))
    if r.random() < 0.3:
        cs = r.choice(["utf-8", "koi8-r", "iso-8859-1"])
        pool = RU if cs in ("utf-8", "koi8-r") else FR
        subj = enc_word(words(r, 4, pool), cs, r)
    h = ["Received: from relay%d.example.net (relay%d.example.net [192.0.2.%d])\n\tby mx.example.org with ESMTPS id %08x\n\tfor <user@example.org>; Sun, 22 Nov 2026 10:%02d:%02d +0000"
         % (k, k, k, r.getrandbits(32), r.randint(0, 59), r.randint(0, 59)) for k in range(r.randint(1, 5))]
    h += ["From: %s <sender%d@example.net>" % (words(r, 2).title(), i % 97),
          "To: user@example.org, %s <other%d@example.com>" % (words(r, 2).title(), i % 13),
          "Subject: " + subj,
          "Date: Sun, 22 Nov 2026 10:%02d:%02d +0000" % (i % 60, (i * 7) % 60),
          "Message-ID: <%d.%x@example.net>" % (i, r.getrandbits(40))]
    if refs:
        h.append("References: " + refs.replace("> <", ">\n <"))
    h += list(extra)
    return "\n".join(h)


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[k:k + 76] for k in range(0, len(s), 76))


def attachment(r, bnd):
    size = int(min(2 << 20, 1024 * 2 ** (11 * r.random() ** 2)))
    name = "file%d.bin" % r.randint(1, 999)
    return ("--%s\nContent-Type: application/octet-stream; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n%s\n"
            % (bnd, name, name, b64(r.randbytes(size))))


EIGHT_BIT = False  # --8bit: text parts as raw 8-bit UTF-8 instead of quoted-printable


def qp_part(r, bnd):
    cs = r.choice(["utf-8", "iso-8859-1", "koi8-r"])
    pool = FR if cs == "iso-8859-1" else RU
    text = para(r, r.randint(3, 40), pool)
    if EIGHT_BIT:
        return "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n" % (bnd, text)
    body = quopri.encodestring(text.encode(cs)).decode()
    return "--%s\nContent-Type: text/plain; charset=%s\nContent-Transfer-Encoding: quoted-printable\n\n%s\n" % (bnd, cs, body)


def html_part(r, bnd):
    return "--%s\nContent-Type: text/html; charset=us-ascii\n\n<html><body>%s</body></html>\n" % (
        bnd, "".join("<p>%s</p>\n" % words(r, 12) for _ in range(r.randint(2, 30))))


def message(r, i, text_only=False):
    kind = r.random() * (0.45 if text_only else 1.0)
    mime = "MIME-Version: 1.0"
    if kind < 0.30:
        body = para(r, r.randint(2, 120))
        if r.random() < 0.1:
            body += "\nFrom the desk of the sender, a line that mbox must quote\n>From already quoted\n"
        return headers(r, i) + "\n\n" + body + "\n"
    if kind < 0.45:
        b = "alt_%x" % r.getrandbits(48)
        return headers(r, i, [mime, 'Content-Type: multipart/alternative; boundary="%s"' % b]) + \
            "\n\nThis is a multi-part message in MIME format.\n" + qp_part(r, b) + html_part(r, b) + "--%s--\n" % b
    if kind < 0.80:
        b = "mix_%x" % r.getrandbits(48)
        parts = qp_part(r, b) + "".join(attachment(r, b) for _ in range(r.randint(1, 3)))
        return headers(r, i, [mime, 'Content-Type: multipart/mixed; boundary="%s"' % b]) + "\n\n" + parts + "--%s--\n" % b
    if kind < 0.92:
        b1, b2, b3 = ("n1_%x" % r.getrandbits(40), "n2_%x" % r.getrandbits(40), "n3_%x" % r.getrandbits(40))
        inner = qp_part(r, b2) + "--%s\nContent-Type: multipart/related; boundary=\"%s\"\n\n" % (b2, b3) + \
            html_part(r, b3) + "--%s\nContent-Type: image/png\nContent-ID: <img%d@example.net>\nContent-Transfer-Encoding: base64\n\n%s\n--%s--\n" % (
                b3, i, b64(r.randbytes(r.randint(500, 40000))), b3) + "--%s--\n" % b2
        return headers(r, i, [mime, 'Content-Type: multipart/mixed; boundary="%s"' % b1]) + \
            "\n\n--%s\nContent-Type: multipart/alternative; boundary=\"%s\"\n\n%s" % (b1, b2, inner) + attachment(r, b1) + "--%s--\n" % b1
    if kind < 0.98:
        b = "fwd_%x" % r.getrandbits(48)
        inner = headers(r, i + 1000000) + "\n\n" + para(r, r.randint(3, 30)) + "\n"
        return headers(r, i, [mime, 'Content-Type: multipart/mixed; boundary="%s"' % b]) + \
            "\n\n--%s\nContent-Type: text/plain\n\nForwarded message below.\n--%s\nContent-Type: message/rfc822\n\n%s--%s--\n" % (b, b, inner, b)
    # malformed: missing closing boundary, bad base64, 8-bit header
    b = "bad_%x" % r.getrandbits(48)
    return headers(r, i, [mime, 'Content-Type: multipart/mixed; boundary="%s"' % b, "X-Note: caf\u00e9 raw"]) + \
        "\n\n--%s\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n%s!!*&\n" % (b, b64(r.randbytes(3000))[:-3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", required=True)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--text-only", action="store_true", help="mailing-list profile: no attachments")
    ap.add_argument("--8bit", dest="eight_bit", action="store_true",
                    help="text parts as raw 8-bit UTF-8 (Content-Transfer-Encoding: 8bit)")
    a = ap.parse_args()
    global EIGHT_BIT
    EIGHT_BIT = a.eight_bit
    r = random.Random(a.seed)
    limit = int(a.mb * 1024 * 1024)
    out = gzip.open(a.o, "wb") if a.gzip else open(a.o, "wb")
    total, i = 0, 0
    with out:
        while total < limit:
            text = message(r, i, a.text_only)
            lines = []
            for ln in text.split("\n")[:-1]:
                if ln.lstrip(">").startswith("From "):
                    ln = ">" + ln
                lines.append(ln)
            crlf = r.random() < 0.05
            nl = "\r\n" if crlf else "\n"
            data = ("From sender%d@example.net Sun Nov 22 10:00:00 2026\n" % (i % 97)).encode() + \
                nl.join(lines).encode("utf-8") + nl.encode() + b"\n"
            out.write(data)
            total += len(data)
            i += 1
    print("%d messages, %d bytes" % (i, total))


if __name__ == "__main__":
    main()
