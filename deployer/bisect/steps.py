"""One step of ``consign bisect``: look at the version's state, deploy it as ``consign
deploy`` would (in-process, :func:`deployer.run.deploy`, inside the environment lock the
bisection holds), and hand its JSON report to the judge.

A step is recorded in the ledger like any deploy, marked with ``bisect`` (the shared
contract's ``--bisect-step``). Steps deploy with ``--no-rollback``: the next step replaces
the version anyway, and the environment is put back at the end (:mod:`.command`). A
version the registry calls incomplete is skipped without deploying it; one Compose
refuses or whose deploy fails is skipped, said so. What stops the whole search instead
(the engine or the registry unreachable, the lock lost, Ctrl-C) is raised as it is.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from consign.errors import EngineRefused, InvalidDescriptor
from deployer import run
from deployer.bisect.judges import Judge, StepReport
from deployer.bisect.search import Judgement, StepVerdict
from deployer.deploy.request import DeployRequest
from deployer.registry_reader import RegistryReader
from deployer.report import render, write_json


@dataclass
class StepDeployer:
    """Deploys versions of one application/release as ``template`` says (source, target,
    settings, ledger with the held lock), each with its own mark."""

    template: DeployRequest
    out: TextIO

    def deploy(self, version: int, mark: str) -> StepReport:
        request = replace(self.template, version=str(version), bisect_step=mark)
        environment = request.ledger.environment or ""
        assert request.application and request.release
        try:
            descriptor = request.source.fetch(request.application, request.release, str(version))
            for warning in request.settings.variables.admit(descriptor.text):  # exit 4: skipped
                print(warning, file=self.out)
            done = run.deploy(request, descriptor, self.out)
        except (InvalidDescriptor, EngineRefused) as e:
            return StepReport(version, int(e.exit_code), None, str(e), request.project, environment)
        masker = request.settings.variables.masker
        what = f"{done.verb} {done.outcome.project}: {done.outcome.what}"
        render(done.outcome, what, self.out, mask=masker.mask)
        with tempfile.TemporaryDirectory(prefix="consign-bisect-") as folder:
            path = Path(folder) / "report.json"
            write_json(path, done.outcome, done.rollback, int(done.code), masker)
            doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return StepReport(version, int(done.code), doc, "", request.project, environment)


@dataclass
class StepJudge:
    """(version, step number) -> judgement: the registry's state of the version first (an
    incomplete one is skipped unseen), then a deploy and the judge's verdict."""

    reader: RegistryReader
    application: str
    release: str
    deployer: StepDeployer
    judge: Judge
    good: int
    bad: int
    #: every deployed step: (version, whether it left the version running)
    deployed: list[tuple[int, bool]]

    def __call__(self, version: int, number: int) -> Judgement:
        info = self.reader.get(
            ["applications", self.application, "releases", self.release, "versions", str(version)]
        )
        if info.get("state") == "incomplete":
            reason = info.get("state_reason") or "incomplete"
            return Judgement(StepVerdict.SKIP, f"not deployed: {reason}", deployed=False)
        mark = f"bisect step {number}: v{version} of {self.good}..{self.bad}"
        print(f"bisect: step {number}: deploying version {version}", file=self.deployer.out)
        step = self.deployer.deploy(version, mark)
        self.deployed.append((version, step.running))
        return self.judge.judge(step)
