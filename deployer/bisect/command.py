"""``consign bisect APP REL --good N --bad M --environment E --registry URL``: deploy the
versions between N and M, judge each, and name the first bad one and the builds it brought
in (docs/deployer.md, "Bisect").

The order of things: versions N and M are read (both must exist); the engine is asked what
the project runs now; the environment's lock is taken through the registry and held for
the whole search (every step's deploy works inside it, :class:`LedgerOptions.held_lock`);
the search (:mod:`.search`) deploys and judges (:mod:`.steps`, :mod:`.judges`); the
environment is put back on the version it was found on (``--leave good|bad`` instead; torn
down when nothing ran there before); the first bad version's changes are read from the
registry's diff (:mod:`.culprit`); ``--reject`` rejects it at the gate. Exit 0 when a
first bad version was found, 11 (NO_BAD_VERSION) when every version judged was good.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import click

from consign.errors import BisectAborted, EnvironmentLocked, PromoteRefused, exits
from consign.exit_codes import ExitCode
from consign.registry_url import REGISTRY_URL
from consign.registryclient import RegistryClient, answer_message, ca_file_option
from consign.secrets.masker import masked_output
from deployer import run
from deployer.bisect.culprit import ComponentChange, Culprits, headline, links
from deployer.bisect.judges import Judge, RunJudge, VerificationJudge
from deployer.bisect.search import BisectFinding, Bisection, Step, StepVerdict
from deployer.bisect.steps import StepDeployer, StepJudge
from deployer.deploy.attempt import project_name
from deployer.deploy.hostvars import HostVariables
from deployer.deploy.record import Deployed
from deployer.deploy.request import (
    DeployRequest,
    DeploySettings,
    DescriptorSource,
    EngineTarget,
    LedgerOptions,
    TeardownRequest,
)
from deployer.deploy.workdir import Workdir
from deployer.engine.sdk import engine_errors
from deployer.ledger import holder as holders
from deployer.ledger import lock
from deployer.ledger.client import LedgerClient
from deployer.ledger.session import user
from deployer.options import env_file_option, verify_timeout_option
from deployer.orchestrators import orchestrator_for
from deployer.registry_reader import RegistryReader

LEAVE = ("found", "good", "bad")


@dataclass
class BisectResult:
    """The search and what came after it, as text and as ``--json``."""

    application: str
    release: str
    environment: str
    finding: BisectFinding
    seconds: float
    changes: list[ComponentChange] = field(default_factory=list)
    left_on: int | None = None
    left: str = ""
    #: Whether putting the environment back took one more deploy (not counted in
    #: finding.deploys, which the ⌈log2⌉ bound is about).
    put_back: bool = False
    rejected: str | None = None

    @property
    def code(self) -> ExitCode:
        return ExitCode.NO_BAD_VERSION if self.finding.no_bad else ExitCode.OK

    def lines(self) -> list[str]:
        f = self.finding
        out = []
        if f.no_bad:
            out.append(
                f"no bad version in {f.good}..{f.bad}: every version judged was good "
                f"(version {f.bad} included)"
            )
        elif f.first_bad is not None:
            out.append(headline(f.first_bad, self.changes))
            out += links(self.changes)
            if f.candidates:
                hidden = ", ".join(f"#{v}" for v in f.candidates if v != f.first_bad)
                out.append(
                    f"  {hidden} between the last good #{f.last_good} and #{f.first_bad} "
                    "could not be judged (skipped): the first bad may be one of them; the "
                    "changes above are every one since the last good"
                )
        else:
            hidden = ", ".join(f"#{v}" for v in f.candidates if v <= f.bad)
            out.append(
                f"undecided: every version after the last good #{f.last_good} was skipped; "
                f"the first bad is one of {hidden}, or there is none"
            )
        skipped = len(f.skipped)
        back = " (+1 to put it back)" if self.put_back else ""
        out.append(
            f"{f.deploys} deploy{'s' if f.deploys != 1 else ''} to judge{back} in "
            f"{self.seconds:.1f}s ({skipped} skipped); last good #{f.last_good}"
        )
        if self.left:
            out.append(self.left)
        if self.rejected:
            out.append(self.rejected)
        return out

    def to_json(self) -> dict[str, Any]:
        f = self.finding
        return {
            "application": self.application,
            "release": self.release,
            "environment": self.environment,
            "good": f.good,
            "bad": f.bad,
            "first_bad": f.first_bad,
            "last_good": f.last_good,
            "no_bad_version": f.no_bad,
            "candidates": [v for v in f.candidates if v <= f.bad],
            "headline": headline(f.first_bad, self.changes) if f.first_bad else None,
            "changes": [c.to_json() for c in self.changes],
            "steps": [
                {
                    "step": s.number,
                    "version": s.version,
                    "verdict": s.judgement.verdict.value,
                    "why": s.judgement.why,
                    "deployed": s.judgement.deployed,
                }
                for s in f.steps
            ],
            "deploys": f.deploys,
            "put_back_deploy": self.put_back,
            "seconds": round(self.seconds, 3),
            "left_on": self.left_on,
            "left": self.left,
            "rejected": self.rejected,
            "exit_code": int(self.code),
        }


def _step_line(step: Step, out: TextIO) -> None:
    word = {StepVerdict.GOOD: "good", StepVerdict.BAD: "BAD", StepVerdict.SKIP: "skipped"}
    verdict = word[step.judgement.verdict]
    print(f"bisect: version {step.version} is {verdict}: {step.judgement.why}", file=out)


@dataclass
class Leaving:
    """Puts the environment back at the end: on ``version`` (a deploy), or with nothing of
    the project (a teardown) when ``version`` is None."""

    deployer: StepDeployer
    teardown: TeardownRequest
    environment: str
    #: Whether :meth:`leave` deployed a version (one more deploy than the search's).
    deployed: bool = False

    def leave(self, version: int | None, last: int | None) -> str:
        if version is not None and version == last:
            return f"left {self.environment} on version {version} (its last step)"
        if version is None:
            run.teardown(self.teardown, self.deployer.out)
            return f"left {self.environment} as found: nothing of it deployed (torn down)"
        step = self.deployer.deploy(version, f"bisect: leaving {self.environment} on v{version}")
        self.deployed = True
        if not step.running:
            return (
                f"WARNING: putting {self.environment} back on version {version} failed: "
                f"{step.failure()}"
            )
        if step.verification_failed:  # running, as --leave bad expects of the first bad one
            return f"left {self.environment} on version {version}, which fails: {step.failure()}"
        return f"left {self.environment} on version {version}"


def _reject(
    client: RegistryClient, application: str, release: str, version: int, reason: str, by: str
) -> str:
    url = client.url("applications", application, "releases", release, "versions", str(version))
    answer = client.request("POST", f"{url}/rejections", json={"by": by, "reason": reason})
    if answer.status_code != 201:
        raise PromoteRefused(
            f"could not reject version {version} at the gate: {answer_message(answer)}"
        )
    return f"rejected version {version} at the gate: {reason}"


@dataclass(frozen=True)
class FoundVersion:
    """What the project ran before the first step: ``version`` (None: nothing of it, when
    ``known``; a record naming no version number when not ``known``)."""

    version: int | None
    known: bool
    word: str


def _original(was: Deployed | None, application: str, release: str) -> FoundVersion:
    if was is None or not was.application:
        return FoundVersion(None, True, "nothing of it was deployed")
    if (was.application, was.release) != (application, release):
        raise BisectAborted(
            f"the project runs {was.application}/{was.release}, not {application}/{release}: "
            "choose another --project"
        )
    if not str(was.version).isdigit():
        return FoundVersion(None, False, f"a version recorded as {was.version!r}")
    return FoundVersion(int(was.version), True, f"v{was.version}")


def _running(deployed: list[tuple[int, bool]]) -> int | None:
    """The version the last step left running (None: it failed, or there was none)."""
    return deployed[-1][0] if deployed and deployed[-1][1] else None


@click.command("bisect")
@click.argument("application", envvar="CONSIGN_APPLICATION")
@click.argument("release", envvar="CONSIGN_RELEASE")
@click.option(
    "--good",
    type=click.IntRange(1),
    required=True,
    envvar="CONSIGN_BISECT_GOOD",
    help="A version known good (not deployed).",
)
@click.option(
    "--bad",
    type=click.IntRange(1),
    required=True,
    envvar="CONSIGN_BISECT_BAD",
    help="A later version known bad.",
)
@click.option(
    "--environment",
    required=True,
    envvar="CONSIGN_ENVIRONMENT",
    help="The environment deployed to (its lock is held for the whole search).",
)
@click.option(
    "--registry",
    required=True,
    envvar="CONSIGN_REGISTRY",
    type=REGISTRY_URL,
    help="Registry base URL.",
)
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for the registry.")
@click.option(
    "--report-token",
    envvar="CONSIGN_REPORT_TOKEN",
    help="Bearer token for the lock and the records (default: --token).",
)
@ca_file_option
@click.option(
    "--run",
    "run_cmd",
    envvar="CONSIGN_BISECT_RUN",
    help="Judge each version by this shell command after a healthy deploy: exit 0 "
    "good, 125 skip, other bad (default: by its verification).",
)
@click.option(
    "--run-timeout",
    type=click.FloatRange(0.1),
    default=600.0,
    show_default=True,
    envvar="CONSIGN_BISECT_RUN_TIMEOUT",
    help="Seconds a --run may take.",
)
@click.option(
    "--leave",
    type=click.Choice(LEAVE),
    default="found",
    show_default=True,
    envvar="CONSIGN_BISECT_LEAVE",
    help="Leave the environment on the version it was found on, the last good or "
    "the first bad one.",
)
@click.option(
    "--reject",
    envvar="CONSIGN_BISECT_REJECT",
    help="Reject the first bad version at the gate with this reason.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="CONSIGN_JSON",
    help="Print the result as JSON (the deploys' output goes to stderr).",
)
@click.option(
    "--project",
    envvar="CONSIGN_PROJECT",
    help="Compose project (default: from APPLICATION and RELEASE).",
)
@click.option(
    "--orchestrator",
    envvar="CONSIGN_ORCHESTRATOR",
    type=click.Choice(["compose", "swarm"]),
    default="compose",
    show_default=True,
)
@click.option("--host", envvar="DOCKER_HOST", help="Target Docker Engine.")
@click.option("--compose", "compose_cmd", envvar="CONSIGN_COMPOSE", help="Compose command line.")
@click.option(
    "--timeout",
    type=click.FloatRange(0),
    default=300.0,
    show_default=True,
    envvar="CONSIGN_TIMEOUT",
    help="Seconds each deploy may take to settle.",
)
@click.option(
    "--stable", type=click.FloatRange(0), default=5.0, show_default=True, envvar="CONSIGN_STABLE"
)
@verify_timeout_option(
    "Seconds each step's verification services have, together, to exit (as deploy's)."
)
@click.option(
    "--workdir",
    envvar="CONSIGN_WORKDIR",
    type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
    help="Host folder the descriptors and their files are written under (as deploy's).",
)
@env_file_option(
    "Values for the descriptors' ${VAR} on this host, as deploy's --env-file (never "
    "written down; refused when others may read it)."
)
@click.option("--by", envvar="CONSIGN_BY", help="Who bisects, recorded (default: the user).")
@click.option("--spool", envvar="CONSIGN_SPOOL", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--lock-wait",
    type=click.FloatRange(0),
    default=lock.DEFAULT_WAIT,
    show_default=True,
    envvar="CONSIGN_LOCK_WAIT",
)
@click.option(
    "--lock-poll",
    type=click.FloatRange(0.05, 60),
    default=lock.POLL,
    show_default=True,
    envvar="CONSIGN_LOCK_POLL",
)
@exits()
def bisect_cmd(
    application: str,
    release: str,
    good: int,
    bad: int,
    environment: str,
    registry: str,
    token: str | None,
    report_token: str | None,
    ca_file: str | None,
    run_cmd: str | None,
    run_timeout: float,
    leave: str,
    reject: str | None,
    as_json: bool,
    project: str | None,
    orchestrator: str,
    host: str | None,
    compose_cmd: str | None,
    timeout: float,
    stable: float,
    verify_timeout: float,
    workdir: Path | None,
    env_file: str | None,
    by: str | None,
    spool: Path | None,
    lock_wait: float,
    lock_poll: float,
) -> ExitCode:
    """Find the first bad version of APPLICATION RELEASE between --good N and --bad M by
    deploying versions in --environment, and name the build that broke it."""
    if bad <= good:
        raise click.UsageError(f"--bad {bad} must be a later version than --good {good}")
    if reject is not None and not reject.strip():
        raise click.UsageError("--reject needs a reason")
    project = project or project_name(application, release)
    who = by or user()
    variables = HostVariables.read(env_file)  # exit 2 for a file others may read
    reader = RegistryReader(registry, token, ca_file)
    path = ["applications", application, "releases", release, "versions"]
    for number in (good, bad):
        reader.get([*path, str(number)])  # exit 5 naming what is missing
    search = BisectSearch(
        application, release, good, bad, environment,
        judge=RunJudge(run_cmd, run_timeout) if run_cmd else VerificationJudge(),
        leave=leave, reject=reject.strip() if reject else None, who=who,
    )  # fmt: skip
    template = DeployRequest(
        application, release, None,
        source=DescriptorSource(registry, token, ca_file),
        target=EngineTarget(orchestrator, host, compose_cmd),
        settings=DeploySettings(
            project, timeout=timeout, stable=stable, rollback=False, workdir=Workdir(workdir),
            verify_timeout=verify_timeout,
            by=who, environment=environment, variables=variables,
        ),
        ledger=LedgerOptions(
            registry=registry, token=report_token or token, ca_file=ca_file,
            environment=environment, by=who, spool=spool, lock_wait=lock_wait,
            lock_poll=lock_poll, require_lock=True,
        ),
    )  # fmt: skip
    with masked_output(variables.masker):
        real_out = sys.stdout  # both streams masked: taken inside masked_output, never before
        shown = sys.stderr if as_json else sys.stdout
        with contextlib.redirect_stdout(shown):
            outcome = _bisect(search, template, reader)
        if as_json:
            print(json.dumps(outcome.to_json(), indent=2), file=real_out)
        else:
            for line in outcome.lines():
                print(line, file=real_out)
    return outcome.code


@dataclass(frozen=True)
class BisectSearch:
    """What one ``consign bisect`` was asked: the range, where, how versions are judged,
    and what to do at the end (the deploys themselves are its DeployRequest template)."""

    application: str
    release: str
    good: int
    bad: int
    environment: str
    judge: Judge
    leave: str = "found"
    reject: str | None = None
    who: str = ""


def _bisect(search: BisectSearch, template: DeployRequest, reader: RegistryReader) -> BisectResult:
    out = sys.stdout
    started = time.monotonic()
    application, release, environment = search.application, search.release, search.environment
    target, options, project = template.target, template.ledger, template.project
    runs = orchestrator_for(target.orchestrator, target.host, target.compose_cmd)
    engine = runs.connect()
    try:
        with engine_errors(target.host):
            was = runs.deployed(engine, project)
            me = holders.here(engine)
        found = _original(was, application, release)
        if search.leave == "found" and not found.known:
            raise BisectAborted(
                f"the project's record names {found.word}: there would be no version to put "
                "back; use --leave good or --leave bad; nothing was changed"
            )
        assert options.registry  # --registry is required
        ledger_client = LedgerClient(options.registry, options.token, ca_file=options.ca_file)
        holder = {
            **me, "by": search.who, "application": application, "release": release,
            "version": f"bisect {search.good}..{search.bad}",
        }  # fmt: skip
        try:
            held = lock.acquire(
                ledger_client, environment, holder, wait=options.lock_wait,
                poll=options.lock_poll, gone=holders.Liveness(me, engine),
                waiting=lambda m: print(f"waiting up to {options.lock_wait:g}s: {m}", file=out),
            )  # fmt: skip
        except lock.LockRefused as e:
            raise EnvironmentLocked(f"{e.message}; nothing was changed") from e
        except lock.LockUnavailable as e:
            raise EnvironmentLocked(
                f"{e}; a bisection needs the environment's lock; nothing was changed"
            ) from e
    finally:
        engine.close()
    print(
        f"bisect: {application}/{release} {search.good}..{search.bad} in {environment} "
        f"(found on {found.word}); holding its lock for the whole search",
        file=out,
    )
    options = replace(options, held_lock=held)
    deployer = StepDeployer(replace(template, ledger=options), out)
    deployed: list[tuple[int, bool]] = []
    stepper = StepJudge(
        reader, application, release, deployer, search.judge, search.good, search.bad, deployed
    )
    leaving = Leaving(deployer, TeardownRequest(project, target, options), environment)
    try:
        finding = Bisection(search.good, search.bad, stepper).run(lambda s: _step_line(s, out))
        result = BisectResult(application, release, environment, finding, 0.0)
        stay = {"found": found.version, "good": finding.last_good, "bad": finding.first_bad}[
            search.leave
        ]
        if stay is None and search.leave == "bad":  # no first bad: the last good (M) is as near
            stay = finding.last_good
        last = _running(deployed)
        result.left_on = stay
        result.left = leaving.leave(stay, last)
        result.put_back = leaving.deployed
        if finding.first_bad is not None:
            culprits = Culprits(reader, application, release)
            result.changes = culprits.between(finding.last_good, finding.first_bad)
            if search.reject:
                source = template.source
                assert source.registry
                client = RegistryClient(source.registry, source.token, source.ca_file)
                result.rejected = _reject(
                    client, application, release, finding.first_bad, search.reject, search.who
                )
    except BisectAborted as e:
        last = _running(deployed)
        if not deployed:
            left = "nothing was deployed"
        elif found.known:
            left = leaving.leave(found.version, last)
        else:
            left = f"the environment is left on the last step (it was found on {found.word})"
        raise BisectAborted(f"{e.args[0] if e.args else e}; {left}") from e
    finally:
        held.release()
    result.seconds = time.monotonic() - started
    return result
