#!/usr/bin/env python3
"""gen_spool.py - a spool of N empty entries, for the benchmark of its listing.

usage: gen_spool.py [--entries N] [--seed S] [--copies K] SPOOL

Makes SPOOL (it must not exist) with its state directories and N entries in
queue/, each an empty file named as mbox2spool names its entries (time, pid,
counter, host, and an "n" key of 16 hex digits drawn from the seed); one
entry in K (default 10) takes the key of an earlier one, as a message found
in two archives does. The entries are empty: the listing reads names only.
"""
import argparse
import os
import random
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("spool")
    a = ap.parse_args()
    os.mkdir(a.spool)
    for d in ("queue", "deferred", "hold", "sent", "failed", "tmp"):
        os.mkdir(os.path.join(a.spool, d))
    rng = random.Random(a.seed)
    dirfd = os.open(os.path.join(a.spool, "queue"), os.O_RDONLY | os.O_DIRECTORY)
    keys = []
    for i in range(a.entries):
        if keys and a.copies > 0 and i % a.copies == 0:
            key = keys[rng.randrange(len(keys))]
        else:
            key = "n%016x" % rng.getrandbits(64)
            keys.append(key)
        sec, micro = divmod(i, 1_000_000)
        name = "20261123T08%02d%02d.%06dZ.4242.%06d.bench-example-org.%s" % (
            sec // 60 % 60, sec % 60, micro, i % 1_000_000, key)
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600, dir_fd=dirfd))
    os.close(dirfd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
