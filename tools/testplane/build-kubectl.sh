#!/usr/bin/env bash
# Builds kubectl (k8s.io/kubernetes/cmd/kubectl, the same release as the test
# plane's kube-apiserver) from the Go module proxy with the wrapper module in
# kubectl/, and prints the path of the binary. Cached by version like
# build.sh, so a second call costs nothing. Only the benchmarks (bench/run)
# use it: kubectl is never a dependency of netpath. KUBECTL names an existing
# binary instead.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -n "${KUBECTL:-}" ]]; then
  [[ -x "$KUBECTL" ]] || { echo "KUBECTL=$KUBECTL is not an executable" >&2; exit 1; }
  echo "$KUBECTL"; exit 0
fi

# Never let Go download a toolchain: the proxy serves modules only.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"

K8S_VERSION="$(sed -n 's#^[[:space:]]*k8s.io/kubernetes \(v[^ ]*\).*#\1#p' "$HERE/kubectl/go.mod" | head -1)"
GOVER="$(go env GOVERSION)"
OUT="${NETPATH_TESTPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netpath-testplane}/kubectl-${K8S_VERSION}_${GOVER}"

if [[ -x "$OUT/kubectl" ]]; then echo "$OUT/kubectl"; exit 0; fi
mkdir -p "$OUT"

# Build in a copy so go.mod/go.sum in the repository are never rewritten.
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/kubectl" "$WORK/"

MINOR_PATCH="${K8S_VERSION#v1.}"
V="k8s.io/component-base/version"
# Without these kubectl reports v0.0.0-master and warns about version skew.
LDFLAGS="-s -w -X $V.gitVersion=${K8S_VERSION} -X $V.gitMajor=1 -X $V.gitMinor=${MINOR_PATCH%%.*} -X $V.gitTreeState=clean -X $V.buildDate=1970-01-01T00:00:00Z"
echo "building kubectl ${K8S_VERSION} (cold: ~5 min on 2 cores)" >&2
(cd "$WORK/kubectl" && go build -trimpath -ldflags "$LDFLAGS" -o "$OUT/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl)
mv "$OUT/kubectl.tmp" "$OUT/kubectl"
echo "$OUT/kubectl"
