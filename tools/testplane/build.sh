#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy using the wrapper
# modules committed beside this script, and prints the directory holding both.
# Binaries are cached by version, so a second call costs nothing.
# KUBE_APISERVER and ETCD, when both set, name existing binaries instead.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -n "${KUBE_APISERVER:-}" && -n "${ETCD:-}" ]]; then
  [[ -x "$KUBE_APISERVER" && -x "$ETCD" ]] || { echo "KUBE_APISERVER/ETCD are not executables" >&2; exit 1; }
  echo "env"; exit 0
fi

# Never let Go download a toolchain: the proxy serves modules only.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"

version_of() { sed -n "s#^[[:space:]]*$1 \(v[^ ]*\).*#\1#p" "$2" | head -1; }
K8S_VERSION="$(version_of k8s.io/kubernetes "$HERE/apiserver/go.mod")"
ETCD_VERSION="$(version_of go.etcd.io/etcd/server/v3 "$HERE/etcd/go.mod")"
GOVER="$(go env GOVERSION)"
OUT="${NETPATH_TESTPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netpath-testplane}/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_${GOVER}"

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" ]]; then echo "$OUT"; exit 0; fi
mkdir -p "$OUT"

# Build in a copy so go.mod/go.sum in the repository are never rewritten.
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/apiserver" "$HERE/etcd" "$WORK/"

MINOR_PATCH="${K8S_VERSION#v1.}"
V="k8s.io/component-base/version"
# Without these the server reports v0.0.0-master and guesses its binary version.
LDFLAGS="-s -w -X $V.gitVersion=${K8S_VERSION} -X $V.gitMajor=1 -X $V.gitMinor=${MINOR_PATCH%%.*} -X $V.gitTreeState=clean -X $V.buildDate=1970-01-01T00:00:00Z"
echo "building kube-apiserver ${K8S_VERSION} (cold: ~15 min on 2 cores)" >&2
(cd "$WORK/apiserver" && go build -trimpath -ldflags "$LDFLAGS" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
echo "building etcd ${ETCD_VERSION}" >&2
(cd "$WORK/etcd" && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3)
mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
mv "$OUT/etcd.tmp" "$OUT/etcd"
echo "$OUT"
