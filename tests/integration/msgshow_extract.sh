#!/bin/sh
# msgshow_extract.sh MSGSHOW - --extract writes the decoded part; --extract-all
# saves attachments under safe names and never writes outside its directory.
set -u
bin=$1
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/out" "$tmp/etc"

b64() { printf '%s' "$1" | base64; }
cat >"$tmp/hostile.eml" <<MSG
From: a@example.org
Subject: hostile names
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

hello
--b
Content-Type: application/octet-stream; name="passwd"
Content-Disposition: attachment; filename="../../etc/passwd"
Content-Transfer-Encoding: base64

$(b64 'first')
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="$tmp/etc/abs"
Content-Transfer-Encoding: base64

$(b64 'second')
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fevil%20name.txt

third
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=".."

fourth
--b
Content-Type: image/png
Content-Disposition: attachment

fifth
--b--
MSG

"$bin" --extract-all "$tmp/out" "$tmp/hostile.eml" >"$tmp/list" 2>"$tmp/err" || {
    echo "FAIL: --extract-all exited $?"; cat "$tmp/err"; fail=1; }
# Nothing outside out/: the only files under $tmp are ours.
found=$(cd "$tmp" && find . -type f ! -path './out/*' | sort | tr '\n' ' ')
[ "$found" = "./err ./hostile.eml ./list " ] || { echo "FAIL: files outside the directory: $found"; fail=1; }
check() {  # check NAME CONTENT
    if [ ! -f "$tmp/out/$1" ]; then echo "FAIL: $1 not extracted"; ls -la "$tmp/out"; fail=1; return; fi
    [ "$(cat "$tmp/out/$1")" = "$2" ] || { echo "FAIL: $1 has wrong content"; fail=1; }
}
check passwd first
check abs second
check 'evil name.txt' third
check part-5.bin fourth
check part-6.png fifth
n=$(ls "$tmp/out" | wc -l)
[ "$n" = 5 ] || { echo "FAIL: expected 5 files, got $n"; ls -la "$tmp/out"; fail=1; }

# A second run never overwrites: it adds numbered names.
"$bin" --extract-all "$tmp/out" "$tmp/hostile.eml" >/dev/null 2>&1
check passwd first
check passwd-1 first
[ "$(ls "$tmp/out" | wc -l)" = 10 ] || { echo "FAIL: second run did not add 5 files"; fail=1; }

# A directory that does not exist: exit 73, named.
"$bin" --extract-all "$tmp/nodir" "$tmp/hostile.eml" >/dev/null 2>"$tmp/err2"
st=$?
[ "$st" = 73 ] || { echo "FAIL: missing dir gave $st, expected 73"; fail=1; }

# Extracted files are private.
[ "$(stat -c %a "$tmp/out/passwd")" = 600 ] || { echo "FAIL: an extracted file is not 0600"; fail=1; }

# Many parts of one name: every one is written, numbered, in linear time
# (the numbering goes on from where it was, it does not start again at 1).
/usr/bin/python3 - "$tmp/many.eml" <<'PY'
import sys
n = 9990
with open(sys.argv[1], "w") as f:
    f.write("From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n")
    for i in range(n):
        f.write('--b\nContent-Disposition: attachment; filename="same.txt"\n\n%d\n' % i)
    f.write("--b--\n")
PY
mkdir "$tmp/many"
start=$(date +%s)
"$bin" --extract-all "$tmp/many" "$tmp/many.eml" >/dev/null 2>"$tmp/err3" || { echo "FAIL: --extract-all of 9990 parts: $(cat "$tmp/err3")"; fail=1; }
"$bin" --extract-all "$tmp/many" "$tmp/many.eml" >/dev/null 2>"$tmp/err3" || { echo "FAIL: a second run: $(cat "$tmp/err3")"; fail=1; }
took=$(( $(date +%s) - start ))
[ "$(ls "$tmp/many" | wc -l)" = 19980 ] || { echo "FAIL: $(ls "$tmp/many" | wc -l) files, not 19980"; fail=1; }
[ -e "$tmp/many/same-19979.txt" ] || { echo "FAIL: the last name is not same-19979.txt"; fail=1; }
[ "$took" -lt 60 ] || { echo "FAIL: extracting 19980 parts took ${took}s"; fail=1; }

# --extract: the decoded body of one section, byte for byte.
"$bin" --extract 2 "$tmp/hostile.eml" >"$tmp/x" || { echo "FAIL: --extract 2"; fail=1; }
[ "$(cat "$tmp/x")" = first ] || { echo "FAIL: --extract 2 gave '$(cat "$tmp/x")'"; fail=1; }
printf 'hello' | cmp -s - "$tmp/x" && { echo "FAIL: wrong section"; fail=1; }

# uuencode: an x-uuencode part, and files uuencoded into a text part
# (sections 1.u1, 1.u2), decoded; a hostile name on a begin line stays in
# the directory.
mkdir "$tmp/uu"
cat >"$tmp/uu.eml" <<'MSG'
From: a@example.org
Subject: old style
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Two files:

begin 644 ../../etc/abc.txt
#86)C
`
end

begin 600 def.bin
#9&5F
`
end
MSG
"$bin" --extract 1.u1 "$tmp/uu.eml" >"$tmp/x" || { echo "FAIL: --extract 1.u1"; fail=1; }
[ "$(cat "$tmp/x")" = abc ] || { echo "FAIL: --extract 1.u1 gave '$(cat "$tmp/x")'"; fail=1; }
"$bin" --extract 1.u2 "$tmp/uu.eml" >"$tmp/x" || { echo "FAIL: --extract 1.u2"; fail=1; }
[ "$(cat "$tmp/x")" = def ] || { echo "FAIL: --extract 1.u2 gave '$(cat "$tmp/x")'"; fail=1; }
"$bin" --extract 1.u3 "$tmp/uu.eml" >/dev/null 2>&1
[ $? = 65 ] || { echo "FAIL: --extract 1.u3 (no such file) did not exit 65"; fail=1; }
"$bin" --extract-all "$tmp/uu" "$tmp/uu.eml" >/dev/null 2>"$tmp/err" || { echo "FAIL: --extract-all uu"; cat "$tmp/err"; fail=1; }
[ "$(ls "$tmp/uu" | tr '\n' ' ')" = "abc.txt def.bin " ] || { echo "FAIL: uu files: $(ls "$tmp/uu")"; fail=1; }
[ "$(cat "$tmp/uu/abc.txt")" = abc ] || { echo "FAIL: abc.txt has wrong content"; fail=1; }
printf 'From: a@example.org\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 ghi.txt\n#9VAI\n`\nend\n' >"$tmp/part.eml"
"$bin" --extract 1 "$tmp/part.eml" >"$tmp/x" 2>/dev/null || { echo "FAIL: --extract 1 of x-uuencode"; fail=1; }
[ "$(cat "$tmp/x")" = ghi ] || { echo "FAIL: x-uuencode part gave '$(cat "$tmp/x")'"; fail=1; }
mkdir "$tmp/uu2"
"$bin" --extract-all "$tmp/uu2" "$tmp/part.eml" >/dev/null 2>&1
[ "$(cat "$tmp/uu2/ghi.txt" 2>/dev/null)" = ghi ] || { echo "FAIL: x-uuencode part not saved under its begin line's name"; ls "$tmp/uu2"; fail=1; }

# A forwarded message attached with a filename is saved whole, as --extract gives it.
printf 'From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="BB"\n\n--BB\nContent-Type: text/plain\n\nsee attached\n--BB\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename="original.eml"\n\nFrom: c@example.org\nSubject: original\n\noriginal body\n--BB--\n' >"$tmp/fwd.eml"
mkdir "$tmp/fwd"
"$bin" --extract-all "$tmp/fwd" "$tmp/fwd.eml" >/dev/null 2>&1 || { echo "FAIL: --extract-all of a forward"; fail=1; }
"$bin" --extract 2 "$tmp/fwd.eml" >"$tmp/x"
cmp -s "$tmp/x" "$tmp/fwd/original.eml" || { echo "FAIL: the attached message is not saved as --extract 2 gives it"; ls "$tmp/fwd"; fail=1; }

# The directory given may be a link only where the kernel's protected_symlinks
# rule would follow it: not one another user planted in a sticky directory.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 755 "$tmp" && mkdir -m 1777 "$tmp/sticky" "$tmp/elsewhere"
    if setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$tmp/elsewhere" "$tmp/sticky/out" 2>/dev/null; then
        "$bin" --extract-all "$tmp/sticky/out" "$tmp/fwd.eml" >/dev/null 2>"$tmp/err"
        st=$?
        [ $st = 73 ] && grep -q "refusing to write through" "$tmp/err" && [ -z "$(ls "$tmp/elsewhere")" ] ||
            { echo "FAIL: --extract-all wrote through a planted link (exit $st)"; ls "$tmp/elsewhere"; fail=1; }
    fi
fi

exit $fail
