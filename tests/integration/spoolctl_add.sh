#!/bin/sh
# spoolctl add: a Date and a Message-ID for a message without them (RFC 6409
# 8.2, 8.3), also where msgrewrite's rewrite refuses the message: an empty
# header, an empty message, a message over its 64 MiB limit.
#
# Usage: spoolctl_add.sh SPOOLCTL
set -u
. "$(dirname "$0")/lib.sh"
spoolctl=$1
export SOURCE_DATE_EPOCH=1700000000
date='^Date: Tue, 14 Nov 2023 22:13:20 +0000$'

add() {   # add FILE: the entry's message in $tmp/msg
    rm -rf "$tmp/s"
    name=$("$spoolctl" add --sender a@example.org --rcpt b@example.net "$tmp/s" "$1" 2>"$tmp/err")
    st=$?
    [ $st = 0 ] || { echo "FAIL: add $1 exited $st"; cat "$tmp/err"; fail=1; }
    sed '1,/^$/d' "$tmp/s/queue/$name" >"$tmp/msg"
}

printf '\nbody after an empty header\n' >"$tmp/noheader.eml"
add "$tmp/noheader.eml"
has "$tmp/msg" "$date"
has "$tmp/msg" '^Message-ID: <.*@.*>$'
[ "$(sed -n 3p "$tmp/msg")" = "" ] && [ "$(sed -n 4p "$tmp/msg")" = "body after an empty header" ] ||
    { echo "FAIL: an empty header: the fields, then its empty line"; cat "$tmp/msg"; fail=1; }

: >"$tmp/empty.eml"
add "$tmp/empty.eml"
[ "$(wc -l <"$tmp/msg")" = 3 ] && [ "$(sed -n 3p "$tmp/msg")" = "" ] ||
    { echo "FAIL: an empty message: two fields and an empty line"; cat "$tmp/msg"; fail=1; }
has "$tmp/msg" "$date"
has "$tmp/msg" '^Message-ID: '

# --verbatim adds nothing
rm -rf "$tmp/s"
name=$("$spoolctl" add --verbatim --sender a@example.org --rcpt b@example.net "$tmp/s" "$tmp/empty.eml")
[ "$(sed '1,/^$/d' "$tmp/s/queue/$name" | wc -c)" = 0 ] || { echo "FAIL: --verbatim changed the message"; fail=1; }

# Over 64 MiB: the fields at the header's end, the body as it was.
{ printf 'From: a@example.org\nTo: b@example.net\nSubject: big\n\n'
  head -c 68000000 /dev/zero | tr '\0' x | fold -w 900; } >"$tmp/big.eml"
add "$tmp/big.eml"
head -n 6 "$tmp/msg" >"$tmp/head"
has "$tmp/head" "$date"
has "$tmp/head" '^Message-ID: '
[ "$(sed -n 6p "$tmp/head")" = "" ] || { echo "FAIL: big: the fields at the header's end"; cat "$tmp/head"; fail=1; }
sed -n '5,$p' "$tmp/big.eml" >"$tmp/big.body"
sed 1,6d "$tmp/msg" | cmp -s - "$tmp/big.body" || { echo "FAIL: big: the body changed"; fail=1; }

exit $fail
