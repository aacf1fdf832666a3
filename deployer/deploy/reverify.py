"""``consign verify``'s work on the engine: the verification services of the version a
Compose project runs, started beside it as a deploy would start them (the same files,
override and profile), judged and removed (:mod:`deployer.verification.compose`); nothing
else of the project is touched but its record, which says how the verification went
(``consign status`` reads it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from consign.errors import InvalidDescriptor
from deployer.deploy import envfiles, record
from deployer.deploy import labels as lb
from deployer.deploy.request import DeploySettings
from deployer.deploy.sources import Descriptor
from deployer.engine.compose import ComposeRunner
from deployer.verification.compose import ComposeTests
from deployer.verification.rules import PROFILE, Verification, verification_services


def verify_project(
    descriptor: Descriptor, compose: ComposeRunner, client: Any, settings: DeploySettings,
    out: TextIO,
) -> Verification:  # fmt: skip
    """Run the verification of ``descriptor`` (the version the project runs) in the
    project; InvalidDescriptor (exit 4) when it declares none."""
    d, project = descriptor, settings.project
    with settings.workdir.folder(project) as scratch:
        path = Path(scratch, "docker-compose.yml")
        path.write_text(d.text, encoding="utf-8")
        envfiles.materialise(Path(scratch), d.files)
        found = compose.config(project, [path], profiles=[PROFILE]).get("services", {})
        tests = verification_services(found)
        if not tests:
            raise InvalidDescriptor(
                f"{d.application}/{d.release} v{d.version} declares no verification "
                f"(no service in the Compose profile {PROFILE!r})"
            )
        labels = {
            name: lb.test_labels(d, name) if name in tests else lb.service_labels(d, name)
            for name in found
        }
        override = lb.write_override(Path(scratch), list(found), labels)
        print(f"verifying {project} at v{d.version}: {', '.join(tests)}", file=out, flush=True)
        runner = ComposeTests(client, compose, project, [path, override], settings.pull)
        found = runner.run(tests, settings.verify_timeout)
    said = record.verification_label(found.status.value, found.summary(), "verify")
    record.verified(client, project, d.version or "", said)
    return found
