"""The real Compose v2 against a real `consign serve --certfile` (HTTPS, a CA made here):
``docker compose -f oci://...`` reads what the HTTP API and Git serve, and runs it."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from consign.process import CommandFailed, run
from tests.registry.conftest import b64
from tests.serving import CONSIGN, ROOT, ServedRegistry, private_ca

pytestmark = pytest.mark.docker

COMPOSE = str(Path.home() / ".docker" / "cli-plugins" / "docker-compose")
NETBOX = ROOT / "tests" / "data" / "netbox-docker"  # Apache-2.0, see its NOTICE
HEALTHY = """\
services:
  web:
    image: busybox:latest
    command: [sleep, "3600"]
    env_file: env/web.env
    healthcheck: {test: [CMD, "true"], interval: 1s, retries: 30}
    labels: {tier: web}
"""


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return private_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https(tmp_path: Path, tls: tuple[Path, Path, Path]) -> Iterator[ServedRegistry]:
    server = ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2, tls=tls)
    with server.start():
        yield server


def compose(server: ServedRegistry, *args: str, cwd: Path | None = None) -> str:
    """The Compose v2 plugin binary, trusting only the test's CA for HTTPS."""
    env = {"SSL_CERT_FILE": str(server.verify), "COMPOSE_PROGRESS": "quiet"}
    return run([COMPOSE, *args], env=env, cwd=cwd, timeout=180).stdout


def put(server: ServedRegistry, fragment: str, app: str, rel: str, **extra: Any) -> dict:
    body = {"fragment": b64(fragment), "applications": [app], "releases": [rel], **extra}
    answer = requests.put(f"{server.url}/fragment", json=body, timeout=60, verify=server.verify)
    assert answer.status_code in (200, 201), answer.text
    result: dict = answer.json()
    return result


def details(server: ServedRegistry, app: str, rel: str, version: str) -> dict:
    url = f"{server.url}/api/applications/{app}/releases/{rel}/versions/{version}"
    answer = requests.get(url, timeout=30, verify=server.verify)
    assert answer.status_code == 200
    found: dict = answer.json()
    return found


def digest(server: ServedRegistry, name: str, tag: str) -> str:
    answer = requests.head(
        f"{server.url}/v2/{name}/manifests/{tag}", timeout=30, verify=server.verify
    )
    assert answer.status_code == 200
    return answer.headers["Docker-Content-Digest"]


def test_compose_config_from_oci_equals_config_of_the_descriptor(
    https: ServedRegistry, tmp_path: Path
) -> None:
    put(https, HEALTHY.replace("    env_file: env/web.env\n", ""), "TLO GE", "Milestone")
    db = (
        "services:\n  db:\n    image: busybox:latest\n    depends_on: [web]\n"
        "    volumes: [data:/d]\nvolumes:\n  data: {}\n"
    )
    put(https, db, "TLO GE", "Milestone")
    reference = details(https, "TLO%20GE", "Milestone", "2")["oci"]
    assert reference == f"oci://127.0.0.1:{https.port}/tlo-ge/milestone:2"
    url = f"{https.url}/descriptor/application/TLO%20GE/Milestone/2"
    (tmp_path / "docker-compose.yml").write_bytes(
        requests.get(url, timeout=30, verify=https.verify).content
    )
    project = f"i13-cfg-{uuid.uuid4().hex[:8]}"
    from_oci = compose(https, "-p", project, "-f", reference, "config")
    from_api = compose(https, "-p", project, "-f", str(tmp_path / "docker-compose.yml"), "config")
    assert from_oci == from_api
    assert "db:" in from_oci and "web:" in from_oci


def test_up_from_oci_runs_healthy_on_the_engine_and_latest_follows(
    https: ServedRegistry,
) -> None:
    put(
        https, HEALTHY, "Dev Box", "R1", files={"env/web.env": b64("GREETING=hello from consign\n")}
    )
    reference = details(https, "Dev%20Box", "R1", "1")["oci"]
    first = digest(https, "dev-box/r1", "1")
    project = f"i13-up-{uuid.uuid4().hex[:8]}"
    try:
        compose(
            https, "-p", project, "-f", reference, "up", "-d", "--wait", "--wait-timeout", "120"
        )
        state = json.loads(
            run(["docker", "inspect", f"{project}-web-1", "--format", "{{json .State}}"]).stdout
        )
        assert state["Health"]["Status"] == "healthy"
        printed = compose(
            https,
            "-p",
            project,
            "-f",
            reference,
            "exec",
            "-T",
            "web",
            "sh",
            "-c",
            'echo "$GREETING"',
        )
        assert printed.strip() == "hello from consign"
    finally:
        compose(https, "-p", project, "-f", reference, "down", "-v", "--remove-orphans")
    put(https, "services:\n  extra: {image: busybox:latest}\n", "Dev Box", "R1")
    assert digest(https, "dev-box/r1", "1") == first  # numbered: never changes
    assert digest(https, "dev-box/r1", "latest") == digest(https, "dev-box/r1", "2") != first
    by_tag = reference.rsplit(":", 1)[0] + ":latest"  # the tag only: the port may hold ":1"
    latest = compose(https, "-p", project, "-f", by_tag, "config", "--services")
    assert sorted(latest.split()) == ["extra", "web"]


def test_serve_refuses_half_a_tls_pair(tmp_path: Path, tls: tuple[Path, Path, Path]) -> None:
    argv = [*CONSIGN, "serve", "--repo", str(tmp_path / "r.git"), "--certfile", str(tls[0])]
    with pytest.raises(CommandFailed) as info:
        run(argv, cwd=ROOT, timeout=60)
    assert "--certfile and --keyfile go together" in info.value.stderr
    argv += ["--keyfile", str(tls[2])]  # a certificate is not its key
    with pytest.raises(CommandFailed) as info:
        run(argv, cwd=ROOT, timeout=60)
    assert "cannot use" in info.value.stderr


def _split_netbox(into: Path) -> list[Path]:
    """One fragment per service of netbox-docker's compose file, each in its own folder with
    the env files it names (copied as the project ships them)."""
    doc = yaml.safe_load((NETBOX / "docker-compose.yml").read_text())
    folders = []
    for name, service in doc["services"].items():
        folder = into / name
        (folder / "env").mkdir(parents=True)
        volumes = {
            v.split(":", 1)[0]: doc["volumes"][v.split(":", 1)[0]]
            for v in service.get("volumes", [])
            if v.split(":", 1)[0] in doc["volumes"]
        }
        fragment: dict[str, Any] = {"services": {name: service}}
        if volumes:
            fragment["volumes"] = volumes
        (folder / "docker-compose.yml").write_text(yaml.safe_dump(fragment, sort_keys=False))
        shutil.copy(NETBOX / service["env_file"], folder / service["env_file"])
        folders.append(folder)
    return folders


def _publish(server: ServedRegistry, folder: Path, release: str, *extra: str) -> Any:
    argv = [*CONSIGN, "publish", str(folder / "docker-compose.yml"), "-a", "NetBox", "-r", release]
    argv += ["--registry", server.url, "--component", folder.name, *extra]
    return run(argv, cwd=ROOT, env={"CONSIGN_CA_FILE": str(server.verify)}, timeout=120)


def test_a_real_world_project_with_env_files(https: ServedRegistry, tmp_path: Path) -> None:
    folders = _split_netbox(tmp_path / "fragments")
    for folder in folders:
        done = _publish(https, folder, "Attached", "--with-env-files")
        assert "created" in done.stdout and "not attached" not in done.stderr
        done = _publish(https, folder, "Host")
        assert "was not attached: it must exist on the deploy host" in done.stderr
        assert "--with-env-files attaches them" in done.stderr
    number = str(len(folders))
    attached = details(https, "NetBox", "Attached", number)
    expected = [
        f"fragments/{f.name}/"
        + yaml.safe_load((f / "docker-compose.yml").read_text())["services"][f.name]["env_file"]
        for f in folders
    ]
    assert sorted(f["stored"] for f in attached["files"]) == sorted(expected)
    project = f"i13-netbox-{uuid.uuid4().hex[:8]}"
    # from oci://: every env file arrives as a layer
    from_oci = compose(https, "-p", project, "-f", attached["oci"], "config", "--format", "json")
    services = json.loads(from_oci)["services"]
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "netbox"
    assert services["netbox-worker"]["environment"]["DB_HOST"] == "postgres"
    assert services["redis-cache"]["environment"]["REDIS_PASSWORD"] == "t4Ph722qJ5QHeQ1qfu36"
    # from Git: clone, check out the tag, config
    clone = tmp_path / "clone"
    run(
        ["git", "clone", "--quiet", f"{https.url}/git", str(clone)],
        env={"GIT_SSL_CAINFO": str(https.verify)},
    )
    run(["git", "-C", str(clone), "checkout", "--quiet", f"NetBox/Attached/{number}"])
    from_git = json.loads(compose(https, "-p", project, "config", "--format", "json", cwd=clone))
    assert {n: s["environment"] for n, s in from_git["services"].items()} == {
        n: s["environment"] for n, s in services.items()
    }
    # not attached: the files must be on the deploy host, next to the descriptor
    run(["git", "-C", str(clone), "checkout", "--quiet", f"NetBox/Host/{number}"])
    with pytest.raises(CommandFailed) as missing:
        compose(https, "-p", project, "config", "-q", cwd=clone)
    assert "env" in missing.value.stderr
    shutil.copytree(NETBOX / "env", clone / "env")
    from_host = json.loads(compose(https, "-p", project, "config", "--format", "json", cwd=clone))
    assert from_host["services"]["postgres"]["environment"]["POSTGRES_DB"] == "netbox"


def test_read_tokens_compose_answers_the_challenge_with_docker_login_credentials(
    tmp_path: Path, tls: tuple[Path, Path, Path]
) -> None:
    env = {"CONSIGN_READ_TOKENS": "r3ad-token", "CONSIGN_PUBLISH_TOKENS": "pub-token"}
    server = ServedRegistry(
        tmp_path / "registry.git", tmp_path / "serve.log", workers=1, tls=tls, env=env
    )
    with server.start():
        body = {"fragment": b64(HEALTHY.replace("    env_file: env/web.env\n", ""))}
        body |= {"applications": ["Locked"], "releases": ["R"]}
        answer = requests.put(
            f"{server.url}/fragment",
            json=body,
            headers={"Authorization": "Bearer pub-token"},
            timeout=60,
            verify=server.verify,
        )
        assert answer.status_code == 201
        reference = f"oci://127.0.0.1:{server.port}/locked/r:1"
        config = tmp_path / "docker-config"
        config.mkdir()
        with pytest.raises(CommandFailed) as refused:  # no credentials: the 401 stands
            run(
                [COMPOSE, "-f", reference, "config"],
                env={"SSL_CERT_FILE": str(server.verify), "DOCKER_CONFIG": str(config)},
                timeout=120,
            )
        assert "no basic auth credentials" in refused.value.stderr  # it read the challenge
        auth = base64.b64encode(b"ci:r3ad-token").decode()  # what `docker login` writes
        (config / "config.json").write_text(
            json.dumps({"auths": {f"127.0.0.1:{server.port}": {"auth": auth}}})
        )
        done = run(
            [COMPOSE, "-p", "i13-auth", "-f", reference, "config", "--services"],
            env={"SSL_CERT_FILE": str(server.verify), "DOCKER_CONFIG": str(config)},
            timeout=120,
        )
        assert done.stdout.split() == ["web"]
