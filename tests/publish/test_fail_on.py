"""`consign publish --fail-on KINDS` (CONSIGN_FAIL_ON): a real `consign publish` process
against a real `consign serve`; the kinds are read from the registry's publish answer, so
each is published here for real (a changed warning text fails this file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from consign.exit_codes import ExitCode
from publisher import failon
from tests.publish.conftest import consign_publish
from tests.serving import ServedRegistry

COMPLETE = "services:\n  api:\n    image: busybox:1.36\n"
DANGLING = "services:\n  worker:\n    image: busybox:1.36\n    depends_on: [migrat]\n"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    tmp = tmp_path_factory.mktemp("fail-on")
    with ServedRegistry(tmp / "registry.git", tmp / "serve.log", workers=1) as server:
        server.start()
        yield server


def _publish(
    registry: ServedRegistry, tmp_path: Path, text: str, app: str, *args: str, **env: str
) -> tuple[int, str, str]:
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    argv = [str(path), "-a", app, "-r", "Dev", "--registry", registry.url, *args]
    done = consign_publish(*argv, env=env)
    return done.returncode, done.stdout, done.stderr


def _latest(registry: ServedRegistry, app: str) -> int:
    url = f"{registry.url}/api/applications/{app}/releases/Dev/versions"
    answer = requests.get(url, timeout=30)
    return int(answer.json()["versions"][0]["version"]) if answer.status_code == 200 else 0


def test_fail_on_incomplete_exits_7_on_a_dangling_reference_and_says_why(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    code, out, err = _publish(registry, tmp_path, DANGLING, "Typo", "--fail-on", "incomplete")
    assert code == ExitCode.PUBLISH_FAILED, err
    assert "Typo / Dev v1 " in out and out.rstrip().endswith(" created")  # stored all the same
    assert (
        "--fail-on incomplete: Typo / Dev v1: worker → migrat (stored, but it cannot be "
        "deployed until a component provides it)\n"
    ) in err
    assert err.rstrip().splitlines()[-1] == (
        "error: consign publish: published, but the version carries what --fail-on "
        "incomplete fails the build on"
    )
    # a retried build says the same: the version is unchanged, and still incomplete
    code, out, err = _publish(registry, tmp_path, DANGLING, "Typo", "--fail-on", "incomplete")
    assert code == ExitCode.PUBLISH_FAILED and out.rstrip().endswith(" unchanged"), out + err
    assert _latest(registry, "Typo") == 1


def test_fail_on_incomplete_exits_0_on_a_complete_version(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    code, out, err = _publish(registry, tmp_path, COMPLETE, "Whole", "--fail-on", "incomplete")
    assert code == ExitCode.OK and out.rstrip().endswith(" created"), err
    assert "--fail-on" not in err
    # without --fail-on, an incomplete version passes as before
    code, _, err = _publish(registry, tmp_path, DANGLING, "Lax")
    assert code == ExitCode.OK and "which no component provides yet" in err


@pytest.mark.parametrize(
    ("kind", "text", "says"),
    [
        (
            "mutable-images",
            "services:\n  web:\n    image: busybox:latest\n",
            "web (busybox:latest)",
        ),
        ("mutable-images", "services:\n  web:\n    image: busybox\n", "web (busybox)"),
        ("variables", "services:\n  web:\n    image: busybox:${TAG}\n", "variable ${TAG}"),
        (
            "env-files",
            "services:\n  web:\n    image: busybox:1\n    env_file: web.env\n",
            "reads env_file 'web.env', which was not attached",
        ),
        ("converted", "version: '3'\nservices:\n  web:\n    image: busybox:1\n", "obsolete"),
        ("converted", "web:\n  image: busybox:1\n", "legacy v1 format"),
        ("warnings", "services:\n  web:\n    image: busybox:latest\n", "warnings: mutable"),
        ("warnings", "version: '3'\nservices:\n  web:\n    image: busybox:1\n", "obsolete"),
    ],
)
def test_each_kind_fails_the_build_on_what_the_registry_says(
    registry: ServedRegistry, tmp_path: Path, kind: str, text: str, says: str
) -> None:
    app = f"Kind-{kind}-{len(text)}"
    code, _, err = _publish(registry, tmp_path, text, app, CONSIGN_FAIL_ON=kind)
    assert code == ExitCode.PUBLISH_FAILED, err
    (line,) = [line for line in err.splitlines() if line.startswith("--fail-on ")]
    assert line.startswith(f"--fail-on {kind}: {app} / Dev v1: ") and says in line, err
    others = ",".join(k.name for k in failon.KINDS if k.name not in (kind, "warnings"))
    code, _, err = _publish(registry, tmp_path, COMPLETE, f"{app}-ok", "--fail-on", others)
    assert code == ExitCode.OK, err


def test_kinds_the_version_does_not_carry_pass(registry: ServedRegistry, tmp_path: Path) -> None:
    mutable = "services:\n  web:\n    image: busybox:latest\n"
    code, _, err = _publish(
        registry, tmp_path, mutable, "Pass", "--fail-on", "incomplete,variables,env-files"
    )
    assert code == ExitCode.OK, err
    code, _, err = _publish(
        registry,
        tmp_path,
        mutable,
        "Pass",
        "--fail-on",
        "incomplete",
        "--fail-on",
        "mutable-images",
    )
    assert code == ExitCode.PUBLISH_FAILED and "--fail-on mutable-images: Pass / Dev v1" in err


def test_an_unknown_kind_is_a_usage_error_before_anything_is_sent(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    code, _, err = _publish(registry, tmp_path, COMPLETE, "Never", "--fail-on", "incomplete,typo")
    assert code == ExitCode.USAGE, err
    assert "unknown --fail-on kind(s) typo; choose from incomplete, warnings, " in err
    assert _latest(registry, "Never") == 0  # nothing was published


def test_the_kinds_and_their_help() -> None:
    assert [k.name for k in failon.parse(["incomplete, Warnings", "incomplete"])] == [
        "incomplete",
        "warnings",
    ]
    assert failon.parse([]) == ()
    help_text = failon.help_text()
    assert all(f"{k.name}: " in help_text for k in failon.KINDS)


def test_a_mutable_image_is_said_once(registry: ServedRegistry, tmp_path: Path) -> None:
    """The registry answers the fragment's warning per service and the version's summary;
    the build log names each mutable image once, in the warnings and in the --fail-on line."""
    text = "services:\n  web:\n    image: busybox:latest\n  db:\n    image: busybox\n"
    code, _, err = _publish(registry, tmp_path, text, "Once", "--fail-on", "mutable-images")
    assert code == ExitCode.PUBLISH_FAILED, err
    assert err.count("web (busybox:latest)") == 2 and err.count("db (busybox)") == 2, err
    assert "uses the mutable image reference" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("--fail-on ")]
    assert line.count("mutable image references") == 1


def test_without_repeats_keeps_what_no_summary_names() -> None:
    one = (
        "service 'web' uses the mutable image reference 'busybox' and is not pinned: publish "
        "a unique tag or use consign publish --pin-images"
    )
    other = one.replace("'web'", "'api'")
    summary = (
        "mutable image references, not pinned (publish unique tags or use consign publish "
        "--pin-images): web (busybox), db (redis:latest)"
    )
    assert failon.without_repeats([one, other, summary, summary]) == [other, summary]
    assert failon.without_repeats([one, other]) == [one, other]  # no summary: both kept
    assert failon.without_repeats([one, summary.replace("web (busybox)", "web (x)")])[0] == one
