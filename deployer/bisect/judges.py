"""How a deployed version is judged: by its verification (the deploy's own report), or by
``--run CMD`` with ``git bisect run``'s convention. Both read a :class:`StepReport`, what
one deploy of a step came to, so the rules are tested on recorded reports.

- **Verification** (the shared contract, docs/ledger.md): the report's ``verification``
  status ``passed`` (outcome ``verified``) is good; ``failed`` or ``timed_out`` (outcome
  ``verification_failed``) is bad, unless no failing test ever started (no exit code: its
  image could not be pulled, the engine refused it): that is skipped, as is a deploy that
  failed before any verification ran (unhealthy, timed out, refused), said so. A version
  with no verification declared, or deployed with it skipped, cannot be judged: the search
  stops (use --run).
- **--run CMD** (``sh -c``, on the deploy host, after a healthy deploy, with
  ``CONSIGN_BISECT_VERSION``, ``CONSIGN_BISECT_PROJECT``, ``CONSIGN_BISECT_ENVIRONMENT``):
  exit 0 good, 125 skip, 1-124 bad; 126/127 (cannot run) and 128+ (killed) stop the search
  as ``git bisect run`` does, rather than call every version bad. A deploy that failed is
  skipped without running it; one whose services are healthy but whose own verification
  failed is running all the same (steps deploy with --no-rollback): the command judges
  it, as asked, and the judgement says its verification failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from consign.errors import BisectAborted
from consign.process import CommandFailed, run
from deployer.bisect.search import Judgement, StepVerdict

#: Output lines of a --run command kept in the step's reason.
TAIL = 5


@dataclass(frozen=True)
class StepReport:
    """One step's deploy: its exit code and JSON report (``consign deploy --report``'s
    document; None when the deploy stopped before one was made), or the error that
    stopped it."""

    version: int
    code: int
    report: Mapping[str, Any] | None
    error: str = ""
    project: str = ""
    environment: str = ""

    @property
    def healthy(self) -> bool:
        return self.code == 0 and self.error == ""

    @property
    def verification_failed(self) -> bool:
        """Its services came up healthy, then its verification failed (or timed out)."""
        return self.error == "" and (self.report or {}).get("outcome") == "verification_failed"

    @property
    def running(self) -> bool:
        """The deploy left this version running: healthy, or only its tests failed (a
        step is never rolled back)."""
        return self.healthy or self.verification_failed

    def failure(self) -> str:
        """Why the deploy failed, in one line."""
        if self.error:
            return self.error
        doc = self.report or {}
        return str(doc.get("error") or doc.get("summary") or f"exit {self.code}")


class Judge(Protocol):
    def judge(self, step: StepReport) -> Judgement: ...


class VerificationJudge:
    """Good when every verification passed, bad when one failed (the contract's words)."""

    def judge(self, step: StepReport) -> Judgement:
        doc = step.report or {}
        verification = doc.get("verification")
        status = verification.get("status") if isinstance(verification, Mapping) else None
        outcome = doc.get("outcome")
        if status == "passed" or outcome == "verified":
            return Judgement(StepVerdict.GOOD, "verification passed")
        if status in ("failed", "timed_out") or outcome == "verification_failed":
            if _none_started(verification):  # a pull or the engine failed, not the build
                return Judgement(
                    StepVerdict.SKIP,
                    "its tests could not start (" + _failed_tests(verification) + "): "
                    "that says nothing of the build",
                )
            return Judgement(StepVerdict.BAD, "verification " + _failed_tests(verification))
        if not step.healthy:
            return Judgement(StepVerdict.SKIP, f"did not deploy: {step.failure()}")
        if status == "skipped":
            why = "its verification was skipped"
        else:
            why = "it declares no verification (no service in the Compose profile `verify`)"
        raise BisectAborted(
            f"version {step.version} cannot be judged by its verification: {why}; "
            "judge by a command instead (--run CMD)"
        )


def _none_started(verification: Any) -> bool:
    """Every test that did not pass failed without an exit code: it never ran (its image
    could not be pulled, the engine refused to start it)."""
    tests = verification.get("tests") if isinstance(verification, Mapping) else None
    failing = [t for t in tests or () if isinstance(t, Mapping) and t.get("verdict") != "passed"]
    return bool(failing) and all(
        t.get("verdict") == "failed" and t.get("exit_code") is None for t in failing
    )


def _failed_tests(verification: Any) -> str:
    tests = verification.get("tests") if isinstance(verification, Mapping) else None
    failed = [
        f"{t.get('service')} {str(t.get('verdict')).replace('_', ' ')}"
        + (f" (exit {t['exit_code']})" if t.get("exit_code") not in (None, 0) else "")
        for t in tests or ()
        if isinstance(t, Mapping) and t.get("verdict") != "passed"
    ]
    return "failed: " + ", ".join(failed) if failed else "failed"


@dataclass(frozen=True)
class RunJudge:
    """``--run CMD``: ``git bisect run``'s convention on the command's exit status."""

    command: str
    timeout: float | None = None

    def judge(self, step: StepReport) -> Judgement:
        if not step.running:
            return Judgement(StepVerdict.SKIP, f"did not deploy: {step.failure()}")
        env = {
            "CONSIGN_BISECT_VERSION": str(step.version),
            "CONSIGN_BISECT_PROJECT": step.project,
            "CONSIGN_BISECT_ENVIRONMENT": step.environment,
        }
        try:
            done = run(
                ["sh", "-c", self.command],
                env=env,
                check=False,
                tied_to_caller=True,
                timeout=self.timeout,
            )
        except CommandFailed as e:  # timed out (124), or no sh (127)
            raise BisectAborted(
                f"the --run command on version {step.version}: {e}; the search stops"
            ) from e
        judged = self.verdict(step.version, done.returncode, done.stdout + done.stderr)
        if step.verification_failed:
            why = f"{judged.why} (its own {step.failure()})"
            return Judgement(judged.verdict, why, judged.deployed)
        return judged

    def verdict(self, version: int, code: int, output: str) -> Judgement:
        said = _tail(output)
        shown = f": {said}" if said else ""
        if code == 0:
            return Judgement(StepVerdict.GOOD, f"--run exited 0{shown}")
        if code == 125:
            return Judgement(
                StepVerdict.SKIP, f"--run exited 125 (cannot test this version){shown}"
            )
        if code in (126, 127) or code >= 128 or code < 0:
            why = "cannot be run" if code in (126, 127) else "was stopped"
            raise BisectAborted(
                f"the --run command {why} (exit {code}) on version {version}{shown}; "
                "the search stops rather than call versions bad"
            )
        return Judgement(StepVerdict.BAD, f"--run exited {code}{shown}")


def _tail(output: str) -> str:
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-TAIL:])[:400]
