#!/bin/sh
# jobs.sh BINDIR - msgcheck -j N and msgshow --stats -j N print the same
# bytes as with one thread (standard output, standard error, exit status),
# diagnostics in input order: over a directory of many messages, a large
# archive, both together, standard input, and inputs that cannot be read
# between them; and mbox2spool makes the same entries with its writing
# thread as without it. Run from the top of the source tree.
set -u
BIN=$1
. "$(dirname "$0")/lib.sh"

# A directory of many messages: every test message, several times over,
# in subdirectories (many defects, so that much is printed), and an
# archive of the same messages (From_ lines, mboxrd quoting).
mkdir -p "$tmp/many"
k=0
for copy in 1 2 3; do
    for f in testdata/defects/*/* testdata/clean/* testdata/messages/* testdata/mimekit/messages/*; do
        [ -f "$f" ] || continue
        k=$((k + 1))
        d="$tmp/many/$copy/$(basename "$(dirname "$f")")"
        mkdir -p "$d"
        cp "$f" "$d/$k.eml"
    done
done
find "$tmp/many" -type f | sort | while read -r f; do
    printf 'From sender@example.org Mon Nov 23 09:15:00 2026\n'
    sed 's/^\(>*From \)/>\1/' "$f"
    [ -n "$(tail -c 1 "$f")" ] && printf '\n'
    printf '\n'
done > "$tmp/many.mbox"
messages=$(find "$tmp/many" -type f | wc -l)
[ "$messages" -gt 500 ] || { echo "FAIL: only $messages test messages"; fail=1; }

# same TOOL ARGS...: TOOL -j 1 ARGS and TOOL -j N ARGS (N = 2, 3, 8) print
# the same and exit the same.
same() {
    tool=$1
    shift
    "$BIN/$tool" -j 1 "$@" > "$tmp/out1" 2> "$tmp/err1"
    echo $? > "$tmp/rc1"
    [ -s "$tmp/out1" ] || [ -s "$tmp/err1" ] || { echo "FAIL: $tool $*: printed nothing"; fail=1; }
    for n in 2 3 8; do
        "$BIN/$tool" -j $n "$@" > "$tmp/out$n" 2> "$tmp/err$n"
        echo $? > "$tmp/rc$n"
        cmp -s "$tmp/out1" "$tmp/out$n" || { echo "FAIL: $tool -j $n $*: standard output differs from -j 1"; fail=1; }
        cmp -s "$tmp/err1" "$tmp/err$n" || { echo "FAIL: $tool -j $n $*: standard error differs from -j 1"; fail=1; }
        cmp -s "$tmp/rc1" "$tmp/rc$n" || { echo "FAIL: $tool -j $n $*: exit $(cat "$tmp/rc$n"), -j 1 exits $(cat "$tmp/rc1")"; fail=1; }
    done
}

same msgcheck "$tmp/many"
same msgcheck --format json "$tmp/many"
same msgcheck --format sarif "$tmp/many"
same msgcheck -q --select line,mime "$tmp/many"
same msgcheck --mbox "$tmp/many.mbox"
# An archive of many pieces (framed by the threads, 2 MiB a piece with
# -j 8): the messages are numbered across the pieces as in one.
cat "$tmp/many.mbox" "$tmp/many.mbox" "$tmp/many.mbox" "$tmp/many.mbox" > "$tmp/large.mbox"
same msgcheck --mbox --format json "$tmp/large.mbox"
same msgshow --stats --mbox "$tmp/large.mbox"
same msgcheck --mbox --format json "$tmp/many.mbox" testdata/mbox/sample.mbox.gz
# inputs that cannot be read, between others: their complaint comes in its place
same msgcheck "$tmp/many/1" "$tmp/missing.eml" "$tmp/many/2" "$tmp/missing-dir/" "$tmp/many/3"
same msgcheck --mbox "$tmp/many.mbox" "$tmp/missing.mbox" testdata/mbox/sample.mbox.gz
same msgcheck --mbox testdata/mbox testdata/mimekit/mbox
same msgshow --stats "$tmp/many"
same msgshow --stats "$tmp/many/1" "$tmp/missing.eml" "$tmp/many/2"
same msgshow --stats --mbox "$tmp/many.mbox" testdata/mbox testdata/mimekit/mbox

# The diagnostics of the directory are in the order of its files (sorted
# by name), as the complaint about the missing file is between those of
# the directories around it.
"$BIN/msgcheck" -j 3 "$tmp/many/1" "$tmp/missing.eml" "$tmp/many/2" > "$tmp/out" 2> "$tmp/err"
cut -d: -f1 "$tmp/out" | uniq > "$tmp/files"
LC_ALL=C sort -c "$tmp/files" 2>/dev/null || { echo "FAIL: msgcheck -j 3: diagnostics not in the order of the files"; fail=1; }
has "$tmp/err" "missing.eml"

# Standard input, a message and an archive.
"$BIN/msgcheck" -j 1 --mbox - < "$tmp/many.mbox" > "$tmp/in1" 2>&1
"$BIN/msgcheck" -j 2 --mbox - < "$tmp/many.mbox" > "$tmp/in2" 2>&1
cmp -s "$tmp/in1" "$tmp/in2" || { echo "FAIL: msgcheck -j 2 --mbox - differs from -j 1"; fail=1; }
f=testdata/defects/line.bare-cr/$(ls testdata/defects/line.bare-cr | head -n 1)
"$BIN/msgcheck" -j 1 - < "$f" > "$tmp/in1" 2>&1
"$BIN/msgcheck" -j 4 - < "$f" > "$tmp/in2" 2>&1
cmp -s "$tmp/in1" "$tmp/in2" || { echo "FAIL: msgcheck -j 4 - differs from -j 1"; fail=1; }

# mbox2spool writes its entries in a second thread when it has a second
# core: on one core (taskset) and on all it makes the same entries, in the
# same order, and prints the same lines (entry names aside: they carry the
# time and the process; an entry's line comes once it is durable, so the
# lines are compared sorted).
if command -v taskset > /dev/null && [ "$(nproc)" -gt 1 ]; then
    for cores in one all; do
        run=""
        [ $cores = one ] && run="taskset -c 0"
        $run "$BIN/mbox2spool" --json "$tmp/many.mbox" testdata/mbox/sample.mbox.gz "$tmp/spool-$cores" \
            > "$tmp/m2s-$cores.out" 2> "$tmp/m2s-$cores.err"
        echo $? > "$tmp/m2s-$cores.rc"
        sed 's/"entry": *"[^"]*"/"entry": "E"/' "$tmp/m2s-$cores.out" | LC_ALL=C sort > "$tmp/m2s-$cores.json"
        for e in $(ls "$tmp/spool-$cores/queue"); do cat "$tmp/spool-$cores/queue/$e"; done > "$tmp/m2s-$cores.entries"
    done
    for what in json err rc entries; do
        cmp -s "$tmp/m2s-one.$what" "$tmp/m2s-all.$what" ||
            { echo "FAIL: mbox2spool on one core and on all: $what differs"; fail=1; }
    done
    n=$(ls "$tmp/spool-all/queue" | wc -l)
    [ "$n" -gt 300 ] || { echo "FAIL: mbox2spool enqueued only $n entries"; fail=1; }   # each message once
fi

# The default is the number of cores; a count out of range is a usage error.
"$BIN/msgcheck" "$tmp/many" > "$tmp/outd" 2> "$tmp/errd"
"$BIN/msgcheck" -j 1 "$tmp/many" > "$tmp/out1" 2> "$tmp/err1"
cmp -s "$tmp/out1" "$tmp/outd" || { echo "FAIL: msgcheck without -j differs from -j 1"; fail=1; }
expect 64 "from 1 to 1024" "$BIN/msgcheck" -j 0 "$tmp/many"
expect 64 "from 1 to 1024" "$BIN/msgshow" --stats --jobs 5000 "$tmp/many"
expect 64 "" "$BIN/msgcheck" -j x "$tmp/many"
"$BIN/msgcheck" --help > "$tmp/help"
has "$tmp/help" "--jobs"
"$BIN/msgshow" --help > "$tmp/help"
has "$tmp/help" "--jobs"

exit $fail
