"""Issue 24's publish side through a real `consign serve` (gunicorn) and real `consign`
processes: the seed's MySQL fragment and a fragment with every detector kind publish with
state `warnings` naming each path; the UI's version and diff pages, the API's diff and
`consign show` never show a found value, the raw descriptor serves the bytes as stored;
a release whose policy says `refuse` answers 422 naming the paths and writes nothing;
`consign publish --interpolate` leaves a secret-named variable for the deploy host, and one
whose value the detector flags (the trial's CI agent: GITHUB_PAT, SMTP_CREDENTIAL);
`--fail-on secrets` fails the build. The rules themselves: tests/test_secret_literals.py."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from consign.exit_codes import ExitCode
from consign.secrets.masking import HINT, MASK
from tests.publish.conftest import consign_publish
from tests.serving import CONSIGN, ROOT, ServedRegistry
from tests.test_secret_literals import EACH_KIND, SECRETS

SEED_MYSQL = (
    "mysql:\n    image: mysql\n    container_name: mysql\n    restart: always\n"
    "    environment:\n        MYSQL_ROOT_PASSWORD: sa\n        MYSQL_USER: mysql\n"
    "        MYSQL_PASSWORD: mysql\n        MYSQL_DATABASE: owncloud\n"
)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    tmp = tmp_path_factory.mktemp("secrets")
    with ServedRegistry(tmp / "registry.git", tmp / "serve.log", workers=1) as server:
        server.start()
        yield server


def _publish(registry: ServedRegistry, tmp: Path, text: str, app: str, *args: str, **env: str):
    path = tmp / "docker-compose.yml"
    path.write_text(text)
    argv = [str(path), "-a", app, "-r", "Dev", "--registry", registry.url, *args]
    return consign_publish(*argv, env=env)


def _refs(registry: ServedRegistry) -> str:
    done = subprocess.run(
        ["git", "--git-dir", str(registry.repo), "for-each-ref"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _git_grep(registry: ServedRegistry, needle: str) -> bool:
    """Whether any object reachable from any ref holds ``needle``."""
    revs = subprocess.run(
        ["git", "--git-dir", str(registry.repo), "rev-list", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    done = subprocess.run(
        ["git", "--git-dir", str(registry.repo), "grep", "-F", "-q", needle, *revs],
        capture_output=True,
    )
    return done.returncode == 0


def test_warn_stores_names_the_paths_and_never_shows_a_value(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    done = _publish(registry, tmp_path, SEED_MYSQL, "Seed")
    assert done.returncode == 0, done.stderr
    assert "mysql.environment.MYSQL_ROOT_PASSWORD (Secret Keyword)" in done.stderr
    done = _publish(registry, tmp_path, EACH_KIND, "Shop")
    assert done.returncode == 0, done.stderr
    api = f"{registry.url}/api/applications/Shop/releases/Dev"
    listed = requests.get(f"{api}/versions", timeout=30).json()["versions"][0]
    assert listed["state"] == "warnings"
    assert listed["state_reason"].startswith("warnings: secrets: web.environment.AWS_ACCESS_KEY_ID")
    version = requests.get(f"{api}/versions/1", timeout=30).json()
    # a second publish by another component: the version still carries the first's findings
    other = "services:\n  cache:\n    image: redis:7.2\n"
    assert _publish(registry, tmp_path, other, "Shop", "--fail-on", "secrets").returncode == (
        ExitCode.PUBLISH_FAILED
    )
    v2 = requests.get(f"{api}/versions/2", timeout=30).json()
    assert v2["warnings"][0] == version["warnings"][0]
    assert "worker.entrypoint[1] (Secret Keyword)" in v2["warnings"][0]

    listing = requests.get(f"{registry.url}/ui/applications/Shop/releases/Dev", timeout=30).text
    assert 'title="secrets: web.environment.AWS_ACCESS_KEY_ID, ' in listing
    pages = {
        "release page": listing,
        "version page": requests.get(
            f"{registry.url}/ui/applications/Shop/releases/Dev/versions/1", timeout=30
        ).text,
        "diff page": requests.get(
            f"{registry.url}/ui/diff", params={"from": "Seed/Dev/1", "to": "Shop/Dev/2"}, timeout=30
        ).text,
        "API diff": requests.get(
            f"{api}/diff",
            params={"from_application": "Seed", "from_release": "Dev", "from": "1"},
            timeout=30,
        ).json()["diff"],
        "API version": str(version) + str(v2),
        "consign show": _show(registry, "show", "Shop", "Dev", "2")
        + _show(registry, "show", "Seed", "Dev", "1"),
        "consign versions": _show(registry, "versions", "Shop", "Dev"),
    }
    for where, text in pages.items():
        for secret in SECRETS:
            assert secret not in text, f"{where} shows a secret"
        assert "MYSQL_ROOT_PASSWORD: sa" not in text, where
    for where in ("version page", "diff page", "API diff"):
        assert MASK in pages[where] and HINT in pages[where], where
    assert "MYSQL_ROOT_PASSWORD" in pages["consign show"]  # the path, named
    assert "secrets: web.environment.AWS_ACCESS_KEY_ID" in pages["consign versions"]
    # the raw descriptor (read role) serves the bytes as stored: the deployer needs them
    raw = requests.get(f"{registry.url}/descriptor/application/Shop/Dev/1", timeout=30).text
    assert SECRETS[0] in raw


def _show(registry: ServedRegistry, *argv: str) -> str:
    """`consign show|versions ...` against the registry: its output."""
    done = subprocess.run(
        [*CONSIGN, *argv, "--registry", registry.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_refuse_answers_422_naming_each_path_and_writes_nothing(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    policy = f"{registry.url}/api/applications/Vault/releases/Dev/policy"
    answer = requests.put(policy, json={"secrets": "refuse", "by": "sec"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["policy"]["secrets"] == "refuse"
    assert (
        requests.put(policy.replace("Vault", "X"), json={"secrets": "no"}, timeout=30).status_code
        == 400
    )
    before = _refs(registry)
    done = _publish(registry, tmp_path, EACH_KIND, "Vault")
    assert done.returncode == ExitCode.PUBLISH_FAILED
    assert "web.environment.MYSQL_ROOT_PASSWORD (Secret Keyword)" in done.stderr
    assert "worker.build.args.TLS_KEY (Private Key)" in done.stderr
    for secret in SECRETS:
        assert secret not in done.stderr + done.stdout
    assert _refs(registry) == before
    # `${VAR}` forms pass the same policy
    clean = (
        "services:\n  db:\n    image: postgres:16\n    environment:\n"
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n"
    )
    assert _publish(registry, tmp_path, clean, "Vault").returncode == 0


def test_interpolate_leaves_a_secret_named_variable_for_the_deploy_host(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    text = (
        "services:\n  db:\n    image: postgres:${TAG}\n    environment:\n"
        "      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"
    )
    done = _publish(
        registry, tmp_path, text, "Baked", "--interpolate", TAG="16", DB_PASSWORD="s3cr3t-canary-ci"
    )
    assert done.returncode == 0, done.stderr
    assert "left ${DB_PASSWORD} for the deploy host" in done.stderr
    raw = requests.get(f"{registry.url}/descriptor/application/Baked/Dev/1", timeout=30).text
    assert "POSTGRES_PASSWORD: ${DB_PASSWORD}" in raw and "postgres:16" in raw
    assert not _git_grep(registry, "s3cr3t-canary-ci")


def test_a_diff_only_in_a_masked_value_names_its_path_and_never_its_value(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    """The trial's Vault: v1 -> v2 changes only the literal POSTGRES_PASSWORD; the API, `consign
    diff` and the UI's diff page say so by its path and mark its row, and show no value."""
    text = (
        "services:\n  pg:\n    image: postgres:16\n    environment:\n"
        "      POSTGRES_PASSWORD: {pw}\n      POSTGRES_USER: app\n"
    )
    old_pw, new_pw = "Tr1al-Vault-pw-0001", "Tr1al-Vault-pw-0002"
    for pw in (old_pw, new_pw):
        done = _publish(registry, tmp_path, text.format(pw=pw), "Trial Vault")
        assert done.returncode == 0, done.stderr
    api = f"{registry.url}/api/applications/Trial Vault/releases/Dev/diff"
    answer = requests.get(api, params={"from": "1", "to": "2"}, timeout=30).json()
    assert answer["masked_changed"] == ["pg.environment.POSTGRES_PASSWORD"]
    assert answer["only_masked_changed"] is True
    assert f"+      POSTGRES_PASSWORD: {MASK} (changed)  # {HINT}" in answer["diff"]
    assert [c["service"] for c in answer["changed"]] == ["pg"]
    cli = _show(registry, "diff", "Trial Vault", "Dev", "1", "2")
    said = "(the descriptors differ only in masked values: pg.environment.POSTGRES_PASSWORD)"
    assert said in cli and f"{MASK} (changed)" in cli and "identical" not in cli
    page = requests.get(
        f"{registry.url}/ui/diff",
        params={"from": "Trial Vault/Dev/1", "to": "Trial Vault/Dev/2"},
        timeout=30,
    ).text
    assert (
        "The descriptors differ only in masked values: <code>pg.environment.POSTGRES_PASSWORD"
        in page
    )
    assert f"POSTGRES_PASSWORD: {MASK} (changed)" in page and "are identical" not in page
    # another change beside it: the masked one is still named, not as the only one
    done = _publish(registry, tmp_path, text.format(pw=old_pw).replace(":16", ":17"), "Trial Vault")
    assert done.returncode == 0, done.stderr
    cli_3 = _show(registry, "diff", "Trial Vault", "Dev", "2", "3")
    assert "(masked values that changed: pg.environment.POSTGRES_PASSWORD)" in cli_3
    answer_3 = requests.get(api, params={"from": "2", "to": "3"}, timeout=30).json()
    assert (
        answer_3["only_masked_changed"] is False and "+    image: postgres:17" in answer_3["diff"]
    )
    page_3 = requests.get(f"{registry.url}/ui/diff", params={"to": "Trial Vault/Dev/3"}, timeout=30)
    assert "Masked values that changed: <code>pg.environment.POSTGRES_PASSWORD" in page_3.text
    for where, shown in {
        "API": str(answer) + str(answer_3),
        "consign diff": cli + cli_3,
        "UI": page + page_3.text,
    }.items():
        assert old_pw not in shown and new_pw not in shown, f"{where} shows a value"


def test_interpolate_leaves_a_variable_whose_value_is_flagged(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    """The trial's command: names that did not mark a secret, values that are secrets."""
    pat = "ghp_Qa7wX2vB6nR4tY9uK1mL3pO5iJ7hG0fD2sZ9"
    text = (
        "services:\n  worker:\n    image: shop/worker:${BUILD_TAG}\n    environment:\n"
        "      GITHUB_PAT: ${GITHUB_PAT}\n      SMTP_CREDENTIAL: ${SMTP_CREDENTIAL}\n"
        "      DB_PASSWORD: ${DB_PASSWORD}\n      APIKEY: ${APIKEY}\n"
    )
    canaries = {
        "GITHUB_PAT": pat,
        "SMTP_CREDENTIAL": "SmtpCiSecret-canary-ci",
        "APIKEY": "apikey-canary-ci",
        "BUILD_TAG": "1",
    }
    done = _publish(
        registry,
        tmp_path,
        text,
        "Trial Ci",
        "-c",
        "worker",
        "--interpolate",
        "--set",
        "DB_PASSWORD=dbpass-canary-ci",
        **canaries,
    )
    assert done.returncode == 0, done.stderr
    assert "left ${SMTP_CREDENTIAL}, ${DB_PASSWORD}, ${APIKEY} for the deploy host" in done.stderr
    assert (
        "left ${GITHUB_PAT} for the deploy host to resolve: its value looks like a secret "
        "(GitHub Token)" in done.stderr
    )
    raw = requests.get(f"{registry.url}/descriptor/application/Trial Ci/Dev/1", timeout=30).text
    assert "image: shop/worker:1" in raw and "GITHUB_PAT: ${GITHUB_PAT}" in raw
    for needle in (pat, "canary-ci"):
        assert needle not in done.stdout + done.stderr
        assert not _git_grep(registry, needle)
