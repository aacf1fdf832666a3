# Consignment: the registry (`serve`, the default) and the deployer (`deploy`, `status`,
# `down`) in one image. Build with .ci/build-image.sh (docs/image.md): it puts the project's
# wheels, Debian's docker CLI and the Compose v2 binary into dist/, then runs
#   docker build --build-arg BASE_IMAGE=consignment-base:bookworm -t consignment:test .
# Layers go from rarely to often changing: OS packages, clients, dependencies, the project.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

ARG DEBIAN_FRONTEND=noninteractive
# The locally built base already has these; a stock debian:bookworm-slim gets them from apt.
RUN set -eu; missing=""; \
    for p in python3 python3-venv ca-certificates git openssh-client; do \
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
        apt-get update && apt-get install -y --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; \
    fi

RUN groupadd --system --gid 10001 consign \
    && useradd --system --uid 10001 --gid consign --home-dir /var/lib/consign \
       --create-home --shell /usr/sbin/nologin consign \
    && mkdir -p /var/lib/consign/registry.git /var/lib/consign/.ssh /var/lib/consign/spool \
    && chown -R consign:consign /var/lib/consign && chmod 0700 /var/lib/consign/.ssh

# Docker CLI (Debian's docker.io build) and Compose v2 as a CLI plugin: the deployer needs
# nothing from the host but the socket.
COPY dist/bin/docker /usr/local/bin/docker
COPY dist/bin/docker-compose /usr/local/lib/docker/cli-plugins/docker-compose

# Dependencies first (change rarely), the project last (changes every commit).
COPY dist/wheels/ /tmp/wheels/
RUN python3 -m venv /opt/consign \
    && /opt/consign/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels
COPY dist/consignment-*.whl /tmp/
RUN /opt/consign/bin/pip install --no-cache-dir --no-index --no-deps /tmp/consignment-*.whl \
    && rm -f /tmp/consignment-*.whl \
    && ln -s /opt/consign/bin/consign /usr/local/bin/consign

ENV CONSIGN_REPO=/var/lib/consign/registry.git \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/consign
VOLUME ["/var/lib/consign/registry.git"]
WORKDIR /var/lib/consign
USER consign
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; port = os.environ.get('CONSIGN_HEALTH_PORT', '9090'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["consign"]
CMD ["serve", "--bind", "0.0.0.0:9090"]
