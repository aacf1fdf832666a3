"""deployer/deploy/hostvars.py: the deploy host's variables, on recorded inputs (no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consign.errors import EnvFileRefused
from consign.exit_codes import ExitCode
from consign.interpolation import unsupplied, used_empty
from consign.secrets.masker import MASK
from deployer.deploy.hostvars import EmptySecrets, HostVariables, MissingVariables, needed_by

DESCRIPTOR = """
services:
  web:
    image: "shop/web:${TAG:-latest}"
    environment:
      DB_PASSWORD: ${DB_PASSWORD}
      LEVEL: ${LOG_LEVEL}
      GREETING: $$NOT_A_VARIABLE
  worker:
    image: busybox
    command: ["sh", "-c", "run --key=${API_KEY:?set the API key}"]
    environment: [ "DB_PASSWORD=${DB_PASSWORD}" ]
    secrets: [db]
secrets:
  db:
    environment: DB_ROOT_PASSWORD
x-notes: "${OPTIONAL-}"
"""


def env_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "deploy.env"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_unsupplied_follows_composes_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}.get
    assert unsupplied("${SET} ${UNSET} $BARE", env) == ["UNSET", "BARE"]
    assert unsupplied("${EMPTY} ${EMPTY?} ${EMPTY:?no}", env) == ["EMPTY"]  # only :? refuses ""
    assert unsupplied("${A:-x} ${A-x} ${A:+${B}} $${C}", env) == []
    assert unsupplied("${A:-${B}}", env) == ["B"]  # a default that is used needs its variables


def test_needed_variables_are_named_with_the_services_using_them() -> None:
    found = needed_by(DESCRIPTOR, {"LOG_LEVEL": "info"}.get)
    assert found == {
        "DB_ROOT_PASSWORD": ["top-level secrets.db", "service worker"],
        "DB_PASSWORD": ["service web", "service worker"],
        "API_KEY": ["service worker"],
    }


def test_admit_refuses_with_names_and_no_value(tmp_path: Path) -> None:
    path = env_file(tmp_path, "DB_PASSWORD=s3cr3t-canary-x1\n")
    host = HostVariables.read(path, {"LOG_LEVEL": "info"})
    with pytest.raises(MissingVariables) as raised:
        host.admit(DESCRIPTOR)
    message = str(raised.value)
    assert raised.value.exit_code == ExitCode.INVALID_DESCRIPTOR
    assert "API_KEY (used by service worker)" in message
    assert "DB_ROOT_PASSWORD (used by top-level secrets.db, service worker)" in message
    assert "DB_PASSWORD" not in message.replace("DB_ROOT_PASSWORD", "")
    assert "s3cr3t" not in message and str(path) in message


def test_admit_masks_the_file_and_secret_named_environment_values(tmp_path: Path) -> None:
    path = env_file(tmp_path, "export DB_PASSWORD='s3cr3t-canary-x2'\nLOG_LEVEL=debug\n")
    environ = {"API_KEY": "key-canary-9", "DB_ROOT_PASSWORD": "root-canary-7", "TAG": "v12345"}
    environ["UNUSED_PASSWORD"] = "never-referenced"
    host = HostVariables.read(path, environ)
    assert host.admit(DESCRIPTOR) == []
    text = "s3cr3t-canary-x2 key-canary-9 root-canary-7 debug v12345 never-referenced"
    # the file's values and the referenced secret-named ones; a tag is no secret
    assert host.masker.mask(text) == f"{MASK} {MASK} {MASK} {MASK} v12345 never-referenced"


def test_the_environment_wins_over_the_file_and_only_the_rest_is_passed(tmp_path: Path) -> None:
    path = env_file(tmp_path, 'A=from-file\nB=file-only\n# comment\nC="two\\nlines"\nD\n')
    host = HostVariables.read(path, {"A": "from-env"})
    assert host.lookup("A") == "from-env" and host.lookup("B") == "file-only"
    assert host.passed == {"B": "file-only", "C": "two\nlines"}


def test_a_short_value_is_named_in_a_warning_never_shown(tmp_path: Path) -> None:
    host = HostVariables.read(env_file(tmp_path, "DB_PASSWORD=abc\n"), {"LOG_LEVEL": "x"})
    text = "services:\n  web:\n    image: a\n    environment: ['P=${DB_PASSWORD}']\n"
    (line,) = host.admit(text)
    assert "DB_PASSWORD" in line and "abc" not in line and "not masked" in line


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_an_env_file_others_may_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    path = env_file(tmp_path, "P=secret-value\n", mode)
    with pytest.raises(EnvFileRefused) as raised:
        HostVariables.read(path, {})
    assert raised.value.exit_code == ExitCode.USAGE
    assert f"mode {mode:04o}" in str(raised.value) and "chmod 600" in str(raised.value)


def test_a_missing_or_unparsable_env_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EnvFileRefused, match="no such file"):
        HostVariables.read(tmp_path / "absent.env", {})
    with pytest.raises(EnvFileRefused, match="not a regular file"):
        HostVariables.read(tmp_path, {})
    bad = env_file(tmp_path, "GOOD=1\nnot a line secret-value\n")
    with pytest.raises(EnvFileRefused) as raised:
        HostVariables.read(bad, {})
    assert "line 2" in str(raised.value) and "secret-value" not in str(raised.value)


def test_without_a_file_nothing_is_masked_but_secret_names() -> None:
    host = HostVariables.read(None, {"LOG_LEVEL": "verbose", "DB_PASSWORD": "pw-canary-1"})
    host.admit("services:\n  web:\n    environment: ['A=${LOG_LEVEL}', 'B=${DB_PASSWORD}']\n")
    assert host.masker.mask("verbose pw-canary-1") == f"verbose {MASK}"


def test_the_dotenv_beside_the_descriptor_counts_last(tmp_path: Path) -> None:
    """Compose reads the .env in the descriptor's folder (a --workdir project folder, a
    --file's folder); the environment and --env-file win over it."""
    (tmp_path / ".env").write_text("A=dotenv\nB=dotenv\nDB_PASSWORD=dotenv-pw-1\n")
    host = HostVariables.read(env_file(tmp_path, "B=file\n"), {"A": "env"})
    text = (
        "services:\n  web:\n    image: a\n    environment: [x=$A, 'y=${B}', 'z=${DB_PASSWORD}']\n"
    )
    with pytest.raises(MissingVariables, match="DB_PASSWORD"):
        host.admit(text)
    host.beside(tmp_path)
    assert [host.lookup(n) for n in ("A", "B", "DB_PASSWORD")] == ["env", "file", "dotenv-pw-1"]
    assert host.admit(text) == [] and host.masker.mask("dotenv-pw-1") == MASK
    assert host.passed == {"B": "file"}  # Compose reads the .env itself


def test_down_checks_the_env_file_as_deploy_does(tmp_path: Path) -> None:
    """One CONSIGN_ENV_FILE for a job's every command: down refuses an open file too
    (before it touches any engine), and accepts a private one."""
    from tests.deployer.helpers import consign

    path = env_file(tmp_path, "P=secret-value\n", 0o644)
    code, out = consign("down", "--project", "hid-none", "--env-file", str(path))
    assert code == ExitCode.USAGE and "mode 0644" in out and "secret-value" not in out


def test_drift_checks_the_env_file_and_resolves_a_stacks_replicas(tmp_path: Path) -> None:
    """drift takes CONSIGN_ENV_FILE too (refused when open to others, before the registry
    is asked); a stack's wanted replicas are read with the deploy's ${VAR} resolved."""
    from deployer.ledger.command import wanted_replicas
    from tests.deployer.helpers import consign

    path = env_file(tmp_path, "P=secret-value\n", 0o644)
    argv = ["drift", "--environment", "qa-none", "--registry", "http://127.0.0.1:9"]
    code, out = consign(*argv, env={"CONSIGN_ENV_FILE": str(path)})
    assert code == ExitCode.USAGE and "mode 0644" in out and "secret-value" not in out
    host = HostVariables.read(env_file(tmp_path, "API_REPLICAS=3\n"), {})
    text = (
        "services:\n  api:\n    image: a\n    deploy: {replicas: ${API_REPLICAS}}\n"
        "  web:\n    image: b\n    deploy: {replicas: '${WEB_REPLICAS:-2}'}\n"
        "  agent:\n    image: c\n    command: echo $$HOME\n    deploy: {mode: global}\n"
    )
    assert wanted_replicas(text, host.lookup) == {"api": 3, "web": 2, "agent": None}
    with pytest.raises(ValueError, match="API_REPLICAS is not set"):
        wanted_replicas(text, {}.get)


def test_used_empty_follows_composes_rules() -> None:
    env = {"E": "", "S": "set"}.get
    assert used_empty("${E}", env) == used_empty("$E", env) == used_empty("${E?m}", env) == ["E"]
    for written in ("${E-}", "${E:-x}", "${E:+y}", "${E+y}", "${U}", "${S}", "$${E}"):
        assert used_empty(written, env) == [], written
    assert used_empty("${U:-${E}}", env) == ["E"]  # the default is used
    assert used_empty("${S:-${E}}", env) == []  # it is not


EMPTY = """
services:
  web:
    image: busybox
    environment: ['A=${LOG_LEVEL}', 'B=${DB_PASSWORD-}', 'C=${DB_USER_TOKEN:-none}']
  worker:
    image: busybox
    command: ["run", "--level=$LOG_LEVEL"]
"""


def test_an_empty_value_is_named_once_in_a_warning(tmp_path: Path) -> None:
    """Compose takes set-but-empty as set: so do we, with a warning naming the variable
    (once per command: the rollback admits its descriptor again), never a value."""
    host = HostVariables.read(
        env_file(tmp_path, "LOG_LEVEL=\nDB_PASSWORD=\nDB_USER_TOKEN=\nPIN=12\n"), {}
    )
    text = EMPTY + "  pin:\n    image: busybox\n    environment: ['P=${PIN}']\n"
    (empty, short) = host.admit(text)
    assert empty == (
        "warning: LOG_LEVEL is set to an empty value, which service web, service worker use as "
        "it is (write ${LOG_LEVEL-} in the descriptor if empty is meant)"
    )
    assert short.startswith("warning: the value of PIN is shorter than 4 characters")
    assert host.admit(text) == [] and host.admit(text) == []  # the rollback, a verify


@pytest.mark.parametrize(
    "line", ["API_TOKEN=${API_TOKEN}", "API_TOKEN=$API_TOKEN", "API_TOKEN=${API_TOKEN?say}"]
)
def test_an_empty_secret_is_refused_unless_the_descriptor_allows_it(
    tmp_path: Path, line: str
) -> None:
    host = HostVariables.read(env_file(tmp_path, "API_TOKEN=\nDB_PASSWORD=\n"), {"LOG_LEVEL": "x"})
    text = EMPTY + f"  api:\n    image: busybox\n    environment: ['{line}']\n"
    with pytest.raises(EmptySecrets) as raised:
        host.admit(text)
    assert raised.value.exit_code == ExitCode.INVALID_DESCRIPTOR
    assert str(raised.value).startswith(
        "a variable whose name marks a secret is set to an empty value in the deployer's "
        f"environment or {tmp_path / 'deploy.env'}: API_TOKEN (used by service api); set it, "
        "or write ${VAR-} in the descriptor"
    )
    # the environment's empty value counts as well; ${VAR-} opts in
    assert (
        HostVariables.read(None, {"API_TOKEN": "", "LOG_LEVEL": "x"}).admit(
            EMPTY.replace("DB_PASSWORD-", "API_TOKEN-")
        )
        == []
    )


def test_an_empty_secret_source_is_refused_whatever_its_name() -> None:
    text = (
        "services:\n  db:\n    image: busybox\n    secrets: [db]\n"
        "secrets:\n  db:\n    environment: ROOT_PW\n"
    )
    with pytest.raises(EmptySecrets, match=r"ROOT_PW \(used by top-level secrets.db, service db\)"):
        HostVariables.read(None, {"ROOT_PW": ""}).admit(text)
