#!/bin/sh
# test.sh - install what is needed, build msgtools with its tests, and run
# every test through ctest: unit and property tests, golden files, tool and
# agreement tests, fuzz-corpus replay; then the libFuzzer targets for a short,
# bounded time under ASan and UBSan (MSG_FUZZ_SECONDS, default 20 per target;
# 0 skips them).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# Postfix provides smtp-sink and smtp-source for the SMTP tests; it is
# installed unconfigured, and its daemon is never started.
if ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "install ok installed"; then
    as_root=""
    [ "$(id -u)" -ne 0 ] && as_root=sudo
    echo "postfix postfix/main_mailer_type select No configuration" | $as_root debconf-set-selections
fi
msg_install $MSG_PACKAGES libgtest-dev librapidcheck-dev python3 \
    clang libclang-rt-14-dev gzip python3-dkim openssl postfix python3-aiosmtpd

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSG_BUILD_TESTS=ON >/dev/null
cmake --build build-test -j"$(nproc)"
(cd build-test && ctest --output-on-failure -j"$(nproc)")

seconds=${MSG_FUZZ_SECONDS:-20}
if [ "$seconds" -gt 0 ]; then
    scripts/fuzz.sh "$seconds"
fi
echo "all tests passed"
