#!/usr/bin/python3
"""spoolctl: list, show, add, retry, hold, release, remove, through the real
tools (mbox2spool fills a spool, smtpsink refuses and defers by rules,
spoolsend sends), and never racing a sender (an entry locked as a sender
locks it is left alone).

Usage: spoolctl_cli.py BINDIR TESTDATA
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import testlib
from testlib import check

BIN, TESTDATA = sys.argv[1], sys.argv[2]


def run(tool, *args, stdin=None):
    return subprocess.run([os.path.join(BIN, tool), *args], capture_output=True, text=True, timeout=60, input=stdin)


def names(spool, state):
    d = os.path.join(spool, state)
    return sorted(n for n in os.listdir(d) if not n.endswith((".report", ".json", ".dsn"))) if os.path.isdir(d) else []


def main():
    tmp = tempfile.mkdtemp(prefix="msgtools-spoolctl-")
    try:
        spool = os.path.join(tmp, "out")
        r = run("mbox2spool", "-q", os.path.join(TESTDATA, "mbox", "sample.mbox.gz"), spool)
        check(r.returncode == 0, "mbox2spool: %s" % r.stderr)
        queued = names(spool, "queue")
        check(len(queued) == 20, "20 entries queued")

        # --- list ------------------------------------------------------------------
        r = run("spoolctl", "list", spool)
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and len(lines) == 20, "list: one line per entry: %d %s" % (len(lines), r.stderr))
        check("spoolctl: 20 entries" in r.stderr, "list: a count on stderr")
        check(all(re.match(r"^\S+  queue  \S+  \S+  0  <[^>]*> \d+ rcpts?$", l) for l in lines),
              "list: name, state, size, age, attempts, sender, recipients: %s" % lines[:2])
        r = run("spoolctl", "list", "--json", spool)
        objs = [json.loads(l) for l in r.stdout.splitlines()]
        check(len(objs) == 20 and all(o["state"] == "queue" and o["attempts"] == 0 and o["next_attempt"] is None
                                      and isinstance(o["recipients"], list) and o["size"] > 0 for o in objs),
              "list --json: %s" % objs[:1])
        check(run("spoolctl", "list", "--state", "nowhere", spool).returncode == 64, "an unknown state is a usage error")
        check(run("spoolctl", "list", os.path.join(tmp, "missing")).returncode == 66, "a missing spool: 66")

        # --- show ------------------------------------------------------------------
        r = run("spoolctl", "show", spool, queued[0])
        check(r.returncode == 0 and "Entry: " + queued[0] in r.stdout and "MAIL FROM:<" in r.stdout
              and "Subject: " in r.stdout, "show: envelope and header: %s" % r.stdout[:300])
        check(run("spoolctl", "show", spool, "no-such-entry").returncode == 66, "show of a missing entry: 66")

        # --- hold, release: a held entry is never sent -------------------------------
        held = queued[:2]
        r = run("spoolctl", "hold", spool, *held)
        check(r.returncode == 0 and names(spool, "hold") == held, "hold: to hold/: %s" % r.stderr)
        r = run("spoolsend", "--dry-run", "--json", spool)
        due = [json.loads(l)["entry"] for l in r.stdout.splitlines()]
        check(not set(held) & set(due) and len(due) == 18, "held entries are not due")
        r = run("spoolctl", "release", spool, held[0])
        check(r.returncode == 0 and held[0] in names(spool, "queue"), "release: back to queue/")
        r = run("spoolctl", "release", spool, queued[5])
        check(r.returncode == 1 and "nothing to release" in r.stderr, "releasing a queued entry: 1, why: %s" % r.stderr)

        # --- send: refusals and deferrals by rules ------------------------------------
        rules = os.path.join(tmp, "rules")
        with open(rules, "w") as f:
            f.write("rcpt /^user@/ 451 4.2.0 mailbox busy\n")
        sink, port = testlib.start_smtpsink(os.path.join(BIN, "smtpsink"), "--rules", rules, os.path.join(tmp, "in"))
        port = str(port)
        try:
            r = run("spoolsend", "--server", "127.0.0.1:" + port, spool)
            deferred = names(spool, "deferred")
            check(len(deferred) > 0, "some entries deferred: %s" % r.stderr[-300:])
            check(held[1] in names(spool, "hold"), "the held entry stayed in hold/ through a send")
            r = run("spoolctl", "list", "--state", "deferred", "--json", spool)
            objs = [json.loads(l) for l in r.stdout.splitlines()]
            check(objs and all(o["attempts"] == 1 and o["next_attempt"] and "451 4.2.0 mailbox busy" in o["last_reply"]
                               for o in objs), "deferred: attempts, next attempt, last reply: %s" % objs[:1])
            r = run("spoolctl", "list", "--state", "deferred", spool)
            check("last: 451 4.2.0 mailbox busy" in r.stdout and "next 20" in r.stdout, "list shows the retry: %s" % r.stdout[:300])
            # retry: due now (without it, nothing is due)
            r = run("spoolsend", "--dry-run", spool)
            check("0 entries would be sent" in r.stdout, "deferred entries are not due yet: %s" % r.stdout[-200:])
            r = run("spoolctl", "retry", spool, deferred[0])
            check(r.returncode == 0, "retry: %s" % r.stderr)
            text = open(os.path.join(spool, "deferred", deferred[0])).read()
            check("Next-Attempt:" not in text and "Attempt: " in text, "retry drops Next-Attempt, keeps the history")
            r = run("spoolsend", "--dry-run", "--json", spool)
            check([json.loads(l)["entry"] for l in r.stdout.splitlines()] == [deferred[0]], "one entry due after retry")
            r = run("spoolctl", "retry", "--all", spool)
            check(r.returncode == 0 and "retry: %d entries" % len(deferred) in r.stderr, "retry --all: %s" % r.stderr)
            # retry drops the Next-Attempt line and nothing else: a malformed
            # entry is not made sendable (no MAIL line made up, no message).
            odd = {"m-bad-mail": b"MAIL FROM:<bad address@example.org> BODY=8BITMIME\nRCPT TO:<b@example.net>\r\n"
                                 b"Next-Attempt: 2099-01-01T00:00:00Z\nX-Note: kept\n\nSubject: a\n\nb\xe9\n",
                   "m-no-message": b"MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nNext-Attempt: 2099-01-01T00:00:00Z"}
            for n, data in odd.items():
                name = "1700000000.%s.host" % n
                path = os.path.join(spool, "deferred", name)
                with open(path, "wb") as f:
                    f.write(data)
                if os.geteuid() == 0:
                    os.chown(path, 65534, 65534)   # the sender's, not root's
                r = run("spoolctl", "retry", spool, name)
                check(r.returncode == 0, "retry of %s: %s" % (n, r.stderr))
                with open(path, "rb") as f:
                    back = f.read()
                check(back == re.sub(rb"Next-Attempt: [^\n]*\n?", b"", data),
                      "retry keeps every other byte of %s: %r" % (n, back))
                if os.geteuid() == 0:
                    st = os.stat(path)
                    check((st.st_uid, st.st_gid) == (65534, 65534), "retry by root keeps the entry's owner: %s" % n)
                r = run("spoolsend", "--dry-run", "--json", spool)
                mine = [o for o in map(json.loads, r.stdout.splitlines()) if o["entry"] == name]
                check(len(mine) == 1 and mine[0]["valid"] is False, "%s stays malformed: %s" % (n, mine))
                os.unlink(path)
        finally:
            sink.terminate()
            sink.wait()

        # --- every attempt counts: sent or failed at the first try, after a deferral ----
        # (The attempt that moves an entry to sent/ or failed/ is not written
        # into it: counted all the same, as failed/NAME.json counts it.)
        counts = os.path.join(tmp, "counts")
        plain = os.path.join(tmp, "plain.eml")
        with open(plain, "w") as f:
            f.write("From: alice@example.org\nSubject: count\n\nhello\n")
        for rcpts in (["bob@example.net"], ["bob@example.net", "nobody@example.net"], ["later@example.net"]):
            r = run("spoolctl", "add", "--sender", "alice@example.org", *[a for x in rcpts for a in ("--rcpt", x)],
                    counts, plain)
            check(r.returncode == 0, "add: %s" % r.stderr)
        rules = os.path.join(tmp, "rules-counts")
        with open(rules, "w") as f:
            f.write("rcpt /^nobody@/ 550 5.1.1 no such user\nrcpt /^later@/ 451 4.2.0 try again later\n")
        sink, port = testlib.start_smtpsink(os.path.join(BIN, "smtpsink"), "--rules", rules,
                                            os.path.join(tmp, "in-counts"))
        port = str(port)
        try:
            r = run("spoolsend", "--server", "127.0.0.1:" + port, counts)
            check(r.returncode == 1 and len(names(counts, "deferred")) == 1, "first run: %s" % r.stderr)
            run("spoolctl", "retry", "--all", counts)
            second = run("spoolsend", "--json", "--max-age", "0s", "--server", "127.0.0.1:" + port, counts)
            check(second.returncode == 1 and not names(counts, "deferred"), "second run gives up: %s" % second.stderr)
        finally:
            sink.terminate()
            sink.wait()
        listed = {o["entry"]: o for o in map(json.loads, run("spoolctl", "list", "--json", counts).stdout.splitlines())}
        sent = [o for o in listed.values() if o["state"] == "sent"]
        check(len(sent) == 2 and all(o["attempts"] == 1 and o["last_attempt"] is None and o["last_reply"] is None
                                     and o["next_attempt"] is None for o in sent),
              "sent at the first try: 1 attempt, none recorded: %s" % sent)
        failed = [o for o in listed.values() if o["state"] == "failed"]
        check(sorted(o["attempts"] for o in failed) == [1, 2], "failed at the first try and after a deferral: %s" % failed)
        for o in failed:
            with open(os.path.join(counts, "failed", o["entry"] + ".json")) as f:
                report = json.load(f)
            check(o["attempts"] == report["attempts"] and o["last_reply"] is None and o["next_attempt"] is None,
                  "list agrees with failed/NAME.json: %s, %s" % (o, report))
        gave_up = [json.loads(l) for l in second.stdout.splitlines() if '"attempt"' in l]
        check([(o["outcome"], o["attempt"]) for o in gave_up] == [("failed", 2)],
              "spoolsend numbers the attempt that gave up 2: %s" % gave_up)
        r = run("spoolctl", "list", counts)
        for line in r.stdout.splitlines():
            fields = line.split("  ")
            check(fields[4] == str(listed[fields[0]]["attempts"]) and "last:" not in line,
                  "list's attempts column, no last reply for a sent or failed entry: %s" % line)

        # --- a malformed entry is placed as msgcheck places it: line and column --------
        # (in spoolsend's line, failed/NAME.report and .json, spoolctl show;
        # spoolsend --dry-run marks it, where --json says "valid": false)
        bad = os.path.join(tmp, "bad")
        for d in ("tmp", "queue"):
            os.makedirs(os.path.join(bad, d))
        bad_name = "20261123T081500.123456Z.1.000001.host"
        with open(os.path.join(bad, "queue", bad_name), "w") as f:
            f.write("MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.net\n\nSubject: x\n\nhi\n")
        r = run("msgcheck", os.path.join(bad, "queue", bad_name))
        m = re.search(r":(\d+):(\d+): error: (.*) \[envelope\.", r.stdout)
        check(m, "msgcheck places the defect: %s" % r.stdout)
        where = "malformed spool entry: line %s, column %s: %s" % m.groups() if m else "?"
        r = run("spoolsend", "--dry-run", bad)
        check(r.returncode == 0 and "(cannot be sent, would fail: %s)" % where in r.stdout
              and "0 entries would be sent, 1 would fail (cannot be sent) (dry run)" in r.stdout,
              "--dry-run marks the entry that cannot be sent: %s" % r.stdout)
        r = run("spoolctl", "show", bad, bad_name)
        check("Problem: " + where + "\n" in r.stdout, "show's problem is placed: %s" % r.stdout)
        r = run("spoolsend", "--server", "127.0.0.1:1", "--timeout", "2s", bad)
        check(r.returncode == 1 and "spoolsend: %s: failed: %s\n" % (bad_name, where) in r.stderr,
              "spoolsend says where the entry is malformed: %d %s" % (r.returncode, r.stderr))
        with open(os.path.join(bad, "failed", bad_name + ".report")) as f:
            check("Failed: " + where + "\n" in f.read(), "the report says where")
        with open(os.path.join(bad, "failed", bad_name + ".json")) as f:
            check(json.load(f).get("error") == where, "failed/NAME.json says where")
        r = run("spoolctl", "list", "--json", bad)
        check([json.loads(l).get("problem") for l in r.stdout.splitlines()] == [where], "list's problem: %s" % r.stdout)

        # --- never race a sender -------------------------------------------------------
        victim = names(spool, "deferred")[0]
        fd = os.open(os.path.join(spool, "deferred", victim), os.O_RDWR)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # as a sender holds it
        r = run("spoolctl", "hold", spool, victim)
        check(r.returncode == 1 and "held by a sender" in r.stderr, "an entry a sender holds is left alone: %s" % r.stderr)
        check(victim in names(spool, "deferred"), "and stays where it is")
        os.close(fd)
        check(run("spoolctl", "hold", spool, victim).returncode == 0, "once let go, it can be held")

        # --- remove ------------------------------------------------------------------------
        r = run("spoolctl", "remove", spool, victim, held[1])
        check(r.returncode == 0 and victim not in names(spool, "hold") and held[1] not in names(spool, "hold"),
              "remove: %s" % r.stderr)
        check(run("spoolctl", "remove", spool, victim).returncode == 66, "removing a missing entry: 66")

        # --- add -------------------------------------------------------------------------------
        fresh = os.path.join(tmp, "fresh")
        message = "From: J\u00fcrgen <j@example.org>\nTo: Bob <bob@example.net>, carol@example.net\nSubject: hi\n\nbody\n"
        r = run("spoolctl", "add", "-t", fresh, stdin=message)
        check(r.returncode == 0 and len(names(fresh, "queue")) == 1, "add -t: %s" % r.stderr)
        entry = open(os.path.join(fresh, "queue", names(fresh, "queue")[0]), encoding="utf-8").read()
        check(entry.startswith("MAIL FROM:<j@example.org> SMTPUTF8\nRCPT TO:<bob@example.net>\nRCPT TO:<carol@example.net>\n\n"),
              "add -t: envelope from the header, SMTPUTF8 because of it: %r" % entry[:120])
        msgfile = os.path.join(tmp, "m.eml")
        with open(msgfile, "w") as f:
            f.write("From: a@example.org\nSubject: x\n\nGr\u00fc\u00dfe\n")
        r = run("spoolctl", "add", "--sender", "<a@example.org>", "--rcpt", "b@example.net", fresh, msgfile)
        check(r.returncode == 0 and r.stdout.strip() in names(fresh, "queue"), "add with options prints the entry's name")
        r = run("msgcheck", "--spool", "--json", os.path.join(fresh, "queue"))
        bad = [l for l in r.stdout.splitlines() if '"envelope.' in l]
        check(not bad, "added entries have no envelope defect: %s" % bad)
        check(run("spoolctl", "add", fresh, msgfile).returncode == 64, "add without an envelope: 64")
        check(run("spoolctl", "add", "--sender", "a@example.org", "--rcpt", "not an address", fresh, msgfile).returncode == 64,
              "add with a bad recipient: 64")
        # -t as sendmail -t: a Bcc recipient gets the message, the Bcc field goes.
        bcc = os.path.join(tmp, "bcc")
        r = run("spoolctl", "add", "-t", bcc, stdin="From: a@example.org\nTo: b@example.net\nBcc: secret@example.net\n"
                                                    "Subject: hi\n\nbody\n")
        entry = open(os.path.join(bcc, "queue", r.stdout.strip())).read()
        check(r.returncode == 0 and "RCPT TO:<secret@example.net>\n" in entry and "Bcc:" not in entry
              and "\n\nFrom: a@example.org\nTo: b@example.net\nSubject: hi\nDate: " in entry
              and "\nMessage-ID: <" in entry and entry.endswith("\n\nbody\n"),
              "add -t sends to Bcc and removes the field: %r" % entry)
        # A submission gets the Date and Message-ID it lacks, at the header's
        # end, once: what it has stays; --verbatim adds nothing.
        sub = os.path.join(tmp, "submit")
        env = dict(os.environ, SOURCE_DATE_EPOCH="1795000000")
        r = subprocess.run([os.path.join(BIN, "spoolctl"), "add", "-t", sub], input="From: a@example.org\nTo: b@example.net\n\nbody\n",
                           capture_output=True, text=True, env=env)
        entry = open(os.path.join(sub, "queue", r.stdout.strip())).read()
        check(r.returncode == 0 and "\nDate: Wed, 18 Nov 2026 " in entry and entry.count("Message-ID:") == 1,
              "add gives a Date (SOURCE_DATE_EPOCH) and a Message-ID: %r" % entry)
        kept = "From: a@example.org\nTo: b@example.net\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <k@example.org>\n\nbody\n"
        r = run("spoolctl", "add", "-t", sub, stdin=kept)
        entry = open(os.path.join(sub, "queue", r.stdout.strip())).read()
        check(r.returncode == 0 and entry.endswith("\n\n" + kept), "a message with both is enqueued as it is: %r" % entry)
        r = run("spoolctl", "add", "--verbatim", "-t", sub, stdin="From: a@example.org\nTo: b@example.net\n\nbody\n")
        entry = open(os.path.join(sub, "queue", r.stdout.strip())).read()
        check(r.returncode == 0 and entry.endswith("\n\nFrom: a@example.org\nTo: b@example.net\n\nbody\n"),
              "--verbatim adds nothing: %r" % entry)
        # Too large for the rewrite that removes Bcc: not enqueued with the field in it.
        big = "From: a@example.org\nTo: b@example.net\nBcc: secret@example.net\n\n" + ("x" * 999 + "\n") * (70 << 10)
        r = run("spoolctl", "add", "-t", bcc, stdin=big)
        check(r.returncode == 65 and "Bcc" in r.stderr and len(names(bcc, "queue")) == 1,
              "add -t of a message too large to lose its Bcc: refused: %d %s" % (r.returncode, r.stderr))
        # A Bcc past the parser's limits on a header (10,000 fields) can be
        # neither removed nor read: refused, never sent with the field.
        many = "From: a@example.org\nTo: b@example.net\n" + "X-N: 1\n" * 10001 + "Bcc: late@example.net\n\nx\n"
        r = run("spoolctl", "add", "-t", bcc, stdin=many)
        check(r.returncode == 65 and "header.too-many-fields" in r.stderr and len(names(bcc, "queue")) == 1,
              "add -t of a header over the limits: refused: %d %s" % (r.returncode, r.stderr))
        # A recipient left out is said (as mbox2spool says it), the others enqueued.
        r = run("spoolctl", "add", "-t", bcc, stdin="From: a@example.org\nTo: ok@example.net, user@-bad-.example\n\nx\n")
        check(r.returncode == 0 and "not a usable address, left out: user@-bad-.example" in r.stderr,
              "add -t says what it left out: %d %s" % (r.returncode, r.stderr))
        # An address over RFC 5321's limits is not a mailbox: spoolsend would refuse the entry.
        check(run("spoolctl", "add", "--sender", "a@example.org", "--rcpt", "a" * 65 + "@example.org", fresh,
                  msgfile).returncode == 64, "add with a local part over 64 octets: 64")
        r = run("spoolctl", "add", "-t", fresh, stdin="Subject: no addresses\n\nx\n")
        check(r.returncode == 65, "add -t without addresses: 65 (%d)" % r.returncode)
        check(run("spoolctl", "frobnicate", fresh).returncode == 64, "an unknown command: 64")
        # An option of another command is refused, never ignored: show --json
        # printed text to a reader of JSON, retry --state queue --all retried
        # every deferred entry.
        one = names(fresh, "queue")[0]
        before = {s: names(fresh, s) for s in ("queue", "deferred", "hold")}
        for args, said in ((("show", "--json", fresh, one), "--json goes with list, not show"),
                           (("retry", "--state", "queue", "--all", fresh), "--state goes with list, not retry"),
                           (("hold", "--sender", "a@example.org", fresh, one), "--sender goes with add, not hold"),
                           (("list", "-t", fresh), "-t goes with add, not list"),
                           (("add", "--json", "--sender", "a@example.org", "--rcpt", "b@example.net", fresh, msgfile),
                            "--json goes with list, not add"),
                           (("remove", "--verbatim", fresh, one), "--verbatim goes with add, not remove"),
                           (("list", "--all", fresh), "--all goes with retry, hold and release, not list")):
            r = run("spoolctl", *args)
            check(r.returncode == 64 and said in r.stderr and not r.stdout,
                  "spoolctl %s: refused: %d %s" % (" ".join(args[:2]), r.returncode, r.stderr))
        check({s: names(fresh, s) for s in before} == before, "a refused command changes nothing")
        # A default from the config file is only for the commands that take it.
        config = os.path.join(tmp, "config")
        os.makedirs(os.path.join(config, "msgtools"))
        with open(os.path.join(config, "msgtools", "config"), "w") as f:
            f.write("[spoolctl]\njson =\nstate = queue\n")
        r = subprocess.run([os.path.join(BIN, "spoolctl"), "show", fresh, one], capture_output=True, text=True,
                           env=dict(os.environ, XDG_CONFIG_HOME=config))
        check(r.returncode == 0 and r.stdout.startswith("Entry: "),
              "json and state in the config file are no error in show: %d %s" % (r.returncode, r.stderr))
        for cmd in ("show", "hold", "release", "retry", "remove"):
            check(run("spoolctl", cmd, fresh, ".hidden").returncode == 66, "%s of a name no entry can have: 66" % cmd)

        # --- a failed entry's report is read as a file, never through a link; names are escaped
        odd = os.path.join(tmp, "odd")
        r = run("spoolctl", "add", "--sender", "a@example.org", "--rcpt", "b@example.net", odd, msgfile)
        name = r.stdout.strip()
        os.rename(os.path.join(odd, "queue", name), os.path.join(odd, "failed", name))
        with open(os.path.join(tmp, "secret"), "w") as f:
            f.write("root:secret-hash\n")
        os.symlink(os.path.join(tmp, "secret"), os.path.join(odd, "failed", name + ".report"))
        r = run("spoolctl", "show", odd, name)
        check(r.returncode == 74 and "secret-hash" not in r.stdout and "Report:" not in r.stdout,
              "show does not follow a link planted as the report: %d %s" % (r.returncode, r.stdout[-200:]))
        os.unlink(os.path.join(odd, "failed", name + ".report"))
        with open(os.path.join(odd, "failed", name + ".report"), "w") as f:
            f.write("550 5.1.1 no such user \x1b[2J\n")
        r = run("spoolctl", "show", odd, name)
        check(r.returncode == 0 and "Report:\n550 5.1.1 no such user \\x1b[2J\n" in r.stdout,
              "show escapes the report's control bytes: %r" % r.stdout[-200:])
        forged = "1700000000.x\n1700000001.y  sent  9  0s  0  <forged@example.org> 1 rcpt\x1b[2J.host"
        shutil.copy(os.path.join(odd, "failed", name), os.path.join(odd, "queue", forged))
        r = run("spoolctl", "list", odd)
        check(len(r.stdout.splitlines()) == 2 and "\x1b" not in r.stdout and "\\x0a" in r.stdout,
              "list: one line per entry, control bytes of a name escaped: %r" % r.stdout)

        # --- an entry that cannot be read is an I/O error, not a missing one ----------------
        # (Root reads anything: as nobody, where setpriv can run the tools so.)
        if os.geteuid() == 0 and shutil.which("setpriv"):
            as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            locked = os.path.join(tmp, "locked")
            r = run("mbox2spool", "-q", os.path.join(TESTDATA, "mbox", "sample.mbox.gz"), locked)
            for d, _, files in os.walk(tmp):
                os.chmod(d, 0o777)
                for f in files:
                    os.chmod(os.path.join(d, f), 0o666)
            victim = names(locked, "queue")[0]
            moved = names(locked, "queue")[1]
            os.rename(os.path.join(locked, "queue", moved), os.path.join(locked, "deferred", moved))
            os.chmod(os.path.join(locked, "queue", victim), 0)
            # nobody runs copies of the tools: the build tree may be where
            # nobody cannot go (root's home, mode 700).
            nobody_bin = os.path.join(tmp, "bin")
            os.mkdir(nobody_bin, 0o755)
            for tool in ("spoolctl", "spoolsend"):
                shutil.copy(os.path.join(BIN, tool), nobody_bin)
            def nobody(*args):
                return subprocess.run(as_nobody + [os.path.join(nobody_bin, args[0]), *args[1:]], capture_output=True,
                                      text=True, timeout=60)
            if nobody("spoolctl", "--help").returncode != 0:
                print("note: nobody cannot run spoolctl; the unreadable-entry checks are not run")
            else:
                r = nobody("spoolctl", "list", locked)
                check(r.returncode == 74 and victim in r.stderr and "Permission denied" in r.stderr
                      and len(r.stdout.splitlines()) == 19, "list names the entry it cannot read: %d %s %d" %
                      (r.returncode, r.stderr, len(r.stdout.splitlines())))
                r = nobody("spoolctl", "show", locked, victim)
                check(r.returncode == 74 and "Permission denied" in r.stderr, "show: %d %s" % (r.returncode, r.stderr))
                deferred = names(locked, "deferred")[0]
                os.chmod(os.path.join(locked, "deferred", deferred), 0)
                r = nobody("spoolsend", "--server", "127.0.0.1:1", "--timeout", "2s", locked)
                check(r.returncode != 0 and deferred + ": Permission denied" in r.stderr,
                      "spoolsend says which deferred entry it cannot read: %d %s" % (r.returncode, r.stderr[-300:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if testlib.failures:
        print("%d failures" % testlib.failures)
        sys.exit(1)
    print("spoolctl: all checks passed")


main()
