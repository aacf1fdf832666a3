"""`consign deploy --plan`'s text names the masked values the registry's diff says changed
(consign/secrets/maskdiff.py), by path only; the served diff itself is tested in
tests/registry/test_secrets_served.py."""

from __future__ import annotations

from deployer.plan.model import DeployPlan, VersionRef
from deployer.plan.text import diff_lines


def test_the_plan_names_the_masked_values_that_changed() -> None:
    running, new = VersionRef("Vault", "Dev", "1"), VersionRef("Vault", "Dev", "2")
    plan = DeployPlan("vault", "compose", new, running)
    changed = {"service": "pg", "component": "pg", "build": {}, "previous_build": {}}
    plan.registry_diff = {
        "changed": [changed],
        "masked_changed": ["pg.environment.POSTGRES_PASSWORD"],
        "only_masked_changed": True,
    }
    lines = diff_lines(plan)
    assert lines[-1] == "  masked values that changed: pg.environment.POSTGRES_PASSWORD"
    plan.registry_diff = {"changed": [changed]}  # a registry that does not say
    assert not any("masked" in line for line in diff_lines(plan))
