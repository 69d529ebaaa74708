#!/bin/sh
# Installs finerank's build dependencies on Debian 12 (as root, or through sudo).
# Does nothing when everything is already there, so the README commands can always call it.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev libjansson-dev libutf8proc-dev
libpcre2-dev libopenblas-dev libstemmer-dev libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev
libssl-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
