"""What a secret-looking literal in a published fragment does: ``warn`` (stored, the
version's state says where) or ``refuse`` (422 naming each path, nothing written).

The registry's default is ``CONSIGN_SECRETS`` (registry/http/config.py, ``warn`` so the seed's
fragments still publish); a release's policy (``PUT .../policy {"secrets": "refuse"}``)
overrides it for that release. Pure; docs/secrets.md says why a site should choose refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.errors import SecretsRefused

WARN, REFUSE = "warn", "refuse"
CHOICES = (WARN, REFUSE)


def parse_setting(value: Any, name: str = "CONSIGN_SECRETS") -> str:
    """``warn`` or ``refuse`` (any case, spaces ignored); ValueError naming both otherwise."""
    text = str(value).strip().lower()
    if text not in CHOICES:
        raise ValueError(f"{name} must be one of {', '.join(CHOICES)}, not {str(value)!r}")
    return text


def effective(release_policy: str | None, default: str) -> str:
    """The release's choice when it made one, else the registry's."""
    return release_policy or default


def unmet_on_promotion(policy: Any, components: Sequence[Any], number: int) -> list[str]:
    """A release whose own policy says ``refuse`` takes no promoted version carrying
    secret-looking literals either (its publishes are refused by the same policy); the
    reason names the paths, never a value."""
    if policy is None or policy.secrets != REFUSE:
        return []
    paths = [f.rsplit(" (", 1)[0] for c in components for f in c.secrets]
    if not paths:
        return []
    return [
        f"version {number} carries secret-looking literals ({', '.join(paths)}) and this "
        "release's policy refuses them"
    ]


def refusal(application: str, release: str, findings: Sequence[str], policy: Any) -> SecretsRefused:
    """The 422 for a refused publish: each finding's path and kind, never a value."""
    said_by = (
        f"the release's policy (set by {policy.set_by or 'unknown'})"
        if policy is not None and policy.secrets
        else "the registry (CONSIGN_SECRETS)"
    )
    return SecretsRefused(
        f"{application}/{release} refuses secret-looking literals ({said_by}): "
        f"{', '.join(findings)}; publish each as ${{VAR}} and supply it on the deploy host "
        "(docs/secrets.md); nothing was written",
        details={"application": application, "release": release, "findings": list(findings)},
    )
