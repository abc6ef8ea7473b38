#!/usr/bin/env bash
# Build FerretDB (the MongoDB-wire server for local runs, tests and CI) into .bin/ferretdb.
#
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@VERSION` does not work: the
# module proxy refuses the version list its deprecation check asks for, and the module
# lacks build/version/version.txt, so such a binary panics at start. Instead: download
# the module, copy it somewhere writable, add version.txt, and build there.
#
# The patches in tools/patches/ferretdb-*.patch are applied before building (each says
# why in its own text). Skipped when mongod is on PATH (the stack uses it instead) or
# when .bin/ferretdb already answers --version and was built with the same patches.
set -euo pipefail

VERSION="${FERRETDB_VERSION:-v1.24.2}"
MODULE="github.com/FerretDB/FerretDB"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${REPO_ROOT}/.bin/ferretdb"
PATCHES=("${REPO_ROOT}"/tools/patches/ferretdb-*.patch)
STAMP="${TARGET}.patches"
WANTED_STAMP="$(cat "${PATCHES[@]}" | sha256sum | cut -d' ' -f1)"

if command -v mongod >/dev/null 2>&1; then
    echo "mongod found on PATH; FerretDB not needed"
    exit 0
fi
if [[ -x "${TARGET}" ]]; then
    # Read all of the output first: `| grep -q` could end the pipe early (SIGPIPE).
    installed="$("${TARGET}" --version 2>/dev/null || true)"
    if grep -qx "version: ${VERSION}" <<<"${installed}" \
        && [[ "$(cat "${STAMP}" 2>/dev/null)" == "${WANTED_STAMP}" ]]; then
        exit 0
    fi
fi

GO="$(command -v go || true)"
if [[ -z "${GO}" && -x /usr/local/go/bin/go ]]; then
    GO=/usr/local/go/bin/go
fi
if [[ -z "${GO}" ]]; then
    echo "Go is needed to build FerretDB ${VERSION} but was not found" >&2
    exit 1
fi

echo "Building FerretDB ${VERSION} into ${TARGET} (about a minute the first time)"
"${GO}" mod download "${MODULE}@${VERSION}"
# Module paths in the cache spell capitals as '!' + lower case.
CACHED="$("${GO}" env GOMODCACHE)/github.com/!ferret!d!b/!ferret!d!b@${VERSION}"
BUILD_DIR="$(mktemp -d)"
trap 'chmod -R u+w "${BUILD_DIR}" 2>/dev/null || true; rm -rf "${BUILD_DIR}"' EXIT
cp -R "${CACHED}/." "${BUILD_DIR}/"
chmod -R u+w "${BUILD_DIR}"
printf '%s' "${VERSION}" > "${BUILD_DIR}/build/version/version.txt"
for patch in "${PATCHES[@]}"; do
    echo "applying $(basename "${patch}")"
    (cd "${BUILD_DIR}" && git apply -p1 "${patch}")
done
mkdir -p "$(dirname "${TARGET}")"
(cd "${BUILD_DIR}" && GOFLAGS=-buildvcs=false "${GO}" build -trimpath -o "${TARGET}.tmp" ./cmd/ferretdb)
mv -f "${TARGET}.tmp" "${TARGET}"
printf '%s' "${WANTED_STAMP}" > "${STAMP}"
"${TARGET}" --version
