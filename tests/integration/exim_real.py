#!/usr/bin/python3
"""spoolsend and smtpreplay against a real MTA: Debian's Exim, unpacked from
its package into the build tree (apt-get download, dpkg -x), never
installed, run unprivileged on a high port of 127.0.0.1 with a
configuration written here.

Usage: exim_real.py BINDIR WORKDIR

Two instances. "full": STARTTLS with a test certificate, AUTH PLAIN and
LOGIN, <refused@...> answered 550, <deferred@...> 451, a 20 KB size
limit, PIPELINING, 8BITMIME, SMTPUTF8, CHUNKING. "old": none of
PIPELINING, 8BITMIME, SMTPUTF8 and CHUNKING. Both only queue what they
accept (queue_only): the test reads their queues.

- spoolsend: sent, failed with a report and a DSN, deferred, too big, and
  an 8-bit message downgraded to 7 bit for the old instance;
- smtpreplay: spoolsend's transcript is checked, converted to every
  format, each checked and replayed (Exim answers as it did), and the
  batch fed to `exim -bS` queues exactly the accepted message; batches
  replay to the old instance (no PIPELINING: Exim's synchronization
  check) without a 554.

Exim runs as the user of the test, or as nobody when the test runs as
root (setpriv); the compiled-in exim user is given to it through
nss_wrapper (package libnss-wrapper, unpacked too). When a package cannot
be fetched the test is skipped (exit 77).
"""
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import testlib
from testlib import check

BINDIR, WORK = (os.path.abspath(a) for a in sys.argv[1:3])
SPOOLSEND, SMTPREPLAY = os.path.join(BINDIR, "spoolsend"), os.path.join(BINDIR, "smtpreplay")
SKIP = 77
SECRET = "exim-test-pass"
# Exim, and the libraries it needs that a fresh Debian lacks: libidn12 and
# DANE (libgnutls-dane0, with libunbound8 and libevent-2.1-7 under it).
PACKAGES = ["exim4-daemon-light", "libidn12", "libgnutls-dane0", "libunbound8", "libevent-2.1-7", "libnss-wrapper"]


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(SKIP)


# --- Exim, unpacked ----------------------------------------------------------------------
root = os.path.join(WORK, "root")
exim = os.path.join(root, "usr", "sbin", "exim4")
libdir = os.path.join(root, "usr", "lib", "x86_64-linux-gnu")
os.makedirs(WORK, exist_ok=True)
marker = os.path.join(WORK, "unpacked")   # names the packages unpacked: a longer list unpacks again


def unpacked():
    try:
        with open(marker) as f:
            return f.read().split() == PACKAGES
    except OSError:
        return False


if not unpacked():
    def download():
        try:
            r = subprocess.run(["apt-get", "download", *PACKAGES], cwd=WORK, capture_output=True, text=True,
                               timeout=120)
            return r.returncode == 0, r.stderr.strip()[-300:]
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)
    ok, why = download()
    if not ok:   # an old or missing package list
        try:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            pass
        ok, why = download()
    if not ok:
        skip("cannot fetch %s with apt-get download (no network or no package list): %s" % (", ".join(PACKAGES), why))
    for deb in glob.glob(os.path.join(WORK, "*.deb")):
        subprocess.run(["dpkg", "-x", deb, root], check=True)
    os.chmod(exim, 0o755)   # never setuid: it runs as the test's user
    with open(marker, "w") as f:
        f.write(" ".join(PACKAGES) + "\n")
libdir = os.path.dirname(glob.glob(os.path.join(root, "usr", "lib", "*", "libnss_wrapper.so"))[0])
missing = [l for l in subprocess.run(["ldd", exim], capture_output=True, text=True,
                                     env=dict(os.environ, LD_LIBRARY_PATH=libdir)).stdout.splitlines() if "not found" in l]
if missing:
    skip("the unpacked exim4 lacks libraries: %s" % "; ".join(m.strip() for m in missing))

# Who Exim runs as: this user, or nobody for root (Exim never runs as root
# here, and refuses to have root as its user).
if os.geteuid() == 0:
    nobody = pwd.getpwnam("nobody")
    uid, gid = nobody.pw_uid, nobody.pw_gid
    as_user = ["setpriv", "--reuid", str(uid), "--regid", str(gid), "--clear-groups"]
    if not shutil.which("setpriv"):
        skip("running as root, and setpriv (util-linux) is missing to run Exim as nobody")
else:
    uid, gid = os.getuid(), os.getgid()
    as_user = []

# Everything Exim touches lives in a directory of its own under /tmp (the
# build tree may be where nobody cannot go), with a copy of the unpacked
# programs and libraries.
run_dir = tempfile.mkdtemp(prefix="msgtools-exim-")
os.chmod(run_dir, 0o755)
shutil.copytree(root, os.path.join(run_dir, "root"), symlinks=True)
exim = os.path.join(run_dir, "root", os.path.relpath(exim, root))
libdir = os.path.join(run_dir, "root", os.path.relpath(libdir, root))
with open(os.path.join(run_dir, "passwd"), "w") as f:
    f.write("Debian-exim:x:%d:%d:Exim:%s:/bin/false\n" % (uid, gid, run_dir))
with open(os.path.join(run_dir, "group"), "w") as f:
    f.write("Debian-exim:x:%d:\n" % gid)
ENV = dict(os.environ, LD_LIBRARY_PATH=libdir, LD_PRELOAD=os.path.join(libdir, "libnss_wrapper.so"),
           NSS_WRAPPER_PASSWD=os.path.join(run_dir, "passwd"), NSS_WRAPPER_GROUP=os.path.join(run_dir, "group"))

cert, key = os.path.join(run_dir, "cert.pem"), os.path.join(run_dir, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout", key, "-out", cert],
               check=True, capture_output=True)

CONFIG = """
exim_path = @exim@
exim_user = Debian-exim
exim_group = Debian-exim
keep_environment = LD_LIBRARY_PATH : LD_PRELOAD : NSS_WRAPPER_PASSWD : NSS_WRAPPER_GROUP
primary_hostname = @name@.test
spool_directory = @dir@/spool
log_file_path = @dir@/log/%slog
local_interfaces = 127.0.0.1
queue_only = true
message_size_limit = 20K
host_lookup =
rfc1413_hosts =
tls_certificate = @cert@
tls_privatekey = @key@
tls_advertise_hosts = *
@extra@
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data

begin acl
acl_rcpt:
  deny    local_parts = refused
          message = 5.1.1 no such user
  defer   local_parts = deferred
          message = 4.2.0 try again later
  accept
acl_data:
  accept

begin routers
queued:
  driver = accept
  transport = nowhere

begin transports
nowhere:
  driver = appendfile
  file = /dev/null

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{test}}{eq{$auth3}{@secret@}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and {{eq{$auth1}{test}}{eq{$auth2}{@secret@}}}}
  server_set_id = $auth1
"""
OLD = """pipelining_advertise_hosts =
pipelining_connect_advertise_hosts =
accept_8bitmime = false
smtputf8_advertise_hosts =
chunking_advertise_hosts ="""
FULL = "dsn_advertise_hosts = *"


class Exim:
    def __init__(self, name, extra):
        self.dir = os.path.join(run_dir, name)
        for d in ("spool", "log"):
            os.makedirs(os.path.join(self.dir, d))
        self.conf = os.path.join(self.dir, "exim.conf")
        with open(self.conf, "w") as f:
            conf = CONFIG
            for k, v in (("exim", exim), ("name", name), ("dir", self.dir), ("cert", cert), ("key", key),
                         ("extra", extra), ("secret", SECRET)):
                conf = conf.replace("@%s@" % k, v)
            f.write(conf)
        os.chmod(self.conf, 0o644)
        if os.geteuid() == 0:
            for base, dirs, files in os.walk(run_dir):
                if base == run_dir:
                    dirs.remove("root")   # the programs: read, not written
                for n in [base] + [os.path.join(base, x) for x in files]:
                    os.lchown(n, uid, gid)
        r = self.run("-bV")
        if r.returncode != 0:
            skip("the unpacked exim4 does not run: %s" % (r.stdout + r.stderr)[-400:])
        self.port = testlib.free_port()
        self.proc = subprocess.Popen(as_user + [exim, "-C", self.conf, "-bdf", "-oX", str(self.port)], env=ENV,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("exim did not start: %s %s" % (self.proc.stderr.read(), self.log()))

    def run(self, *args, stdin=None):
        return subprocess.run(as_user + [exim, "-C", self.conf, *args], env=ENV, input=stdin, capture_output=True,
                              text=True, timeout=60)

    def queue(self):
        """(sender, recipients, body) of each queued message, in arrival order."""
        out = []
        for h in sorted(glob.glob(os.path.join(self.dir, "spool", "input", "**", "*-H"), recursive=True),
                        key=os.path.getmtime):
            text = open(h, encoding="utf-8", errors="replace").read()
            sender = re.search(r"^<(.*)>$", text, re.M).group(1)
            m = re.search(r"^(\d+)\n((?:.*\n)*?)\n", text.split("\nXX\n", 1)[1])
            rcpts = m.group(2).split() if m else []
            body = open(h[:-2] + "-D", "rb").read().split(b"\n", 1)[1]
            out.append((sender, rcpts, body))
        return out

    def log(self):
        return "".join(open(p, errors="replace").read() for p in glob.glob(os.path.join(self.dir, "log", "*")))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def spool(name, entries):
    out = os.path.join(run_dir, name)
    for d in ("tmp", "queue", "deferred", "sent", "failed", "hold"):
        os.makedirs(os.path.join(out, d))
    for i, (env, msg) in enumerate(entries):
        now = time.strftime("%Y%m%dT%H%M%S", time.gmtime())   # entries of now: not past --max-age
        with open(os.path.join(out, "queue", "%s.%06dZ.1.%06d.t" % (now, i, i)), "wb") as f:
            f.write(env.encode() + b"\n" + msg)
    return out


def spoolsend(server, out, *args):
    return subprocess.run([SPOOLSEND, "--server", "127.0.0.1:%d" % server.port, *args, out], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, SPOOLSEND_PASSWORD=SECRET))


def replay(*args):
    return subprocess.run([SMTPREPLAY, *args], capture_output=True, text=True, timeout=120)


full = old = None
try:
    full = Exim("full", FULL)
    old = Exim("old", OLD)
    # --- spoolsend's outcomes ---------------------------------------------------------------
    plain = b"From: a@example.org\nTo: ok@example.net\nSubject: plain\n\n..starts with a dot\nbody\n"
    big = b"Subject: big\n\n" + (b"x" * 70 + b"\n") * 400
    out = spool("out-full", [
        ("MAIL FROM:<a@example.org>\nRCPT TO:<ok@example.net>\n", plain),
        ("MAIL FROM:<a@example.org>\nRCPT TO:<refused@example.net>\n", b"Subject: refused\n\nhi\n"),
        ("MAIL FROM:<a@example.org>\nRCPT TO:<deferred@example.net>\n", b"Subject: deferred\n\nhi\n"),
        ("MAIL FROM:<a@example.org>\nRCPT TO:<ok2@example.net>\n", big),
    ])
    tdir = os.path.join(run_dir, "transcripts")
    r = spoolsend(full, out, "--tls", "starttls", "--ca-file", cert, "--auth-user", "test", "--dsn",
                  "--transcript", tdir, "--retry-base", "1s")
    check(r.returncode == 1, "spoolsend to Exim: exit 1 for the refused and deferred ones: %d %s" % (r.returncode, r.stderr))
    q = full.queue()
    check(len(q) == 1 and q[0][1] == ["ok@example.net"], "one message queued, for ok@: %s" % q)
    check(q and q[0][2].replace(b"\r\n", b"\n").endswith(b".starts with a dot\nbody\n"),
          "the body as sent, the dot unstuffed: %r" % (q[0][2][-60:] if q else None))
    check(len(os.listdir(os.path.join(out, "sent"))) == 1, "sent/ holds the accepted entry")
    failed = os.listdir(os.path.join(out, "failed"))
    reports = [open(os.path.join(out, "failed", f)).read() for f in failed if f.endswith(".report")]
    check(any("550" in t and "refused@example.net" in t for t in reports), "refused@ failed with a report: %s" % reports)
    check(any("too big" in t or "552" in t or "SIZE" in t for t in reports), "the big one failed as too big: %s" % reports)
    check(any(f.endswith(".dsn") for f in failed), "a DSN beside the reports: %s" % failed)
    deferred = os.listdir(os.path.join(out, "deferred"))
    check(len(deferred) == 1 and "451" in open(os.path.join(out, "deferred", deferred[0])).read(),
          "deferred@ deferred with its 451: %s" % deferred)
    # Retried when due: deferred again.
    time.sleep(2.5)
    r = spoolsend(full, out, "--tls", "starttls", "--ca-file", cert, "--auth-user", "test")
    check(r.returncode == 1 and len(os.listdir(os.path.join(out, "deferred"))) == 1,
          "the deferred entry is retried and deferred again: %s" % r.stderr)
    check(full.log().count("deferred@example.net") >= 2, "Exim saw the retry")

    # The old server: 8-bit downgraded to 7 bit, nothing pipelined.
    eight = "Subject: caf\u00e9\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" \
            "d\u00e9j\u00e0 vu\n"
    out_old = spool("out-old", [("MAIL FROM:<a@example.org> BODY=8BITMIME\nRCPT TO:<ok@example.net>\n", eight.encode())])
    r = spoolsend(old, out_old, "--tls", "starttls", "--ca-file", cert, "--transcript", os.path.join(run_dir, "t-old"))
    check(r.returncode == 0, "spoolsend to the old Exim: %s" % r.stderr)
    q = old.queue()
    check(len(q) == 1 and all(b < 128 for b in q[0][2]) and b"quoted-printable" in q[0][2].lower() + b"" or
          (len(q) == 1 and all(b < 128 for b in q[0][2])),
          "the 8-bit message arrived as 7 bit: %r" % (q[0][2] if q else None))
    check("synchronization" not in old.log(), "no synchronization error at the old Exim")

    # --- smtpreplay: record -> check -> convert -> replay ---------------------------------
    transcripts = sorted(glob.glob(os.path.join(tdir, "*")))
    check(transcripts, "spoolsend wrote transcripts")
    secret_file = os.path.join(run_dir, "pass")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\n")
    t = transcripts[0]
    check(SECRET not in open(t).read(), "the password is not in the transcript")
    r = replay("--check", t)
    check(r.returncode == 0, "the transcript checks clean: %s" % r.stdout)
    for fmt in ("cs", "swaks", "native", "bsmtp"):
        conv = os.path.join(run_dir, "session." + fmt)
        r = replay("--convert", fmt, "-o", conv, t)
        check(r.returncode == 0, "convert to %s: %s" % (fmt, r.stderr))
        r = replay("--check", conv)
        check(r.returncode == 0, "%s passes --check: %s" % (fmt, r.stdout))
        if fmt == "bsmtp":
            continue
        before = len(full.queue())
        r = replay("--server", "127.0.0.1:%d" % full.port, "--ca-file", cert, "--auth-file", secret_file, conv)
        check(r.returncode == 0, "%s replays against Exim with the same codes: %s" % (fmt, r.stdout[-800:]))
        check(len(full.queue()) == before + 1, "the replay queued the accepted message again (%s)" % fmt)
        r = replay("--server", "127.0.0.1:%d" % full.port, "--ca-file", cert, "--auth-file", secret_file, "--no-data",
                   conv)
        check(r.returncode == 0 and len(full.queue()) == before + 1, "--no-data queues nothing (%s): %s" %
              (fmt, r.stdout[-400:]))
    # The batch: what Exim accepted, fed to exim -bS.
    batch = open(os.path.join(run_dir, "session.bsmtp")).read()
    check("refused@" not in batch and "deferred@" not in batch and "STARTTLS" not in batch and "AUTH" not in batch,
          "the batch holds what was accepted: %s" % batch)
    before = full.queue()
    r = full.run("-bS", stdin=batch)
    after = full.queue()
    check(r.returncode == 0, "exim -bS takes the batch: %s %s" % (r.stdout, r.stderr))
    new = after[len(before):]
    check(len(new) == 1 and new[0][1] == ["ok@example.net"] and new[0][0] == "a@example.org",
          "exim -bS queued the one accepted message, to ok@: %s" % new)
    check(new and new[0][2].replace(b"\r\n", b"\n").endswith(b".starts with a dot\nbody\n"),
          "its body is the message's")
    # Batches replay one command at a time to the old Exim.
    r = replay("--server", "127.0.0.1:%d" % old.port, "--ca-file", cert, "--no-data",
               os.path.join(run_dir, "session.bsmtp"))
    check(r.returncode == 0 and "554" not in r.stdout, "the batch replays to the old Exim: %s" % r.stdout[-500:])
    old_t = sorted(glob.glob(os.path.join(run_dir, "t-old", "*")))
    for t in old_t:
        r = replay("--server", "127.0.0.1:%d" % old.port, "--ca-file", cert, t)
        check(r.returncode == 0, "the old Exim's transcript replays: %s" % r.stdout[-500:])
    check("synchronization" not in old.log(), "no synchronization error at the old Exim: %s" % old.log()[-500:])
finally:
    for server in (full, old):
        if server:
            server.stop()
    shutil.rmtree(run_dir, ignore_errors=True)

print("exim: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
