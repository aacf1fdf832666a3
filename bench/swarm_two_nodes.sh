#!/usr/bin/env bash
# A two-node swarm on one machine: this engine as the manager, a second dockerd as a worker
# in its own network namespace, then `consign deploy --orchestrator swarm` of a global and a replicated
# service spread over both nodes. Needs root, iproute2, and swarm mode NOT active on this
# engine (the script inits it with the veth address and leaves it afterwards).
#
#   bash bench/swarm_two_nodes.sh        # prints the deploy and where each task ran
#
# Network: a veth pair on 198.18.77.0/24 (RFC 2544's benchmarking range, used by nothing
# else here): 198.18.77.1 on the host side (the manager's advertise address), .2 in the
# namespace. The worker has its own --host socket, --data-root, --exec-root, --pidfile,
# and busybox:latest loaded from this engine (nothing is pulled).
set -euo pipefail
cd "$(dirname "$0")/.."

NS=consign-sw2
RUN=/run/$NS
DATA=/var/lib/$NS
HOST_IF=csw2-h
NS_IF=csw2-n
SOCK=unix://$RUN/docker.sock
STACK=sw2-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
started_swarm=0

cleanup() {
    set +e
    docker stack rm --detach=false "$STACK" >/dev/null 2>&1
    DOCKER_HOST=$SOCK docker swarm leave --force >/dev/null 2>&1
    if [ "$started_swarm" = 1 ]; then
        node=$(docker node ls --filter role=worker -q)
        [ -n "$node" ] && docker node rm --force $node >/dev/null 2>&1
        docker swarm leave --force >/dev/null 2>&1
    fi
    [ -f "$RUN/docker.pid" ] && kill "$(cat "$RUN/docker.pid")" 2>/dev/null
    for _ in $(seq 50); do [ -e "$RUN/docker.pid" ] || break; sleep 0.2; done
    ip link del "$HOST_IF" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$RUN" "$DATA"
}
trap cleanup EXIT

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != inactive ]; then
    echo "this engine is in swarm mode ($state); run this on an engine outside swarm mode" >&2
    exit 2
fi

ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$NS_IF"
ip link set "$NS_IF" netns "$NS"
ip addr add 198.18.77.1/24 dev "$HOST_IF"
ip link set "$HOST_IF" up
ip netns exec "$NS" ip addr add 198.18.77.2/24 dev "$NS_IF"
ip netns exec "$NS" ip link set "$NS_IF" up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip route add default via 198.18.77.1

mkdir -p "$RUN" "$DATA"
# nsenter, not `ip netns exec`: that remounts /sys and hides the cgroup mounts dockerd needs.
# Its own UTS namespace too, so the worker node has its own hostname in `docker node ls`.
nsenter --net=/run/netns/"$NS" unshare --uts sh -c \
    "hostname $NS-worker && exec dockerd --host $SOCK --data-root $DATA \
     --exec-root $RUN/exec --pidfile $RUN/docker.pid" >"$RUN/dockerd.log" 2>&1 &
for _ in $(seq 150); do DOCKER_HOST=$SOCK docker info >/dev/null 2>&1 && break; sleep 0.2; done
DOCKER_HOST=$SOCK docker info --format 'worker engine {{.ServerVersion}} up'
docker save busybox:latest -o "$RUN/busybox.tar"
docker --host "$SOCK" load -i "$RUN/busybox.tar"

docker swarm init --advertise-addr 198.18.77.1 >/dev/null
started_swarm=1
token=$(docker swarm join-token -q worker)
DOCKER_HOST=$SOCK docker swarm join --token "$token" --advertise-addr 198.18.77.2 198.18.77.1:2377
docker node ls

cat >"$RUN/spread.yml" <<'EOF'
services:
  agent:
    image: busybox:latest
    command: ["sleep", "100000"]
    stop_grace_period: 1s
    deploy: {mode: global}
  web:
    image: busybox:latest
    command: ["sleep", "100000"]
    stop_grace_period: 1s
    healthcheck: {test: ["CMD", "true"], interval: 1s}
    deploy:
      replicas: 4
      placement: {max_replicas_per_node: 2}
EOF
.venv/bin/consign deploy --orchestrator swarm --file "$RUN/spread.yml" --project "$STACK" \
    --resolve-image never --stable 2 --timeout 180
docker stack ps "$STACK" --format '{{.Name}} {{.Node}} {{.CurrentState}}'
