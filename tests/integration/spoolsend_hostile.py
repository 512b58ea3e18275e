#!/usr/bin/python3
"""spoolsend against hostile servers (hostile_server.py): it gives up in
time, with bounded memory, and ends promptly on SIGTERM.

Usage: spoolsend_hostile.py SPOOLSEND

- a server that never ends its EHLO reply: spoolsend gives up ("over 1000
  lines") within its --timeout plus a few seconds, its peak RSS bounded;
- a server that answers one byte per second (from the greeting on, or from
  MAIL on): the time limit covers a whole reply, so --timeout 3s ends the
  session after about 3 s, not after the reply;
- replies with ESC, NUL, CR, a C1 control, a bidirectional override and
  U+2028: the entries fail with reports, and none of them reaches stderr,
  the report or the JSON raw;
- a server that stops reading in the middle of a message: SIGTERM ends
  spoolsend within 2 s, the entries as they were; the data-block limit
  (per MiB begun) defers the entry as "timed out writing";
- SIGTERM while a server dawdles: spoolsend ends within 2 s and prints its
  summary; entries without a reply stay where they were (as after SIGKILL),
  an entry whose final dot went unanswered is deferred as "may have been
  delivered";
- the same limits inside TLS, where a slow but honest server is still
  served;
- a session given up on while the server still listens (a 554 greeting,
  STARTTLS required and not offered) ends with QUIT, its 221 read, at once;
- a STARTTLS handshake the server aborts with an alert is reported with
  that alert under --tls-verify no, not with a certificate check that was
  not asked for;
- a 421 to the final dot: the message deferred, entries never answered
  deferred or left in queue/, and the JSON summary and the last line give
  the same count of entries left;
- --watch: SIGTERM between two passes, the usual way to end a watcher,
  stops nothing (exit 0 when every entry was sent, no "stopped" line);
  during a pass it is a stop as in a single run (exit 1, said).
"""
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import testlib
from testlib import check

SPOOLSEND = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
MAX_RSS_KIB = 64 * 1024
# What must not reach a terminal or a report raw (msg::unsafe_char_length).
UNSAFE = re.compile(rb"[\x00\x1b\x07]|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]")


def start_server(mode, tls=None):
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "hostile_server.py"),
                          *(["--tls", *tls] if tls else []), mode],
                         stdout=subprocess.PIPE, text=True)
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", p.stdout.readline())
    if not m:
        p.kill()
        raise SystemExit("hostile_server.py %s did not start" % mode)
    return p, int(m.group(1))


@contextlib.contextmanager
def hostile_server(mode, tls=None):
    """hostile_server.py in MODE, for the block: its port; killed after."""
    p, port = start_server(mode, tls)
    try:
        yield port
    finally:
        p.kill()
        p.wait()


def make_spool(root, count, body=b"body\n"):
    for d in ("tmp", "queue", "deferred", "sent", "failed"):
        os.makedirs(os.path.join(root, d))
    names = []
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())   # a fresh entry: --max-age is far
    for i in range(count):
        name = "%s.%06dZ.1.%06d.hostile" % (stamp, i, i)
        with open(os.path.join(root, "queue", name), "wb") as f:
            f.write(b"MAIL FROM:<a@example.org>\nRCPT TO:<b%d@example.net>\n\n" % i)
            f.write(b"From: a@example.org\nSubject: %d\n\n" % i + body)
        names.append(name)
    return names


def states(root):
    return {d: sorted(os.listdir(os.path.join(root, d))) for d in ("queue", "deferred", "sent", "failed")}


def spoolsend(args, term_after=None, sig=signal.SIGTERM, term_when=None):
    """Run spoolsend; SIGTERM (or `sig`) after `term_after` seconds when given,
    counted from when `term_when()` is first true when that is given.
    Returns (exit code, stdout, stderr, seconds, seconds from SIGTERM, peak RSS in KiB)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    start = time.monotonic()
    p = subprocess.Popen([SPOOLSEND, *args], stdout=out, stderr=err)
    termed = None
    if term_when is not None:
        while not term_when() and p.poll() is None and time.monotonic() < start + 60:
            time.sleep(0.05)
    if term_after is not None:
        time.sleep(term_after)
        termed = time.monotonic()
        p.send_signal(sig)
    deadline = time.monotonic() + 120
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.02)
    end = time.monotonic()
    p.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return (p.returncode, out.read(), err.read(), end - start, end - termed if termed else None, usage.ru_maxrss)


tmp = tempfile.mkdtemp()
try:
    # --- a reply that never ends ---------------------------------------------
    with hostile_server("endless-ehlo") as port:
        spool = os.path.join(tmp, "endless")
        names = make_spool(spool, 3)
        code, _, err, secs, _, rss = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "5s", spool])
        check(code == 69, "endless EHLO: exit 69, got %d: %s" % (code, err))
        check(b"over 1000 lines" in err, "endless EHLO: the reason is given: %s" % err)
        check(secs < 5 + 3, "endless EHLO: given up in %.1f s" % secs)
        check(rss < MAX_RSS_KIB, "endless EHLO: peak RSS %d KiB" % rss)
        check(states(spool)["queue"] == names, "endless EHLO: the entries stay in queue/")
        print("endless EHLO: %.2f s, peak RSS %d KiB" % (secs, rss))

    # --- one byte a second, from the greeting on ------------------------------
    with hostile_server("slow") as port:
        spool = os.path.join(tmp, "slow")
        names = make_spool(spool, 2)
        code, _, err, secs, _, rss = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "3s", spool])
        check(code == 69, "slow greeting: exit 69, got %d: %s" % (code, err))
        check(b"no greeting" in err and b"timed out" in err, "slow greeting: the reason is given: %s" % err)
        check(2.5 < secs < 3 + 3, "slow greeting: given up in %.1f s (--timeout 3s)" % secs)
        check(states(spool)["queue"] == names, "slow greeting: the entries stay in queue/")
        print("slow greeting: %.2f s, peak RSS %d KiB" % (secs, rss))
        # SIGTERM: prompt, with the summary, nothing moved.
        code, _, err, secs, after, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "60s", spool],
                                                 term_after=1.5)
        check(after < 2, "slow greeting, SIGTERM: ended %.2f s after it" % after)
        check(re.search(rb"spoolsend: 0 sent, 0 partly sent, 0 deferred, 0 failed", err) is not None,
              "slow greeting, SIGTERM: the summary is printed: %s" % err)
        check(states(spool)["queue"] == names, "slow greeting, SIGTERM: the entries stay in queue/")
        # Entries left unsent by the stop: exit 1, said, not 0 ("every due entry was sent").
        check(code == 1, "slow greeting, SIGTERM: exit 1, got %d: %s" % (code, err))
        check(b"stopped by a signal" in err, "slow greeting, SIGTERM: the stop is said: %s" % err)
        print("slow greeting, SIGTERM: ended %.2f s after it" % after)
        # SIGHUP (its terminal gone) stops it the same way, not mid-session.
        code, _, err, secs, after, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "60s", spool],
                                                 term_after=1.5, sig=signal.SIGHUP)
        check(code == 1 and b"stopped by a signal" in err and after < 2,
              "slow greeting, SIGHUP: a stop as by SIGTERM, got %d after %.2f s: %s" % (code, after, err))
        check(states(spool)["queue"] == names, "slow greeting, SIGHUP: the entries stay in queue/")

    # --- --watch: a signal between two passes ends it as planned ---------------
    # (a slow but honest server: a session takes a few seconds, so that a
    # signal can also come in the middle of one)
    with hostile_server("delay") as port:
        spool = os.path.join(tmp, "watch")
        names = make_spool(spool, 1)
        watch = ["--server", "127.0.0.1:%d" % port, "--watch", "--interval", "60s", "--timeout", "30s"]
        # The entry sent, QUIT answered (half a second): idle until the next pass.
        code, _, err, _, after, _ = spoolsend([*watch, spool], term_after=3,
                                              term_when=lambda: states(spool)["sent"] == names)
        check(states(spool)["sent"] == names, "--watch sent the entry: %s" % states(spool))
        check(code == 0 and b"stopped" not in err and b"spoolsend: 1 sent, 0 partly sent, 0 deferred, 0 failed" in err
              and after < 2, "--watch, SIGTERM between passes: exit 0, no stop said, the summary: %d after %.2f s: %s"
              % (code, after, err))
        # In the middle of a session (its greeting and EHLO take a second).
        spool2 = os.path.join(tmp, "watch-busy")
        names2 = make_spool(spool2, 1)
        code, _, err, _, after, _ = spoolsend([*watch, spool2], term_after=1.2)
        check(code == 1 and b"stopped by a signal" in err and states(spool2)["queue"] == names2 and after < 2,
              "--watch, SIGTERM during a pass: exit 1, the stop said, the entry where it was: %d %s %s"
              % (code, err, states(spool2)))

    # --- one byte a second from MAIL on ---------------------------------------
    with hostile_server("slow-mail") as port:
        spool = os.path.join(tmp, "slow-mail")
        names = make_spool(spool, 1)
        code, _, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "3s", spool])
        check(code == 1, "slow MAIL reply: exit 1, got %d: %s" % (code, err))
        check(2.5 < secs < 3 + 3, "slow MAIL reply: given up in %.1f s (--timeout 3s)" % secs)
        st = states(spool)
        check(st["deferred"] == names, "slow MAIL reply: the entry is deferred: %s" % st)
        if st["deferred"]:
            text = open(os.path.join(spool, "deferred", names[0]), "rb").read()
            check(re.search(rb"^Attempt: .*timed out", text, re.M) is not None,
                  "slow MAIL reply: the attempt says it timed out: %s" % text)
        print("slow MAIL reply: %.2f s" % secs)
        # SIGTERM while waiting for MAIL's reply: the entry stays in queue/.
        spool2 = os.path.join(tmp, "slow-mail-term")
        names2 = make_spool(spool2, 3)
        code, _, err, secs, after, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "60s", "-j", "2",
                                                  spool2], term_after=1.5)
        check(after < 2, "slow MAIL reply, SIGTERM: ended %.2f s after it" % after)
        check(b"spoolsend: 0 sent" in err, "slow MAIL reply, SIGTERM: the summary is printed: %s" % err)
        check(states(spool2)["queue"] == names2, "slow MAIL reply, SIGTERM: the entries stay in queue/: %s" % states(spool2))
        print("slow MAIL reply, SIGTERM: ended %.2f s after it" % after)

    # --- a message the server stops reading: SIGTERM, and the write limit -----
    with hostile_server("stall-data") as port:
        big = b"x" * 999 + b"\n"
        spool = os.path.join(tmp, "stall")
        names = make_spool(spool, 2, big * 16384)   # 16 MB each: more than the socket buffers hold
        code, _, err, secs, after, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "60s", spool],
                                                 term_after=1.5)
        check(after < 2, "stalled DATA, SIGTERM: ended %.2f s after it" % after)
        check(states(spool)["queue"] == names, "stalled DATA, SIGTERM: the entries stay in queue/: %s" % states(spool))
        print("stalled DATA, SIGTERM: ended %.2f s after it" % after)
        spool2 = os.path.join(tmp, "stall2")
        names2 = make_spool(spool2, 1, big * 8192)   # 8 MB: still more than the buffers hold
        code, _, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "1s", spool2])
        st = states(spool2)
        check(code == 1 and st["deferred"] == names2, "stalled DATA: the entry is deferred, got %d: %s %s" % (code, st, err))
        check(0.8 < secs < 9 + 3, "stalled DATA: given up in %.1f s (--timeout 1s per MiB begun)" % secs)
        if st["deferred"]:
            text = open(os.path.join(spool2, "deferred", st["deferred"][0]), "rb").read()
            check(re.search(rb"^Attempt: .*timed out writing", text, re.M) is not None,
                  "stalled DATA: the attempt says the write timed out: %s" % text[:400])
        print("stalled DATA: given up after %.1f s" % secs)

    # --- a final dot never answered, then SIGTERM ----------------------------
    with hostile_server("hang-dot") as port:
        spool = os.path.join(tmp, "hang")
        names = make_spool(spool, 4)
        code, out, err, secs, after, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "60s", "-j", "2",
                                                    "--json", spool], term_after=1.5)
        check(after < 2, "unanswered dot, SIGTERM: ended %.2f s after it" % after)
        st = states(spool)
        check(len(st["deferred"]) == 2 and len(st["queue"]) == 2 and not st["sent"] and not st["failed"],
              "unanswered dot, SIGTERM: the two messages under way deferred, the others in queue/: %s" % st)
        for n in st["deferred"]:
            text = open(os.path.join(spool, "deferred", n), "rb").read()
            check(b"may have been delivered" in text, "unanswered dot: the attempt says it may have been delivered")
        events = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
        check(sum(1 for e in events if e.get("may_be_delivered")) == 2, "unanswered dot: may_be_delivered: %s" % events)
        check(any("summary" in e for e in events), "unanswered dot, SIGTERM: the summary is printed")
        print("unanswered dot, SIGTERM: ended %.2f s after it" % after)

    # --- 421 to the final dot: the server has closed; what it never answered ---
    # --- waits, and the summary, the JSON and the last line agree on it -------------
    with hostile_server("421-dot") as port:
        spool = os.path.join(tmp, "421-dot")
        names = make_spool(spool, 4)
        code, out, err, _, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "10s", "-j", "1",
                                             "--json", spool])
        st = states(spool)
        events = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
        summary = [e["summary"] for e in events if "summary" in e]
        check(code == 1 and names[0] in st["deferred"] and not st["sent"] and not st["failed"],
              "421 to the dot: exit 1, the message deferred: %d %s" % (code, st))
        check(len(st["deferred"]) + len(st["queue"]) == 4, "421 to the dot: every entry deferred or in queue/: %s" % st)
        left = len(st["queue"])
        check(summary and summary[0]["left"] == left and summary[0]["deferred"] == len(st["deferred"]),
              "421 to the dot: the JSON summary counts what was left: %s %s" % (summary, st))
        said = err.decode()
        if left:
            check(re.search(r"^spoolsend: %d entr(y|ies) left for a later run: .*421" % left, said, re.M),
                  "421 to the dot: the last line counts the entries left: %s" % said)
        else:
            check("left for a later run" not in said and "a session ended: " in said,
                  "421 to the dot: nothing left, and not said so: %s" % said)

    # --- a final dot never answered, then SIGKILL: the transcript has it --------
    with hostile_server("hang-dot") as port:
        spool = os.path.join(tmp, "hang-kill")
        make_spool(spool, 2)
        tx = os.path.join(tmp, "hang-kill-tx")
        spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "60s", "-j", "1", "--transcript", tx, spool],
                  term_after=1.5, sig=signal.SIGKILL)
        files = os.listdir(tx) if os.path.isdir(tx) else []
        text = b"".join(open(os.path.join(tx, f), "rb").read() for f in files)
        check(re.search(rb"^C [0-9.]+ \.$", text, re.M) is not None and b"DATA" in text,
              "killed while the dot waits for its reply: the transcript holds what was sent: %r" % text[-300:])

    # --- control characters in replies ---------------------------------------
    with hostile_server("controls") as port:
        spool = os.path.join(tmp, "controls")
        names = make_spool(spool, 2)
        code, out, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "5s", spool])
        check(code == 1, "control characters: exit 1, got %d: %s" % (code, err))
        st = states(spool)
        check(sorted(n for n in st["failed"] if n.endswith(".hostile")) == names,
              "control characters: every entry failed: %s" % st)
        check(b"no \\x00 such" in err or b"\\x1b" in err, "control characters: the reply is shown escaped: %s" % err)
        for blob, what in [(err, "stderr")] + [
                (open(os.path.join(spool, "failed", n), "rb").read(), n) for n in st["failed"] if not n.endswith(".hostile")]:
            check(not UNSAFE.search(blob), "control characters: none raw in %s: %r" % (what, blob[-400:]))
        code, out, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "5s", "--json",
                                                os.path.join(tmp, "controls")])
        check(not UNSAFE.search(out + err), "control characters: none raw in --json output: %r" % (out + err)[-400:])

    # --- a reply before its command: not taken for EHLO's ----------------------
    # A second 220 in the greeting's write, taken for the reply to EHLO, put
    # every later reply one command off: the refusal of one recipient
    # failed another. It answers nothing: a protocol error, nothing sent,
    # nothing failed.
    with hostile_server("double-greeting") as port:
        spool = os.path.join(tmp, "double-greeting")
        os.makedirs(spool)
        for d in ("tmp", "queue", "deferred", "sent", "failed"):
            os.makedirs(os.path.join(spool, d))
        name = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + ".000000Z.1.000000.hostile"
        with open(os.path.join(spool, "queue", name), "wb") as f:
            f.write(b"MAIL FROM:<a@example.org>\nRCPT TO:<refused@example.net>\nRCPT TO:<ok@example.net>\n\n"
                    b"From: a@example.org\nSubject: two\n\nbody\n")
        code, _, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, "--timeout", "5s", spool])
        st = states(spool)
        check(code == 69 and st["queue"] == [name] and not st["failed"] and not st["sent"],
              "double greeting: no session, the entry left as it was, got %d: %s %s" % (code, st, err))
        check(b"before the command it would answer was sent: 220 hostile.test second banner" in err,
              "double greeting: the reason is said: %s" % err)

    # --- giving up on a session: QUIT first (RFC 5321 4.1.1.10, 3.1) -----------
    # A server that greets with 554 waits for QUIT; so does one that lacks
    # the STARTTLS that --tls starttls requires. The transcript shows it.
    for mode, extra, refusal in (("refuse", [], r"^S \S+ 554 5\.7\.1 hostile\.test: client host rejected\n"),
                                 ("delay", ["--tls", "starttls"], r"^C \S+ EHLO .*\nS \S+ 250-hostile\.test\nS \S+ 250 8BITMIME\n")):
        with hostile_server(mode) as port:
            spool = os.path.join(tmp, "give-up-" + mode)
            names = make_spool(spool, 2)
            tdir = os.path.join(tmp, "t-give-up-" + mode)
            code, _, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, *extra, "--timeout", "5s",
                                                  "--transcript", tdir, spool])
            check(code == 69 and states(spool)["queue"] == names,
                  "%s: no session, the entries left as they were, got %d: %s %s" % (mode, code, err, states(spool)))
            text = "".join(open(os.path.join(tdir, t)).read() for t in os.listdir(tdir))
            check(re.search(refusal + r"C \S+ QUIT\nS \S+ 221 2\.0\.0 bye\n", text, re.M) is not None,
                  "%s: QUIT after giving up, its 221 read: %s" % (mode, text))
            check(secs < 3, "%s: given up at once (%.1f s)" % (mode, secs))

    # --- inside TLS: the same limits ------------------------------------------
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-days", "1", "-keyout", key, "-out", cert], check=True, capture_output=True)
    tls = ["--tls", "tls", "--tls-verify", "no"]
    # A handshake the server aborts with an alert (after sending its
    # certificate, self-signed): with --tls-verify no the alert is the
    # reason, not the certificate OpenSSL looked at unasked; with the check
    # on, the certificate fails first; trusted, it is the alert again.
    with hostile_server("tls-alert", (cert, key)) as port:
        for host, opts, want, unwanted in (
                ("127.0.0.1", ["--tls-verify", "no"], "alert internal error", "certificate not trusted"),
                ("127.0.0.1", [], "certificate not trusted: self-signed certificate", None),
                ("localhost", ["--ca-file", cert], "alert internal error", "certificate not trusted")):
            spool = os.path.join(tmp, "tls-alert-%d" % len(opts) + host)
            names = make_spool(spool, 1)
            code, _, err, secs, _, _ = spoolsend(["--server", "%s:%d" % (host, port), "--tls", "starttls", *opts,
                                                  "--timeout", "5s", spool])
            text = err.decode("utf-8", "replace")
            check(code == 69 and want in text and (unwanted is None or unwanted not in text),
                  "TLS alert, %s %s: %r said, got %d: %s" % (host, opts, want, code, text))
    with hostile_server("delay", (cert, key)) as port:
        spool = os.path.join(tmp, "tls-delay")
        names = make_spool(spool, 2)
        code, _, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, *tls, "--timeout", "5s", spool])
        check(code == 0 and states(spool)["sent"] == names,
              "TLS, half a second a reply: sent, got %d: %s %s" % (code, err, states(spool)))
    with hostile_server("slow-mail", (cert, key)) as port:
        spool = os.path.join(tmp, "tls-slow")
        names = make_spool(spool, 1)
        code, _, err, secs, _, _ = spoolsend(["--server", "127.0.0.1:%d" % port, *tls, "--timeout", "3s", spool])
        check(code == 1 and states(spool)["deferred"] == names, "TLS, slow MAIL reply: deferred, got %d: %s" % (code, err))
        check(2.5 < secs < 3 + 3, "TLS, slow MAIL reply: given up in %.1f s (--timeout 3s)" % secs)
        spool2 = os.path.join(tmp, "tls-slow-term")
        names2 = make_spool(spool2, 1)
        code, _, err, secs, after, _ = spoolsend(["--server", "127.0.0.1:%d" % port, *tls, "--timeout", "60s", spool2],
                                                 term_after=1.5)
        check(after < 2, "TLS, slow MAIL reply, SIGTERM: ended %.2f s after it" % after)
        check(states(spool2)["queue"] == names2, "TLS, SIGTERM: the entry stays in queue/")
        print("TLS: slow MAIL reply given up in %.2f s; SIGTERM: ended %.2f s after it" % (secs, after))
finally:
    shutil.rmtree(tmp)

print("spoolsend hostile: %s" % ("ok" if not testlib.failures else "%d failures" % testlib.failures))
sys.exit(1 if testlib.failures else 0)
