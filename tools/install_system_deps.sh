#!/usr/bin/env bash
# Install the Debian packages the local stack and the checks need, but only when one of
# their binaries is missing, so `make deps` stays fast on a machine that has them.
#   nginx-light     -> nginx           (the local reverse proxy)
#   redis-server    -> redis-server    (the quote cache)
#   libxml2-utils   -> xmllint         (checks DUMPLOG output)
#   docker-compose  -> docker-compose  (`make compose-check`; no engine is needed)
#   chromium        -> chromium        (the UI's browser tests, driven by playwright-core;
#                                       no browser is ever downloaded by npm)
#   fonts-dejavu-core                  (so headless Chromium has a font to draw with)
set -euo pipefail

have() {
    command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]
}

missing=()
have nginx || missing+=(nginx-light)
have redis-server || missing+=(redis-server)
have xmllint || missing+=(libxml2-utils)
have docker-compose || missing+=(docker-compose)
have chromium || missing+=(chromium fonts-dejavu-core)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO=(sudo)
fi

echo "Installing Debian packages: ${missing[*]}"
# Keep the packages' maintainer scripts from starting the system-wide nginx and redis
# (port 80, 6379): the stack runs its own under supervisord.
POLICY=/usr/sbin/policy-rc.d
if [[ ! -e "${POLICY}" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "${POLICY}" >/dev/null
    "${SUDO[@]}" chmod 755 "${POLICY}"
    trap '"${SUDO[@]}" rm -f "${POLICY}"' EXIT
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
