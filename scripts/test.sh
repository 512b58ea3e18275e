#!/bin/sh
# test.sh - install what is needed, build msgtools with its tests, and run
# every test through ctest: unit and property tests, golden files, tool and
# agreement tests, fuzz-corpus replay; then the libFuzzer targets for a short,
# bounded time under ASan and UBSan (MSG_FUZZ_SECONDS, default 20 per target;
# 0 skips them).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
msg_install $MSG_PACKAGES libgtest-dev librapidcheck-dev python3 \
    clang libclang-rt-14-dev gzip python3-dkim openssl python3-aiosmtpd strace

# Postfix provides smtp-sink and smtp-source for the SMTP tests. It is a mail
# server, and it conflicts with every other one: installing it on a host that
# runs Exim would remove Exim. So it is installed (unconfigured, its daemon
# never started) only where no other mail server is installed, and never at
# the cost of removing a package; elsewhere its package is unpacked under
# build-test/ without being installed, and the tests run the two programs
# from there. When neither works, the checks that need them are skipped.
postfix_root=""
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
other_mta() {   # installed packages that provide mail-transport-agent, but postfix
    dpkg-query -W -f='${Package}\t${Status}\t${Provides}\n' 2>/dev/null |
        awk -F '\t' '$2 ~ /install ok installed/ && $1 != "postfix" &&
            $3 ~ /(^|[ ,])mail-transport-agent([ ,(]|$)/ { print $1 }'
}
unpack_postfix() {   # fetch the postfix .deb and unpack it with dpkg -x
    dir=build-test/postfix
    if [ ! -x "$dir/root/usr/sbin/smtp-sink" ]; then
        rm -rf "$dir" && mkdir -p "$dir" || return 1
        (cd "$dir" && { apt-get download postfix || { $as_root apt-get update -qq && apt-get download postfix; }; } &&
            dpkg -x postfix_*.deb root) >"$dir/unpack.log" 2>&1 || { cat "$dir/unpack.log" >&2; return 1; }
        # The shared libraries it needs (libdb, libnsl, ...): libraries, no mail server.
        # shellcheck disable=SC2046
        msg_install $(apt-cache depends postfix | awk '$1 == "Depends:" && $2 ~ /^lib/ { print $2 }') || return 1
    fi
    LD_LIBRARY_PATH="$dir/root/usr/lib/postfix" "$dir/root/usr/sbin/smtp-source" 2>&1 | grep -q usage || return 1
    postfix_root="$(pwd)/$dir/root"
}
as_root=""
[ "$(id -u)" -ne 0 ] && as_root=sudo
mta=$(other_mta | paste -sd ' ' -)
if installed postfix; then
    :
elif [ -z "$mta" ]; then
    echo "postfix postfix/main_mailer_type select No configuration" | $as_root debconf-set-selections
    msg_install postfix || unpack_postfix || true
else
    echo "a mail server is installed ($mta): postfix is not installed, only unpacked under build-test/" >&2
    unpack_postfix || true
fi
no_postfix=""
if ! installed postfix && [ -z "$postfix_root" ]; then
    no_postfix="Postfix's smtp-sink and smtp-source are not available: the checks that need them are skipped"
    echo "warning: $no_postfix" >&2
fi

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSG_BUILD_TESTS=ON \
    -DMSG_POSTFIX_ROOT="$postfix_root" >/dev/null
cmake --build build-test -j"$(nproc)"
(cd build-test && ctest --output-on-failure -j"$(nproc)" --output-log ctest.log)
# A test that skips itself (exit 77: a program or a permission it needs is
# missing) passes ctest: named again at the end, so that it is not missed.
skipped=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' build-test/ctest.log | tr '\n' ' ')

seconds=${MSG_FUZZ_SECONDS:-20}
if [ "$seconds" -gt 0 ]; then
    scripts/fuzz.sh "$seconds"
fi
[ -z "$no_postfix" ] || echo "warning: $no_postfix" >&2
[ -z "$skipped" ] || echo "warning: skipped, each saying why in build-test/Testing/Temporary/LastTest.log: $skipped" >&2
echo "all tests passed"
