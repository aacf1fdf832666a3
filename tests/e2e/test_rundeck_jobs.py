"""The rundeck-jobs/ files: documented job-yaml format, references, rendering rules."""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.jobformat import job_errors
from tests.e2e.rundeck_expand import (
    JOB_CONTEXT,
    expand_values_url,
    references,
    render_exec,
    tokenize,
)

ROOT = Path(__file__).resolve().parents[2]
JOB_FILES = sorted((ROOT / "rundeck-jobs").glob("*.yaml"))
DOC = ROOT / "docs" / "rundeck.md"
SAMPLE = {"application": "TLO GE", "release": "Milestone 2", "version": "3", "project": ""}


def load(path: Path) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = yaml.safe_load(path.read_text())
    return doc


def jobs() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{p.name}:{job['name']}", job) for p in JOB_FILES for job in load(p)]


def test_the_jobs_exist() -> None:
    assert [p.name for p in JOB_FILES] == [
        "bisect.yaml",
        "deploy.yaml",
        "promote.yaml",
        "rollback.yaml",
        "status.yaml",
        "teardown.yaml",
        "verify.yaml",
    ]


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.name)
def test_job_file_follows_the_documented_format(path: Path) -> None:
    assert job_errors(load(path)) == []


BROKEN = [
    ("secret no keys/", lambda j: j["options"][-1].update(storagePath="k/t"), "under keys/"),
    ("stored, not secure", lambda j: j["options"][-1].pop("secure"), "needs secure: true"),
    ("no sequence", lambda j: j.pop("sequence"), "sequence is required"),
    ("bad loglevel", lambda j: j.update(loglevel="LOUD"), "loglevel must be"),
    ("two step kinds", lambda j: j["sequence"]["commands"][0].update(script="x"), "exactly one"),
    ("typo valueUrl", lambda j: j["options"][0].update(valueUrl="http://x"), "'valueUrl'"),
    ("no keepgoing", lambda j: j["sequence"].pop("keepgoing"), "keepgoing is required"),
    ("no filter", lambda j: j["nodefilters"].pop("filter"), "non-empty filter"),
    ("string bool", lambda j: j["options"][0].update(enforced="true"), "true/false"),
    ("no url host", lambda j: j["options"][0].update(valuesUrl="${globals.u}/x"), "literal http"),
    ("enforced bare", lambda j: j["options"][0].pop("valuesUrl"), "enforced needs values"),
]


@pytest.mark.parametrize(("why", "mutate", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_format_check_rejects_broken_jobs(why: str, mutate: Any, expected: str) -> None:
    job = copy.deepcopy(load(ROOT / "rundeck-jobs" / "deploy.yaml")[0])
    mutate(job)
    assert any(expected in e for e in job_errors([job])), job_errors([job])


@pytest.mark.parametrize(("label", "job"), jobs(), ids=[j[0] for j in jobs()])
def test_job_runs_on_docker_hosts_and_its_exit_status_is_the_deployers(
    label: str, job: dict[str, Any]
) -> None:
    assert job["nodefilters"]["filter"] == "tags: docker-host"
    assert job["nodesSelectedByDefault"] is True
    assert job["sequence"]["keepgoing"] is False
    (step,) = job["sequence"]["commands"]
    argv = tokenize(step["exec"])
    assert argv[:2] == ["docker", "run"] and "--rm" in argv
    command = argv[argv.index("${globals.deployer_image}") + 1]
    assert command in {"deploy", "status", "down", "promote", "bisect", "verify"}
    # promote only talks to the registry: it gets no Docker socket
    assert ("/var/run/docker.sock:/var/run/docker.sock" in argv) == (command != "promote")


@pytest.mark.parametrize(("label", "job"), jobs(), ids=[j[0] for j in jobs()])
def test_every_reference_is_defined(label: str, job: dict[str, Any]) -> None:
    """Options referenced exist (cascades only on earlier options); globals are documented."""
    names = [o["name"] for o in job.get("options", [])]
    doc = DOC.read_text()
    used = references(job["sequence"]["commands"][0]["exec"])
    for index, opt in enumerate(job.get("options", [])):
        for ctx, key in references(opt.get("valuesUrl", "")):
            used.add((ctx, key))
            if ctx == "option":
                assert key.endswith(".value"), key
                assert key.removesuffix(".value") in names[:index], f"{opt['name']} -> {key}"
    for ctx, key in used:
        assert ctx in {"option", "globals", "job"}
        if ctx == "job":  # Rundeck's job context: who runs it, and which execution
            assert key in {"username", "execid", "url"}
        elif ctx == "option":
            assert key.removesuffix(".value") in names
        else:
            assert re.search(rf"project\.globals\.{key}=\S+", doc), f"globals.{key} undocumented"


@pytest.mark.parametrize("name", ["deploy.yaml", "rollback.yaml"])
def test_deploy_options_cascade_application_release_version(name: str) -> None:
    (job,) = load(ROOT / "rundeck-jobs" / name)
    opts = {o["name"]: o for o in job["options"]}
    extra = ["force", "plan", "skip_verify", "verify_timeout"] if name == "deploy.yaml" else []
    expected = ["application", "release", "version", "project", "environment", *extra]
    assert list(opts) == [*expected, "registry_token"]
    for key in ("application", "release", "version"):
        assert opts[key]["required"] is True and opts[key]["enforced"] is True
    selected = {"application": "TLO GE", "release": "Milestone 2"}
    host = {"registry_host": "registry.example.com", "registry_port": "9090"}
    urls = {
        k: expand_values_url(opts[k]["valuesUrl"], k, selected, host)
        for k in opts
        if k in ("application", "release", "version")
    }
    base = "http://registry.example.com:9090/rundeck/options"
    assert urls == {
        "application": f"{base}/applications",
        "release": f"{base}/releases?application=TLO+GE",
        "version": f"{base}/versions?application=TLO+GE&release=Milestone+2",
    }


@pytest.mark.parametrize(("label", "job"), jobs(), ids=[j[0] for j in jobs()])
def test_rendered_command_keeps_names_with_spaces_whole(label: str, job: dict[str, Any]) -> None:
    """Per-reference quoting (Rundeck >= 5) and whole-argument quoting (older) agree."""
    options = {o["name"]: SAMPLE.get(o["name"], "no") for o in job.get("options", [])}
    context = {
        "option": options,
        "globals": {
            "registry_url": "http://r:9090",
            "deployer_image": "img:1",
            "deployer_workdir": "/srv/consign",
        },
        "job": {"username": "qa lead", "execid": "42", "url": "http://rd/execution/show/42"},
    }
    rendered = render_exec(job["sequence"]["commands"][0]["exec"], context)
    argv = shlex.split(rendered)
    for name in ("application", "release", "version"):
        if name in options:
            assert options[name] in argv
    whole = render_exec(job["sequence"]["commands"][0]["exec"], context, per_reference=False)
    assert shlex.split(whole) == argv
    if "job" in job["sequence"]["commands"][0]["exec"]:
        by = [a for a in argv if a.startswith(("CONSIGN_BY=", "qa lead"))]
        assert by in (
            ["CONSIGN_BY=qa lead,rundeck-execution-42,http://rd/execution/show/42"],
            ["qa lead"],  # promote: --by "${job.username}"
        ), argv


def test_rundeck_rules_as_documented() -> None:
    """The re-stated rules reproduce Rundeck's documented examples."""
    assert tokenize("""a 'b c' "d ""e"" f" g'h""") == ["a", "b c", 'd "e" f', "g'h"]
    assert render_exec("echo ${option.m}", {"option": {"m": "it's"}}) == "echo 'it'\"'\"'s'"
    assert render_exec("x ${option.missing} ${globals.g}", {}) == "x  ${globals.g}"
    url = "http://server/options/${option.option2.value}?v=${option.option2.value}"
    assert expand_values_url(url, "o1", {"option2": "My value"}, {}) == (
        "http://server/options/My%20value?v=My+value"
    )
    # Rundeck's own cases: a global host works, a global "host:port" or URL does not.
    assert (
        expand_values_url("http://${globals.h}/a", "o", {}, {"h": "my.host"}) == "http://my.host/a"
    )
    assert expand_values_url("http://${globals.h}/a", "o", {}, {"h": "h:1"}) == "http://h%3A1/a"
    assert expand_values_url("${globals.u}/x", "o", {}, {"u": "http://h:1"}).startswith("http%3A")


@pytest.mark.parametrize(
    "name", ["deploy.yaml", "rollback.yaml", "teardown.yaml", "status.yaml", "verify.yaml"]
)
def test_jobs_name_the_environment_and_who_deploys(name: str) -> None:
    """The ledger's wiring: an environment option from the registry (free text for a new
    one), who ran it and which execution, a spool that outlives the container, and several
    executions at once (the environment lock keeps one change per environment)."""
    (job,) = load(ROOT / "rundeck-jobs" / name)
    assert job["multipleExecutions"] is True
    opts = {o["name"]: o for o in job["options"]}
    env = opts["environment"]
    assert not env.get("enforced") and not env["required"]
    url = expand_values_url(
        env["valuesUrl"], "environment", {}, {"registry_host": "r.example", "registry_port": "9090"}
    )
    assert url == "http://r.example:9090/rundeck/options/environments"
    assert re.fullmatch(env["regex"], "qa-1") and not re.fullmatch(env["regex"], "QA 1")
    argv = tokenize(job["sequence"]["commands"][0]["exec"])
    assert "CONSIGN_ENVIRONMENT=${option.environment}" in argv
    assert "CONSIGN_REGISTRY=${globals.registry_url}" in argv
    if name == "status.yaml":
        return
    (by,) = [a for a in argv if a.startswith("CONSIGN_BY=")]
    assert "${job.username}" in by and "${job.execid}" in by and "${job.url}" in by
    assert "consign-spool:/var/lib/consign/spool" in argv
    assert "CONSIGN_SPOOL=/var/lib/consign/spool" in argv and "CONSIGN_REPORT_TOKEN" in argv
    assert "CONSIGN_REQUIRE_LOCK=1" in argv  # never change an environment unlocked (issue 19)
    assert ("CONSIGN_FORCE=${option.force}" in argv) == (name == "deploy.yaml")
    if name == "deploy.yaml":
        assert opts["force"]["value"] == "no" and opts["force"]["values"] == ["no", "yes"]
        skip = opts["skip_verify"]
        assert skip["value"] == "no" and skip["values"] == ["no", "yes"]
        assert "CONSIGN_SKIP_VERIFY=${option.skip_verify}" in argv
    if name in ("deploy.yaml", "verify.yaml"):  # issue 23: the verification's own timeout
        timeout = opts["verify_timeout"]
        assert timeout["value"] == "300" and re.fullmatch(timeout["regex"], "12.5")
        assert not re.fullmatch(timeout["regex"], "5m")
        assert "CONSIGN_VERIFY_TIMEOUT=${option.verify_timeout}" in argv


@pytest.mark.parametrize(("label", "job"), jobs(), ids=[j[0] for j in jobs()])
def test_the_token_comes_from_key_storage_never_from_the_node(
    label: str, job: dict[str, Any]
) -> None:
    """A secure option defaulted from Rundeck's Key Storage, exposed to the command (a
    `valueExposed: false` option, "secure remote authentication", never reaches one), given
    to the deployer container as CONSIGN_TOKEN; no job reads the token from the node."""
    opts = {o["name"]: o for o in job["options"]}
    token = opts["registry_token"]
    assert token["secure"] is True and token["valueExposed"] is True
    assert token["required"] is False  # no tokens on the registry: no Key Storage entry
    assert token["storagePath"] == (
        "keys/consign/release-token" if job["name"] == "promote" else "keys/consign/registry-token"
    )
    assert "default" not in token and "value" not in token  # never written in the job file
    argv = tokenize(job["sequence"]["commands"][0]["exec"])
    assert "CONSIGN_TOKEN=${option.registry_token}" in argv
    assert "CONSIGN_TOKEN" not in argv  # the node's exported variable is not passed through
    for opt in job["options"]:
        if opt.get("secure") and not opt.get("valueExposed"):
            assert f"${{option.{opt['name']}}}" not in job["sequence"]["commands"][0]["exec"]


@pytest.mark.parametrize("name", ["deploy.yaml", "rollback.yaml", "verify.yaml"])
def test_deploys_mount_the_work_folder_at_its_own_path(name: str) -> None:
    """docs/rundeck.md "Host paths": the host folder at the same path, and the deployer told."""
    (job,) = load(ROOT / "rundeck-jobs" / name)
    argv = tokenize(job["sequence"]["commands"][0]["exec"])
    same = "${globals.deployer_workdir}:${globals.deployer_workdir}"
    assert argv[argv.index(same) - 1] == "-v"
    assert "CONSIGN_WORKDIR=${globals.deployer_workdir}" in argv
    assert "project.globals.deployer_workdir=" in DOC.read_text()


@pytest.mark.parametrize(("plan", "deployer_exit", "job_exit"), [
    ("yes", 10, 0), ("yes", 0, 0), ("yes", 5, 5), ("no", 10, 10), ("no", 1, 1), ("", 10, 10),
])  # fmt: skip
def test_a_plan_that_would_change_something_is_the_deploy_jobs_success(
    plan: str, deployer_exit: int, job_exit: int, tmp_path: Path
) -> None:
    """docs/rundeck.md: with plan=yes the deployer's exit 10 is the job's success (with a line
    saying so); any other code, and 10 without plan, is the job's exit status as it is. The
    rendered step runs in a real shell, both quoting rules, with ``docker`` on PATH a script
    exiting as the deployer would (the real deployer: tests/e2e/test_rundeck_workdir.py)."""
    import subprocess

    (job,) = load(ROOT / "rundeck-jobs" / "deploy.yaml")
    docker = tmp_path / "docker"
    docker.write_text(f"#!/bin/sh\nexit {deployer_exit}\n")
    docker.chmod(0o755)
    options = {o["name"]: SAMPLE.get(o["name"], "no") for o in job["options"]}
    options["plan"] = plan
    globals_ = {"registry_url": "http://r:9090", "deployer_image": "i:1", "deployer_workdir": "/s"}
    context = {"option": options, "globals": globals_, "job": JOB_CONTEXT}
    for per_reference in (True, False):
        rendered = render_exec(job["sequence"]["commands"][0]["exec"], context, per_reference)
        done = subprocess.run(
            ["sh", "-c", rendered], capture_output=True, text=True, timeout=30,
            env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        )  # fmt: skip
        assert done.returncode == job_exit, done.stdout + done.stderr
        mapped = "plan: the plan would change something" in done.stdout
        assert mapped == (plan == "yes" and deployer_exit == 10), done.stdout + done.stderr
        assert done.stderr == ""
