#!/usr/bin/env bash
# Installs the chart's offline validators into the git-ignored .cache/chart-tools/, once:
# - helm, built from its Go module (helm.sh/helm/v4 at HELM_VERSION) with the machine's Go when it is
#   new enough (helm 4.3 needs Go 1.26), else with the Go toolchain the Go module proxy serves as the
#   module golang.org/toolchain (Debian 12's golang-go is 1.19);
# - kubernetes-validate (PyPI, pinned by hash in requirements.txt), which carries the Kubernetes API
#   JSON schemas of every release it knows and validates strictly (unknown fields are errors).
# A second run finds both and returns at once. Prints where each tool is.
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM_VERSION=v4.3.2
GO_TOOLCHAIN=go1.26.8
tools=$PWD/.cache/chart-tools
mkdir -p "$tools/bin"
say() { printf '==> %s\n' "$*"; }

# A Go of at least 1.26, or empty.
go_new_enough() {
  local go=$1 v
  v=$("$go" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  [[ $v =~ ^1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 26))
}

find_go() {
  if command -v go >/dev/null && go_new_enough "$(command -v go)"; then
    command -v go
    return
  fi
  local cached="$PWD/.cache/go/mod/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-amd64/bin/go"
  if [[ -x $cached ]]; then
    echo "$cached"
    return
  fi
  # Any Go can download a module: fetch the toolchain module with the old one (apt's, if need be).
  command -v go >/dev/null || apt-get install -y -qq golang-go >/dev/null
  GOMODCACHE=$PWD/.cache/go/mod GOTOOLCHAIN=local go mod download \
    "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-amd64" >&2
  chmod +x "$(dirname "$cached")"/* "$PWD/.cache/go/mod/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-amd64/pkg/tool/linux_amd64"/*
  echo "$cached"
}

if ! "$tools/bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
  go=$(find_go)
  say "building helm $HELM_VERSION with $("$go" env GOVERSION) (once; cached in .cache/chart-tools)"
  start=$SECONDS
  # Static, reproducible, and outside any module of ours; the build cache stays in .cache/go too.
  (cd "$tools" && GOMODCACHE=$PWD/../go/mod GOCACHE=$PWD/../go/build GOBIN=$tools/bin GOTOOLCHAIN=local \
    CGO_ENABLED=0 GOFLAGS=-trimpath nice -n 10 "$go" install -ldflags="-s -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION")
  # The 1.2 GB build cache serves only a rebuild, which a new HELM_VERSION needs anyway.
  rm -rf .cache/go/build
  say "helm built in $((SECONDS - start)) s"
fi

req=deploy/helm/requirements.txt
venv=$tools/venv
stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  say "installing kubernetes-validate into $venv"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  PIP_CACHE_DIR=.cache/pip "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    --only-binary :all: -r "$req"
  echo "$want" >"$stamp"
fi
say "chart tools: $("$tools/bin/helm" version --short), kubernetes-validate $("$venv/bin/kubernetes-validate" --version | tr -d '\n')"
