#!/bin/sh
# deps.sh [extra-package...] - install the Debian packages msgtools needs to
# build and test, when they are missing. Idempotent and non-interactive;
# sourced by demo.sh and test.sh. Nothing is ever removed: an install that
# would remove a package fails instead.
set -eu
MSG_PACKAGES="build-essential cmake pkg-config libboost-program-options-dev libicu-dev zlib1g-dev libssl-dev"
msg_install() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "installing:$missing" >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends --no-remove $missing >/dev/null
}
