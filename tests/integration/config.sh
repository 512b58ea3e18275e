#!/bin/sh
# config.sh BINDIR - every tool runs with an empty $XDG_CONFIG_HOME/msgtools/config,
# and an option set in a tool's section of the file takes effect (the command
# line still wins). Run from the project's top directory.
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }
export XDG_CONFIG_HOME="$T/config"
mkdir -p "$XDG_CONFIG_HOME/msgtools"
CONFIG="$XDG_CONFIG_HOME/msgtools/config"
MSG=testdata/clean/plain-utf8-8bit.eml

# An empty file changes nothing.
: > "$CONFIG"
for t in msgshow msgcheck msgrewrite mbox2spool spool2mbox spoolsend smtpreplay smtpsink spoolctl; do
    "$BIN/$t" --version > /dev/null 2> "$T/err" || no "$t with an empty config file: $(cat "$T/err")"
done
"$BIN/msgshow" "$MSG" > /dev/null || no "msgshow runs with an empty config file"

# One option of each tool, set in its section.
"$BIN/mbox2spool" -q testdata/mbox/sample.mbox.gz "$T/spool" || no "mbox2spool made a spool"
cat > "$CONFIG" <<'EOF'
# a comment
[msgshow]
json =
[msgcheck]
json =
[msgrewrite]
7bit =
[mbox2spool]
json =
[spool2mbox]
envelope =
[spoolsend]
jobs = 2
dry-run =
[smtpreplay]
json =
[smtpsink]
hostname = configured.test
[spoolctl]
json =
EOF
"$BIN/msgshow" "$MSG" | head -c 1 | grep -q '{' || no "[msgshow] json"
"$BIN/msgcheck" testdata/defects/date.weekday/wrong-weekday.eml 2>/dev/null | grep -q '"defect": "date.weekday"' ||
    no "[msgcheck] json"
"$BIN/msgrewrite" "$MSG" | LC_ALL=C grep -q "$(printf '[\200-\377]')" && no "[msgrewrite] 7bit"
"$BIN/mbox2spool" testdata/mbox/sample.mbox.gz "$T/spool2" | head -n 1 | grep -q '"status": "enqueued"' ||
    no "[mbox2spool] json"
"$BIN/spool2mbox" "$T/spool" 2>/dev/null | grep -q '^X-Envelope-From: ' || no "[spool2mbox] envelope"
"$BIN/spoolsend" "$T/spool" > "$T/out" 2>&1 || no "[spoolsend] jobs and dry-run: $(cat "$T/out")"
grep -q 'would be sent (dry run)' "$T/out" || no "[spoolsend] dry-run"
"$BIN/smtpreplay" --check testdata/transcripts/*.txt 2>/dev/null | head -n 1 | grep -q '^{' || no "[smtpreplay] json"
"$BIN/spoolctl" list "$T/spool" 2>/dev/null | head -n 1 | grep -q '^{"entry"' || no "[spoolctl] json"
"$BIN/smtpsink" --listen 127.0.0.1:0 --discard --sessions 1 > "$T/sink" 2>/dev/null &
sink=$!
for _ in $(seq 50); do grep -q 'listening on' "$T/sink" && break; sleep 0.2; done   # 10 s on a busy machine
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/sink")
if [ -n "$port" ]; then
    greeting=$(/usr/bin/python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1', $port)); print(s.recv(200).decode()); s.sendall(b'QUIT\r\n'); s.recv(200)")
    echo "$greeting" | grep -q 'configured.test' || no "[smtpsink] hostname: $greeting"
else
    no "smtpsink did not start"
fi
kill "$sink" 2>/dev/null; wait "$sink" 2>/dev/null

# The command line wins over the file.
"$BIN/msgcheck" --json testdata/clean/plain-us-ascii.eml > /dev/null 2>&1 || no "msgcheck --json with json set in the file"
printf '[spoolsend]\njobs = 0\n' > "$CONFIG"
"$BIN/spoolsend" --dry-run -j 1 "$T/spool" > /dev/null 2>&1 || no "-j 1 on the command line wins over jobs = 0"
"$BIN/spoolsend" --dry-run "$T/spool" > /dev/null 2>&1; [ $? -eq 64 ] || no "jobs = 0 from the file is checked (64)"

# ... also for an option that may be repeated: the command line's values
# replace the file's, they are not added to them.
WEEKDAY=testdata/defects/date.weekday/wrong-weekday.eml
printf '[msgcheck]\nignore = date\n' > "$CONFIG"
"$BIN/msgcheck" --ignore line "$WEEKDAY" 2>/dev/null | grep -q 'date.weekday' || no "--ignore replaces ignore = date"
printf '[msgcheck]\nformat = json\n' > "$CONFIG"
"$BIN/msgcheck" --format text "$WEEKDAY" > "$T/out" 2> "$T/err" || no "format = json, --format text: $(cat "$T/err")"
grep -q '^{' "$T/out" && no "format = json, --format text: JSON"
printf '[msgcheck]\nformat = mboxo\n' > "$CONFIG"
"$BIN/msgcheck" --mbox --format mboxrd testdata/mbox/sample.mbox.gz > /dev/null 2> "$T/err" ||
    no "format = mboxo, --mbox --format mboxrd: $(cat "$T/err")"
# And an option the command line gives drops the file's options it excludes
# (the tools still refuse them together on the command line, or in the file).
# wins CONFIG TOOL ARGS...: with that file (printf's format), the run exits 0.
wins() {
    printf "$1" > "$CONFIG"
    shift
    "$@" > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || no "$(tr '\n' ' ' < "$CONFIG")and $*: exit $rc: $(cat "$T/err")"
}
wins '[msgcheck]\njson =\n' "$BIN/msgcheck" --format sarif -q "$WEEKDAY"
grep -q '"version": "2.1.0"' "$T/out" || no "json =, --format sarif: no SARIF"
wins '[msgcheck]\nformat = sarif\n' "$BIN/msgcheck" --json "$WEEKDAY"
grep -q '^{"source"' "$T/out" || no "format = sarif, --json: no JSON Lines"
# (an mbox format on the command line does not exclude the output format)
wins '[msgcheck]\njson =\n' "$BIN/msgcheck" --mbox --format mboxrd testdata/mbox/sample.mbox.gz
grep -q '^{"source"' "$T/out" || no "json =, --mbox --format mboxrd: the output is not JSON"
wins '[msgcheck]\nmboxo =\n' "$BIN/msgcheck" --mbox --format mboxcl2 testdata/mbox/mboxcl2/archive.mbox
wins '[msgcheck]\nformat = mboxcl\n' "$BIN/msgcheck" --mbox --mboxo testdata/mbox/mboxo/archive.mbox
CRLF=testdata/clean/crlf-line-endings.eml
wins '[msgrewrite]\nlf = true\n' "$BIN/msgrewrite" --crlf "$CRLF"
cmp -s "$T/out" "$CRLF" || no "lf = true, --crlf: not CRLF"
cp "$MSG" "$T/in-place.eml"
wins '[msgrewrite]\nin-place =\n' "$BIN/msgrewrite" --7bit -o "$T/rewritten.eml" "$T/in-place.eml"
[ -s "$T/rewritten.eml" ] || no "in-place =, -o: nothing written to -o"
wins '[msgrewrite]\nin-place =\n' "$BIN/msgrewrite" --7bit --dry-run "$T/in-place.eml"
cmp -s "$T/in-place.eml" "$MSG" || no "in-place =, -o or --dry-run: the input was rewritten"
printf '[msgrewrite]\ncrlf =\nlf =\n' > "$CONFIG"
"$BIN/msgrewrite" "$CRLF" > /dev/null 2> "$T/err"; [ $? -eq 64 ] || no "crlf and lf in the file: not 64"
grep -q "$CONFIG:3: note: .*'lf ='" "$T/err" || no "crlf and lf in the file: the lines are not named: $(cat "$T/err")"
wins '[msgshow]\nstats =\n' "$BIN/msgshow" --json "$MSG"
grep -q '^{"source"' "$T/out" || no "stats =, --json: no JSON"
wins '[msgshow]\njson =\n' "$BIN/msgshow" --extract 1 "$MSG"
wins '[spoolsend]\nwatch =\n' "$BIN/spoolsend" --once --dry-run "$T/spool"
wins "[spool2mbox]\nmaildir = $T/maildir\n" "$BIN/spool2mbox" -o "$T/out.mbox" --gzip "$T/spool"
[ -s "$T/out.mbox" ] && [ ! -e "$T/maildir" ] || no "maildir =, -o --gzip: not written as an archive"
# smtpreplay: a mode on the command line drops the file's server; what only
# a replay takes is no error without one (a default for replays).
TRANSCRIPT=testdata/transcripts/native-spoolsend.txt
wins '[smtpreplay]\nserver = 127.0.0.1:1\n' "$BIN/smtpreplay" --check "$TRANSCRIPT"
wins '[smtpreplay]\nserver = 127.0.0.1:1\n' "$BIN/smtpreplay" --convert cs "$TRANSCRIPT"
for o in 'ca-file = /nonexistent' 'tls =' 'no-data =' 'auth-file = /nonexistent'; do
    wins "[smtpreplay]\n$o\n" "$BIN/smtpreplay" "$TRANSCRIPT"
done
"$BIN/smtpreplay" --no-data "$TRANSCRIPT" > /dev/null 2>&1; [ $? -eq 64 ] || no "smtpreplay --no-data without --server: not 64"
# smtpsink: --script drops the file's rules.
printf '[smtpsink]\nrules = /nonexistent\n' > "$CONFIG"
"$BIN/smtpsink" --script "$TRANSCRIPT" --listen 127.0.0.1:0 > "$T/sink" 2> "$T/sink.err" &
sink=$!
for _ in $(seq 50); do grep -q 'listening on' "$T/sink" && break; sleep 0.2; done   # 10 s on a busy machine
grep -q 'listening on' "$T/sink" || no "rules =, --script: smtpsink did not start: $(cat "$T/sink.err")"
kill "$sink" 2>/dev/null; wait "$sink" 2>/dev/null

# A bad file is a usage error that names it and the line (FILE:LINE:), and
# does not send to --help: the command line is not at fault.
# bad_config LINE... : each LINE alone on line 3 of [msgcheck] is refused so.
bad_config() {
    for line in "$@"; do
        printf '# line 1\n[msgcheck]\n%s\n' "$line" > "$CONFIG"
        "$BIN/msgcheck" "$MSG" > /dev/null 2> "$T/err"; rc=$?
        [ $rc -eq 64 ] || no "'$line' in the file: exit $rc, not 64"
        grep -q "^msgcheck: $CONFIG:3: " "$T/err" || no "'$line': the error names the file and line: $(cat "$T/err")"
        grep -q -- "--help" "$T/err" && no "'$line': the error sends to --help: $(cat "$T/err")"
    done
}
bad_config 'no-such-option = 1' 'jobs = abc' 'this line is junk' '= 1' 'json = maybe' 'input = x.eml'
# ... also in another tool's section (the file is every tool's), and an
# option set twice is named at its second line.
printf '[msgshow]\njunk\n' > "$CONFIG"
"$BIN/msgcheck" "$MSG" > /dev/null 2> "$T/err"; [ $? -eq 64 ] || no "a junk line in [msgshow]: exit 64"
grep -q "^msgcheck: $CONFIG:2: " "$T/err" || no "a junk line in [msgshow] is named: $(cat "$T/err")"
printf '[msgcheck]\njobs = 2\njobs = 3\n' > "$CONFIG"
"$BIN/msgcheck" "$MSG" > /dev/null 2> "$T/err"; [ $? -eq 64 ] || no "an option set twice: exit 64"
grep -q "^msgcheck: $CONFIG:3: .*line 2" "$T/err" || no "an option set twice is named: $(cat "$T/err")"
# A value the tool refuses after reading it (jobs = 0): the lines of the file
# the run took are named after the tool's message.
printf '[spoolsend]\n# the default\njobs = 0\n' > "$CONFIG"
"$BIN/spoolsend" --dry-run "$T/spool" > /dev/null 2> "$T/err"; [ $? -eq 64 ] || no "jobs = 0: exit 64"
grep -q "^spoolsend: $CONFIG:3: note: .*'jobs = 0'" "$T/err" || no "jobs = 0 is named: $(cat "$T/err")"
# --server may be given again (fallback servers): so may server = in the
# file, each line one more server, tried in order; the command line's
# --server replaces them all.
"$BIN/mbox2spool" -q testdata/mbox/sample.mbox.gz "$T/fallback" || no "mbox2spool made a spool for fallbacks"
printf '[spoolsend]\nserver = 127.0.0.1:1\nserver = 127.0.0.1:2\n' > "$CONFIG"
"$BIN/spoolsend" "$T/fallback" > /dev/null 2> "$T/err"; [ $? -eq 69 ] || no "two server = lines: exit 69: $(cat "$T/err")"
grep -q 'trying 127.0.0.1:2' "$T/err" || no "the second server = line is a fallback: $(cat "$T/err")"
"$BIN/spoolsend" --server 127.0.0.1:3 "$T/fallback" > /dev/null 2> "$T/err"
grep -q '127.0.0.1:[12]\b' "$T/err" && no "--server replaces the file's servers: $(cat "$T/err")"
grep -q '127.0.0.1:3' "$T/err" || no "--server is used: $(cat "$T/err")"
# A flag is set by "NAME =" or "NAME = true"; "NAME = false" leaves it unset
# (Boost's reader set it for any value).
CRLF=testdata/clean/crlf-line-endings.eml
for v in false no 0; do
    printf '[msgrewrite]\nlf = %s\n' "$v" > "$CONFIG"
    "$BIN/msgrewrite" "$CRLF" | cmp -s - "$CRLF" || no "lf = $v set --lf"
done
printf '[msgrewrite]\nlf = true\n' > "$CONFIG"
"$BIN/msgrewrite" "$CRLF" | grep -q "$(printf '\r')" && no "lf = true did not set --lf"
exit $fail
