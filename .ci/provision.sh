#!/usr/bin/env bash
# Provision what the test suite needs on a Debian machine, as root:
# Docker Engine, busybox-static (for the local busybox image), openssh-server,
# debootstrap, strace, iproute2, chromium (the web UI's browser test), docker-registry (the
# Bamboo Specs' push). Idempotent: safe to run
# again on a machine that already has it all.
set -euo pipefail

log() { printf '[provision] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[[ -x /bin/busybox ]] || need_pkgs+=(busybox-static)
command -v sshd >/dev/null 2>&1 || [[ -x /usr/sbin/sshd ]] || need_pkgs+=(openssh-server)
command -v debootstrap >/dev/null 2>&1 || [[ -x /usr/sbin/debootstrap ]] || need_pkgs+=(debootstrap)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v strace >/dev/null 2>&1 || need_pkgs+=(strace)  # the durability test traces fsync
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)  # the two-node Swarm test (network namespaces)
# the web UI's browser test (tests/ui) drives Debian's chromium through Playwright
[[ -x /usr/bin/chromium ]] || need_pkgs+=(chromium)
# the Bamboo Specs test pushes the image it builds to a throw-away local image registry
[[ -x /usr/bin/docker-registry ]] || need_pkgs+=(docker-registry)
if ((${#need_pkgs[@]})); then
  log "installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# busybox-static ships /bin/busybox; make sure we use the static one
BUSYBOX=/bin/busybox
if ! file "$BUSYBOX" 2>/dev/null | grep -q static && dpkg -L busybox-static >/dev/null 2>&1; then
  BUSYBOX=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -1)
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    [[ -S /var/run/docker.sock ]] && docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up"; tail -50 /var/log/dockerd.log >&2; exit 1; }
fi

if ! docker image inspect busybox:latest >/dev/null 2>&1; then
  log "building local busybox:latest from $BUSYBOX"
  ctx=$(mktemp -d)
  cp "$BUSYBOX" "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh"]
DOCKERFILE
  docker build -q -t busybox:latest "$ctx" >/dev/null
  rm -rf "$ctx"
fi
log "docker engine ready: $(docker version --format '{{.Server.Version}}')"
