#!/usr/bin/env bash
# install-peers.sh: installs the real peers the demo and the integration tests
# talk to. Idempotent: every step checks first, so a second run is quick.
#
#   Debian:  jupyterhub (3.x), awscli, python3-boto3, git, wrk, postgresql
#   MinIO:   built with `go install` at the pinned version
#   Azurite: npm, pinned (the last release for Node 20)
#   helm:    built with `go install` at the pinned version
#   Chromium: Debian chromium (headless, driven over CDP by the browser tests)
# All kept in $CREDSERVER_PEERS_DIR (default ~/.cache/credserver-peers) so a
# fresh clone on the same machine does not rebuild them.
#
# It prints the directory holding the peer binaries on its last line.
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
PEERS_DIR=${CREDSERVER_PEERS_DIR:-$HOME/.cache/credserver-peers}
mkdir -p "$PEERS_DIR/bin"

log() { printf 'install-peers: %s\n' "$*" >&2; }

need_apt=()
for pkg in jupyterhub awscli python3-boto3 git wrk postgresql gdal-bin; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    need_apt+=("$pkg")
  fi
done
if ((${#need_apt[@]})); then
  log "installing Debian packages: ${need_apt[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

stamp="$PEERS_DIR/bin/.minio-version"
if [ ! -x "$PEERS_DIR/bin/minio" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$MINIO_VERSION" ]; then
  log "building MinIO $MINIO_VERSION (first build takes several minutes)"
  GOBIN="$PEERS_DIR/bin" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION" >&2
  echo "$MINIO_VERSION" >"$stamp"
fi

# Azurite: the azure provider's tests run its blob service. 3.35.0 is the
# newest release that still supports Node 20 (3.36 wants 21, 3.37 wants 22).
AZURITE_VERSION=3.35.0
azurite_pkg="$PEERS_DIR/azurite/node_modules/azurite/package.json"
if ! command -v npm >/dev/null; then
  log "installing Debian packages: nodejs npm"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >&2
fi
if [ "$(node -p 'require(process.argv[1]).version' "$azurite_pkg" 2>/dev/null)" != "$AZURITE_VERSION" ]; then
  log "installing azurite $AZURITE_VERSION with npm"
  npm install --prefix "$PEERS_DIR/azurite" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >&2
fi
ln -sfn ../azurite/node_modules/.bin/azurite-blob "$PEERS_DIR/bin/azurite-blob"

# helm: deploy/helm/chart_test.go runs `helm lint` and `helm template`.
HELM_VERSION=v3.21.4
helm_stamp="$PEERS_DIR/bin/.helm-version"
if [ ! -x "$PEERS_DIR/bin/helm" ] || [ "$(cat "$helm_stamp" 2>/dev/null)" != "$HELM_VERSION" ]; then
  log "building helm $HELM_VERSION"
  GOBIN="$PEERS_DIR/bin" GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  echo "$HELM_VERSION" >"$helm_stamp"
fi

# Chromium: the web page's browser tests drive headless Chromium over CDP
# (the Go module chromedp); Debian's package, nothing downloaded by a test.
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q 'install ok installed'; then
  log "installing Debian packages: chromium"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi

echo "$PEERS_DIR/bin"
