#!/usr/bin/env bash
# Builds the unmodified AWS Load Balancer Controller from the trimmed source
# in ../shared/upstream (never copied into this repository), with its
# dependencies from the Go module proxy, and prints the binary's path.
# Cached by controller and Go version, like the test plane's binaries.
# LBC_BINARY, when set, names an existing binary instead.
# LBC_CACHED_ONLY=1 never builds: exit 4 when the binary is not cached.
# Exit 3 (with a message) when ../shared is absent, so callers can skip.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LBC_VERSION="${LBC_VERSION:-v3.5.0}"

if [[ -n "${LBC_BINARY:-}" ]]; then
  [[ -x "$LBC_BINARY" ]] || { echo "LBC_BINARY=$LBC_BINARY is not an executable" >&2; exit 1; }
  echo "$LBC_BINARY"; exit 0
fi

SHARED="${NETPATH_SHARED:-$ROOT/../shared}"
SRC_TGZ="$SHARED/upstream/aws-load-balancer-controller/$LBC_VERSION/src.tar.gz"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false"
GOVER="$(go env GOVERSION)"
OUT="${NETPATH_TESTPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netpath-testplane}/lbc-${LBC_VERSION}_${GOVER}"
if [[ -x "$OUT/controller" ]]; then echo "$OUT/controller"; exit 0; fi
[[ "${LBC_CACHED_ONLY:-0}" == 1 ]] && exit 4
if [[ ! -f "$SRC_TGZ" ]]; then
  echo "tools/lbc/build.sh: $SRC_TGZ not found (../shared absent): the controller cannot be built" >&2
  exit 3
fi
mkdir -p "$OUT"

WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
tar -xzf "$SRC_TGZ" -C "$WORK"
echo "building aws-load-balancer-controller ${LBC_VERSION} with ${GOVER} (cold: ~6 min on 2 idle cores, 2.7 GB RSS)" >&2
(cd "$WORK" && go mod download && go build -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/aws-load-balancer-controller/v3/pkg/version.GitVersion=${LBC_VERSION}" \
  -o "$OUT/controller.tmp" .)
mv "$OUT/controller.tmp" "$OUT/controller"
echo "$OUT/controller"
