#!/usr/bin/python3
"""dkim_survives.py MSGREWRITE - a DKIM signature over fields and a body that
msgrewrite has no reason to touch still verifies after it ran, and one over
what it must change does not (so the check can fail).

Signs messages with dkimpy (Debian's python3-dkim) and a throw-away RSA key,
rewrites them, and verifies with the public key served by a fake DNS lookup.
"""
import base64
import subprocess
import sys
import tempfile

import dkim

tool = sys.argv[1]
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail and not ok else ""))
    failures += not ok


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["openssl", "genrsa", "-out", tmp + "/key.pem", "2048"], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "rsa", "-in", tmp + "/key.pem", "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    privkey = open(tmp + "/key.pem", "rb").read()

txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)


def dns(name, timeout=5):
    return txt if name == b"sel._domainkey.example.org." else None


def sign(msg, headers):
    sig = dkim.sign(msg, b"sel", b"example.org", privkey, include_headers=headers,
                    canonicalize=(b"relaxed", b"simple"))
    return sig + msg


def rewrite(msg, *ops):
    r = subprocess.run([tool, "-q", *ops], input=msg, capture_output=True)
    if r.returncode not in (0, 1):
        raise SystemExit("msgrewrite failed: %d %s" % (r.returncode, r.stderr.decode()))
    return r.stdout


SIGNED = [b"from", b"to", b"date", b"message-id", b"content-type", b"mime-version"]
base = (b"From: Alice <alice@example.org>\n"
        b"To: Bob <bob@example.net>\n"
        b"Cc: J\xc3\xb6rg M\xc3\xbcller <joerg@example.net>\n"
        b"Bcc: hidden@example.org\n"
        b"Subject: Gr\xc3\xbc\xc3\x9fe, and a subject long enough that --fold has to fold it at a space\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
        b"Message-ID: <dkim-1@example.org>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=us-ascii\n"
        b"X-Long-Unsigned: " + b"word " * 30 + b"\n"
        b"\n"
        b"The body is 7-bit and has short lines; nothing here needs changing.\n")
msg = sign(base, SIGNED)
check("signature verifies before", dkim.verify(msg, dnsfunc=dns))
out = rewrite(msg, "--7bit", "--fold", "--strip-bcc", "--add", "X-Test: 1")
check("rewritten: Cc and Subject encoded, Bcc gone, a field added",
      b"Bcc:" not in out and b"=?utf-8?" in out and b"X-Test: 1" in out and max(out) < 0x80)
check("signature verifies after --7bit --fold --strip-bcc --add", dkim.verify(out, dnsfunc=dns))
out = rewrite(msg, "--fix")
check("signature verifies after --fix (an unsigned 8-bit field encoded)", dkim.verify(out, dnsfunc=dns))

# The body hash covers the whole body: re-encoding an 8-bit body must break
# the signature (which shows that the checks above can fail).
eight = base.replace(b"charset=us-ascii", b"charset=utf-8").replace(
    b"nothing here needs changing.", b"nothing here needs changing, but caf\xc3\xa9 does.")
msg8 = sign(eight, SIGNED)
check("8-bit body signed, verifies before", dkim.verify(msg8, dnsfunc=dns))
out8 = rewrite(msg8, "--7bit")
check("8-bit body re-encoded: the body hash no longer matches", not dkim.verify(out8, dnsfunc=dns))
# ... while the signature survives the same run when the body is left alone.
out8 = rewrite(msg8, "--fold", "--strip-bcc")
check("8-bit body untouched by --fold --strip-bcc: verifies", dkim.verify(out8, dnsfunc=dns))

sys.exit(1 if failures else 0)
