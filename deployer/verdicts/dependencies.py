"""Who is blocked by whom: a service Compose never started because a dependency failed.

Compose starts a service only once every ``depends_on`` condition holds
(``service_started``, ``service_healthy``, ``service_completed_successfully``). When a
dependency fails, its dependents are never started and Compose says so in its own, vaguer
words ("dependency failed to start"). Those dependents get the verdict BLOCKED, naming the
dependency and the condition: a failure, but not the cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.verdicts.vocabulary import ServiceVerdict, Verdict

#: service -> {dependency: condition}
Dependencies = dict[str, dict[str, str]]


def dependencies(model: Mapping[str, Any]) -> Dependencies:
    """``depends_on`` of every service of Compose's resolved model (``config --format json``)."""
    found: Dependencies = {}
    for name, spec in model.items():
        deps = (spec or {}).get("depends_on") or {}
        if isinstance(deps, list):  # the short syntax (never in a resolved model, but cheap)
            deps = {d: {} for d in deps}
        found[name] = {
            str(dep): str((cond or {}).get("condition") or "service_started")
            for dep, cond in deps.items()
        }
    return found


def blocking(
    service: str, deps: Dependencies, verdicts: Mapping[str, ServiceVerdict]
) -> str | None:
    """Why ``service`` is blocked, or None: its first dependency that failed (a cause
    before a dependency that is itself blocked), e.g.
    ``waits for api (service_healthy), which is crash-looping (exit 3)``."""
    failed = [
        (dep, cond, verdicts[dep])
        for dep, cond in deps.get(service, {}).items()
        if dep in verdicts and verdicts[dep].verdict.failed
    ]
    if not failed:
        return None
    dep, cond, sv = min(failed, key=lambda f: not f[2].verdict.cause)
    code = f" (exit {sv.exit_code})" if sv.exit_code not in (None, 0) else ""
    state = f"{sv.verdict.value}{code}"
    if sv.verdict == Verdict.BLOCKED:
        state = f"blocked: {sv.detail}"
    return f"waits for {dep} ({cond}), which is {state}"
