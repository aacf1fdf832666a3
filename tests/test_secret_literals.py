"""consign/secrets/: the detector (detect-secrets, configured once), the walk over every
literal of a fragment, the findings' paths, and the masking of a descriptor. Unit tests on
recorded fragments; tests/registry/test_secrets_served.py takes them through a real server."""

from __future__ import annotations

import time

import pytest

from consign.compose import yamlio
from consign.compose.fragments import parse_fragment
from consign.secrets import detector, findings
from consign.secrets.masking import HINT, MASK, UNREADABLE, masked

# Fake keys shaped right (none is real): one per detector kind the issue names.
AWS = "AKIAZ7QRSTUVWXYZ2345"
GITHUB = "ghp_Zq8wX2vB6nR4tY9uK1mL3pO5iJ7hG0fD2sA4"
SLACK = "xoxb-123456789012-1234567890123-ZqWxEcRvTbYnUmIk0987PoLk"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnkiLCJpYXQiOjE1MTYyMzkwMjJ9."
    "Kq3nV8xR2mW5tY7uB0cE4gH6jL9pS1dF3aZ5xC7vB9n"
)
RSA = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAzq8wX2vB6nR4tY9u\n"
    "-----END RSA PRIVATE KEY-----\n"
)
ENTROPY = "Xk3Jd9fLq2pZ8wNv4TbR7yHcW6mE1sQ5uA0o"
PASSWORD = "hunter2-canary"

EACH_KIND = f"""
services:
  web:
    image: shop/web:1.0
    environment:
      AWS_ACCESS_KEY_ID: {AWS}
      MYSQL_ROOT_PASSWORD: {PASSWORD}
      DB_PASSWORD: ${{DB_PASSWORD}}
      SESSION: "{ENTROPY}"
    labels:
      - "io.example.hook={SLACK}"
    command: ["serve", "--token", "{GITHUB}", "--jwt={JWT}"]
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -uroot --password={PASSWORD} || exit 1"]
  worker:
    image: shop/worker:1.0
    entrypoint: run --password={PASSWORD} --verbose
    build:
      context: .
      args:
        TLS_KEY: |
          {RSA.splitlines()[0]}
          {RSA.splitlines()[1]}
          {RSA.splitlines()[2]}
    environment:
      - PRIVATE_KEY=$${{KEY_FROM_THE_CONTAINER}}
      - SIGNING_SECRET=${{SIGNING_SECRET:-}}
      - HOME=/root
      - DATABASE_URL=postgres://app:{PASSWORD}@db:5432/app
"""

EXPECTED = [
    ("web.environment.AWS_ACCESS_KEY_ID", "AWS Access Key"),
    ("web.environment.MYSQL_ROOT_PASSWORD", "Secret Keyword"),
    ("web.environment.SESSION", "Base64 High Entropy String"),
    ("web.labels.io.example.hook", "Slack Token"),
    ("web.command[2]", "GitHub Token"),
    ("web.command[3]", "JSON Web Token"),
    ("web.healthcheck.test[1]", "Secret Keyword"),
    ("worker.environment.DATABASE_URL", "Basic Auth Credentials"),
    ("worker.build.args.TLS_KEY", "Private Key"),
    ("worker.entrypoint[1]", "Secret Keyword"),
]
SECRETS = [AWS, GITHUB, SLACK, JWT, ENTROPY, PASSWORD, "MIIEowIBAAKCAQEAzq8wX2vB6nR4tY9u"]


def _spec(text: str) -> dict:
    spec, _ = parse_fragment(text)
    return spec


def test_every_kind_is_found_where_it_is_and_no_variable_is() -> None:
    found = findings.in_spec(_spec(EACH_KIND))
    assert [(f.path, f.kind) for f in found] == EXPECTED
    said = " ".join(f.describe() for f in found) + repr(found)
    for secret in SECRETS:  # a finding never carries the value
        assert secret not in said
        assert secret.split(".")[0] not in said


@pytest.mark.parametrize(
    "value",
    [
        "${DB_PASSWORD}",
        "$DB_PASSWORD",
        "${DB_PASSWORD:-}",
        "${DB_PASSWORD:?set it on the deploy host}",
        "$${PASSWORD_IN_THE_CONTAINER}",
        "$$PASSWORD_IN_THE_CONTAINER",
        "/run/secrets/db-password",
        "true",
        "postgres://app:${DB_PASSWORD}@db:5432/app",
    ],
)
def test_variables_escapes_and_paths_are_never_findings(value: str) -> None:
    text = "services:\n  db:\n    image: postgres:16\n    environment:\n"
    text += f"      DB_PASSWORD: '{value}'\n"
    assert findings.in_spec(_spec(text)) == []
    assert detector.scan(value, "DB_PASSWORD") == ()


def test_list_and_mapping_forms_name_the_same_path() -> None:
    mapping = "services:\n  db:\n    image: m:8\n    environment:\n      MYSQL_PASSWORD: pw-0xq\n"
    listed = "services:\n  db:\n    image: m:8\n    environment:\n      - MYSQL_PASSWORD=pw-0xq\n"
    assert findings.in_spec(_spec(mapping)) == findings.in_spec(_spec(listed))
    assert [f.path for f in findings.in_spec(_spec(listed))] == ["db.environment.MYSQL_PASSWORD"]


def test_an_attached_env_file_is_scanned_and_named_by_the_service_using_it() -> None:
    text = "services:\n  db:\n    image: m:8\n    env_file: [conf/db.env]\n"
    data = f"# the database\nexport DB_PASS='{PASSWORD}'\nDB_HOST=db\nTOKEN=${{TOKEN}}\n".encode()
    found = findings.in_fragment(_spec(text), {"conf/db.env": data})
    assert [f.describe() for f in found] == ["db.env_file:conf/db.env:DB_PASS (Secret Keyword)"]


def test_the_seed_mysql_fragment_is_found() -> None:
    text = (
        "services:\n  mysql:\n    image: mysql\n    environment:\n"
        "        MYSQL_ROOT_PASSWORD: sa\n        MYSQL_USER: mysql\n"
        "        MYSQL_PASSWORD: mysql\n        MYSQL_DATABASE: owncloud\n"
    )
    paths = [f.path for f in findings.in_spec(_spec(text))]
    assert paths == ["mysql.environment.MYSQL_ROOT_PASSWORD", "mysql.environment.MYSQL_PASSWORD"]


def test_masking_replaces_values_only_and_says_why() -> None:
    descriptor = yamlio.dump(_spec(EACH_KIND))
    shown = masked(descriptor)
    for secret in SECRETS:
        assert secret in descriptor or secret in EACH_KIND
        assert secret not in shown
    assert "MYSQL_ROOT_PASSWORD: " + MASK in shown
    assert f"--jwt={MASK}" in shown and f"run --password={MASK} --verbose" in shown
    assert "DB_PASSWORD: ${DB_PASSWORD}" in shown  # variables stay as they are
    assert shown.count(MASK) == len(EXPECTED)
    assert all(HINT in line for line in shown.splitlines() if MASK in line)
    clean = yamlio.dump(_spec("services:\n  a:\n    image: busybox:1.36\n"))
    assert masked(clean) == clean  # nothing to mask: the very text


def test_findings_read_back_from_their_description() -> None:
    f = findings.SecretFinding("web.labels.a (b)", "Secret Keyword")
    assert findings.SecretFinding.read(f.describe()) == f


def test_a_value_costs_little_once_the_plugins_are_built() -> None:
    """Not a speed target (bench/ measures the publish); a guard against rebuilding the
    plugins per value, which costs milliseconds each."""
    detector.scan("x", "KEY")
    first = detector.plugins()
    start = time.perf_counter()
    for _ in range(50):
        detector.scan(PASSWORD, "MYSQL_PASSWORD")
    assert detector.plugins() is first
    assert (time.perf_counter() - start) / 50 < 0.05


def test_a_text_that_cannot_be_read_is_not_shown() -> None:
    assert masked("services: [unclosed\n  password: hunter2-canary") == UNREADABLE


@pytest.mark.parametrize(
    ("key", "found"),
    [
        ("org.opencontainers.image.revision", ()),
        ("GIT_COMMIT", ()),
        ("BUILD_SHA", ()),
        ("API_TOKEN", ("Hex High Entropy String",)),
        (None, ("Hex High Entropy String",)),
    ],
)
def test_a_commit_id_named_as_one_is_no_finding(key: str | None, found: tuple[str, ...]) -> None:
    assert detector.scan("3f2a9c41b7e0d8f65a1c2b3d4e5f60718293a4b5", key) == found
