"""`consign publish --fail-on`: which states of a published version fail the CI build.

A publish stores the fragment whatever the new version's state (another component may
bring the missing service next); a build that cares says so with ``--fail-on`` and exits
7 with one line per reason when the version carries one of the chosen kinds. The kinds
are read from the registry's publish answer: each target's ``state`` (``ok``,
``incomplete``, ``warnings``), its ``state_reason`` and ``warnings``, and the answer's
own ``warnings`` (this fragment's). Warning texts are the registry's
(:mod:`registry.state`, :mod:`registry.advisories`, :mod:`consign.compose.envfiles`,
:mod:`consign.compose.normalize`); tests/publish/test_fail_on.py publishes each kind to a real
registry, so a changed wording fails there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The registry's text of a dangling reference (registry.state.dangling_warning).
_DANGLING = re.compile(r"^service '[^']+' refers to '[^']+' \(\w+\), which no component")


def _dangling(text: str) -> bool:
    return bool(_DANGLING.match(text))


def _mutable(text: str) -> bool:
    return text.startswith(_MUTABLE_SUMMARY) or "uses the mutable image reference" in text


#: The registry's texts of mutable images (registry.advisories): the fragment's own warning,
#: one per service, and the version's summary of every such service, "service (image)".
_MUTABLE_SUMMARY = "mutable image references, not pinned"
_MUTABLE_ONE = re.compile(
    r"^service (['\"])(?P<service>.+?)\1 uses the mutable image reference "
    r"(['\"])(?P<image>.+?)\3 and is not pinned"
)


def without_repeats(warnings: Iterable[str]) -> list[str]:
    """``warnings`` once each, and without a fragment's mutable-image warning for a service
    that a version's summary line also names: the registry answers both (the fragment's
    warnings, and each version's), and the same image said twice reads as two problems."""
    texts = list(dict.fromkeys(warnings))
    summed = {
        entry
        for w in texts
        if w.startswith(_MUTABLE_SUMMARY) and "): " in w
        for entry in w.split("): ", 1)[1].split(", ")
    }

    def repeated(text: str) -> bool:
        one = _MUTABLE_ONE.match(text)
        return one is not None and f"{one['service']} ({one['image']})" in summed

    return [w for w in texts if not repeated(w)]


def _variable(text: str) -> bool:
    return "is left as is: resolved on the deploy host" in text


#: The registry's text of secret-looking literals (registry.advisories.SECRETS_PREFIX).
_SECRETS = "secret-looking literals"


def _secrets(text: str) -> bool:
    return text.startswith(_SECRETS)


def _env_file(text: str) -> bool:
    return "which was not attached" in text


def _converted(text: str) -> bool:
    return any(
        marker in text
        for marker in (
            "is obsolete and was dropped",
            "was dropped: the deployer sets the project name",
            "legacy v1 format",
            "v1 key(s)",
            "volume_driver dropped",
        )
    )


@dataclass(frozen=True)
class Kind:
    """A selectable kind: its name, what it means, and which warnings are of it."""

    name: str
    meaning: str
    matches: Callable[[str], bool]


#: Every kind --fail-on accepts, in the order the help and docs list them.
KINDS: tuple[Kind, ...] = (
    Kind(
        "incomplete",
        "a service refers to a service no component provides (state incomplete: the "
        "version cannot be deployed)",
        _dangling,
    ),
    Kind("warnings", "any warning at all (state not ok, or a warning about this fragment)", bool),
    Kind(
        "mutable-images",
        "an image without a tag, or :latest, not pinned by digest or --pin-images",
        _mutable,
    ),
    Kind("variables", "a ${VAR} left for the deploy host to resolve", _variable),
    Kind(
        "secrets",
        "a secret-looking literal (a password, key or token written in the fragment or an "
        "attached env file; publish it as ${VAR})",
        _secrets,
    ),
    Kind(
        "env-files",
        "an env_file that was not attached (--with-env-files), so it must be on the deploy host",
        _env_file,
    ),
    Kind(
        "converted",
        "the fragment was converted: legacy v1 format, obsolete 'version:' or 'name:' dropped",
        _converted,
    ),
)
BY_NAME = {k.name: k for k in KINDS}


def parse(values: Iterable[str]) -> tuple[Kind, ...]:
    """The kinds named in ``values`` (each comma-separated); ValueError naming the unknown
    ones and every valid name."""
    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(
            f"unknown --fail-on kind(s) {', '.join(unknown)}; choose from " + ", ".join(BY_NAME)
        )
    return tuple(BY_NAME[n] for n in dict.fromkeys(names))


def _target(item: Mapping[str, Any]) -> str:
    return f"{item.get('application')} / {item.get('release')} v{item.get('version')}"


def reasons(answer: Mapping[str, Any], kinds: Iterable[Kind]) -> list[str]:
    """One line per published version and chosen kind it carries, saying why; [] when the
    build may pass."""
    chosen = list(kinds)
    found: list[str] = []
    own = [str(w) for w in answer.get("warnings") or []]
    for item in answer.get("versions") or []:
        if not isinstance(item, Mapping):
            continue
        state = str(item.get("state") or "")
        reason = str(item.get("state_reason") or state)
        warnings = without_repeats([*own, *(str(w) for w in item.get("warnings") or [])])
        for kind in chosen:
            if kind.name == "incomplete":
                hit = state == "incomplete" or any(_dangling(w) for w in warnings)
                why = reason.removeprefix("incomplete: ") + (
                    " (stored, but it cannot be deployed until a component provides it)"
                )
            elif kind.name == "warnings":
                hit = (bool(state) and state != "ok") or bool(warnings)
                why = reason if state and state != "ok" else "; ".join(warnings)
            else:
                hits = [w for w in warnings if kind.matches(w)]
                hit, why = bool(hits), "; ".join(hits)
            if hit:
                found.append(f"--fail-on {kind.name}: {_target(item)}: {why}")
    return found


def help_text() -> str:
    """The option's help: every kind."""
    return "Exit 7 after publishing when the version carries one of these (comma-separated): " + (
        "; ".join(f"{k.name}: {k.meaning}" for k in KINDS)
    )
