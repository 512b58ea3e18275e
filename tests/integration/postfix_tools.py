"""Postfix's smtp-sink and smtp-source, the reference server and client of the
SMTP tests.

ctest passes their paths in MSG_SMTP_SINK and MSG_SMTP_SOURCE
(tests/integration/CMakeLists.txt): the installed Postfix's, or those of a
postfix package unpacked without being installed (scripts/test.sh does so on a
host where another mail server is installed), whose libraries are then in
MSG_POSTFIX_LIBDIR. A program that is missing or does not run is reported
once, and the checks that need it are skipped.
"""
import os
import subprocess

_VARIABLES = {"smtp-sink": "MSG_SMTP_SINK", "smtp-source": "MSG_SMTP_SOURCE"}


def env():
    """The environment to run them in: the unpacked package's libraries first."""
    e = dict(os.environ)
    libdir = os.environ.get("MSG_POSTFIX_LIBDIR")
    if libdir:
        e["LD_LIBRARY_PATH"] = libdir + (":" + e["LD_LIBRARY_PATH"] if e.get("LD_LIBRARY_PATH") else "")
    return e


def tool(name):
    """The path of `name` (smtp-sink or smtp-source) when it runs, else None
    after saying on standard output which checks are skipped and why."""
    path = os.environ.get(_VARIABLES[name]) or os.path.join("/usr/sbin", name)
    reason = None
    if not os.access(path, os.X_OK):
        reason = "%s not found" % path
    else:
        # Without arguments either program prints its usage and exits 1.
        try:
            r = subprocess.run([path], capture_output=True, text=True, timeout=10, env=env())
            if "usage" not in r.stderr:
                reason = "%s does not run: %s" % (path, r.stderr.strip() or "exit %d" % r.returncode)
        except OSError as e:
            reason = "%s does not run: %s" % (path, e)
    if reason:
        print("skipped: the checks with Postfix's %s (%s); scripts/test.sh installs or unpacks "
              "the postfix package" % (name, reason))
        return None
    return path
