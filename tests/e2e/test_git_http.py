"""`git clone http://HOST:PORT/git`: the real git client against a real `consign serve`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from consign.process import Completed, run
from tests.e2e.conftest import StartRegistry
from tests.e2e.serve import publish
from tests.serving import ServedRegistry

APP, REL = "TLO GE", "Milestone 2"


def git(*args: str | Path, cwd: Path | None = None, check: bool = True) -> Completed:
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "GIT_CONFIG_NOSYSTEM": "1"}
    return run(["git", *[str(a) for a in args]], cwd=cwd, env=env, timeout=60, check=check)


def fragment(tmp_path: Path, service: str, tag: str = "1") -> Path:
    path = tmp_path / f"{service}-{tag}.yml"
    path.write_text(
        f"services:\n  {service}:\n    image: busybox:latest\n"
        f"    command: [sh, -c, 'echo {tag}; sleep 3600']\n"
    )
    return path


def tags(clone: Path) -> list[str]:
    return git("tag", "--list", cwd=clone).stdout.split()


def test_clone_fetch_tag_checkout_and_log(registry_server: ServedRegistry, tmp_path: Path) -> None:
    url = registry_server.url
    publish(url, fragment(tmp_path, "web"), APP, REL, build={"bamboo_buildNumber": "41"})
    publish(url, fragment(tmp_path, "db"), APP, REL, build={"bamboo_buildNumber": "7"})
    clone = tmp_path / "descriptors"
    cloned = git("clone", f"{url}/git", clone)
    assert "warning" not in cloned.stderr.lower(), cloned.stderr  # HEAD names a real branch
    assert "git checkout 'TLO%20GE/Milestone/3'" in (clone / "README.md").read_text()
    versions = requests.get(
        f"{url}/api/applications/{APP}/releases/{REL}/versions", timeout=10
    ).json()["versions"]
    assert sorted(tags(clone)) == sorted(v["tag"] for v in versions)

    publish(url, fragment(tmp_path, "web", "2"), APP, REL, build={"bamboo_buildNumber": "42"})
    latest = requests.get(
        f"{url}/api/applications/{APP}/releases/{REL}/versions/latest", timeout=10
    ).json()
    assert latest["version"] == 3 and latest["tag"] not in tags(clone)
    git("fetch", "origin", "tag", latest["tag"], cwd=clone)
    assert latest["tag"] in tags(clone)
    git("checkout", "--quiet", latest["tag"], cwd=clone)
    assert git("rev-parse", "HEAD", cwd=clone).stdout.strip() == latest["commit"]
    served = requests.get(f"{url}/descriptor/application/{APP}/{REL}/3", timeout=10)
    assert (clone / "docker-compose.yml").read_bytes() == served.content
    assert json.loads((clone / "consign.json").read_text())["version"] == 3
    log = git("log", "--format=%H %s", cwd=clone).stdout.splitlines()
    assert log[0].split()[0] == latest["commit"]
    assert len(log) == 3


def test_push_is_refused(registry_server: ServedRegistry, tmp_path: Path) -> None:
    url = registry_server.url
    publish(url, fragment(tmp_path, "web"), APP, REL)
    clone = tmp_path / "descriptors"
    git("clone", f"{url}/git", clone)
    before = git("ls-remote", f"{url}/git").stdout
    git(
        "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--allow-empty", "-m", "x", cwd=clone
    )
    pushed = git("push", "origin", "HEAD:refs/heads/evil", cwd=clone, check=False)
    assert pushed.returncode != 0 and "403" in pushed.stderr
    assert git("ls-remote", f"{url}/git").stdout == before

    info = requests.get(f"{url}/git/info/refs", params={"service": "git-receive-pack"}, timeout=10)
    post = requests.post(f"{url}/git/git-receive-pack", data=b"0000", timeout=10)
    for answer in (info, post):
        assert answer.status_code == 403
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["error"] == "forbidden"


def test_read_tokens_guard_the_git_route(start_registry: StartRegistry, tmp_path: Path) -> None:
    server = start_registry({"CONSIGN_READ_TOKENS": "r3ad", "CONSIGN_PUBLISH_TOKENS": "pub"})
    publish(server.url, fragment(tmp_path, "web"), APP, REL, token="pub")
    host = server.url.removeprefix("http://")

    anonymous = git("clone", f"{server.url}/git", tmp_path / "a", check=False)
    assert anonymous.returncode != 0
    wrong = git("clone", f"http://x:nope@{host}/git", tmp_path / "b", check=False)
    assert wrong.returncode != 0 and "403" in wrong.stderr
    git("clone", f"http://x:r3ad@{host}/git", tmp_path / "c")
    assert len(tags(tmp_path / "c")) == 1
    bearer = "http.extraHeader=Authorization: Bearer r3ad"
    git("-c", bearer, "clone", f"{server.url}/git", tmp_path / "d")
    assert tags(tmp_path / "d") == tags(tmp_path / "c")

    refused = requests.get(f"{server.url}/git/info/refs?service=git-upload-pack", timeout=10)
    assert refused.status_code == 401
    assert "Basic" in refused.headers["WWW-Authenticate"]


@pytest.mark.slow
def test_incremental_fetch_after_many_versions(
    registry_server: ServedRegistry, tmp_path: Path
) -> None:
    """Negotiation with many "have" lines, gzip'd and chunked request bodies, through CGI."""
    url = registry_server.url
    for n in range(12):
        publish(url, fragment(tmp_path, "web", str(n)), APP, f"r{n % 3}")
    clone = tmp_path / "descriptors"
    git("clone", "--quiet", f"{url}/git", clone)
    git("checkout", "--quiet", "-b", "local", tags(clone)[0], cwd=clone)
    for n in range(40):  # local-only commits: more "have" lines to negotiate
        git(
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            f"l{n}",
            "--allow-empty",
            cwd=clone,
        )
    for n in range(12, 20):
        publish(url, fragment(tmp_path, "web", str(n)), APP, f"r{n % 3}")
    # Protocol v0 (the clone used v2) with a tiny postBuffer: chunked request bodies.
    git(
        "-c",
        "protocol.version=0",
        "-c",
        "http.postBuffer=1024",
        "fetch",
        "--tags",
        "origin",
        cwd=clone,
    )
    assert len(tags(clone)) == 20
    assert git("fsck", "--no-progress", cwd=clone).returncode == 0


def pkt(line: str) -> bytes:
    data = line.encode()
    return f"{len(data) + 4:04x}".encode() + data


def test_negotiation_bodies_larger_than_the_api_limit(
    registry_server: ServedRegistry, tmp_path: Path
) -> None:
    """A fetch that sends 30k "have" lines (1.5 MiB, over MAX_BODY_BYTES) is still served."""
    url = registry_server.url
    publish(url, fragment(tmp_path, "web"), APP, REL)
    (commit, _ref) = git("ls-remote", "--tags", f"{url}/git").stdout.split()
    haves = b"".join(pkt(f"have {n:040x}\n") for n in range(1, 30_001))
    body = pkt(f"want {commit}\n") + b"0000" + haves + pkt("done\n")
    assert len(body) > 1024 * 1024
    answer = requests.post(
        f"{url}/git/git-upload-pack",
        data=body,
        headers={"Content-Type": "application/x-git-upload-pack-request"},
        timeout=60,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/x-git-upload-pack-result"
    assert b"PACK" in answer.content
