"""The variables a descriptor's ``${VAR}`` are resolved with on the deploy host.

Secrets never travel through the registry: a descriptor says ``${DB_PASSWORD}`` and the
deploy host supplies the value, from the deployer's environment (as Compose reads it) or
from ``--env-file FILE`` (``CONSIGN_ENV_FILE``). As with Compose's own ``--env-file``, the
environment wins over the file. The file's values reach Compose (and ``docker stack
deploy``) as its process environment, never on a command line and never in a file we write.

:class:`HostVariables` is one command's set: it reads and checks the file (exit 2 when it is
missing, unparsable, or readable or writable by others than its owner), refuses a
descriptor that needs a variable nobody supplied before anything starts
(:class:`MissingVariables`, exit 4, naming each variable and the services using it, never a
value), and holds the command's one :class:`~consign.secrets.masker.Masker`: every value
the file supplies, and the environment's value of every variable a deployed descriptor
references whose name marks a secret (:func:`consign.secrets.names.is_secret_name`).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from consign.compose import yamlio
from consign.compose.errors import ComposeError
from consign.errors import EnvFileRefused, InvalidDescriptor
from consign.interpolation import InterpolationError, unsupplied, used_empty, variables
from consign.secrets.masker import Masker
from consign.secrets.names import is_secret_name

#: Permission bits that let others than the owner read or write a file.
OTHERS = 0o077


class MissingVariables(InvalidDescriptor):
    """The descriptor needs variables the deploy host does not supply (nothing started)."""

    label = "missing variables"


class EmptySecrets(InvalidDescriptor):
    """A variable whose name marks a secret is set to "" where the descriptor uses its
    value as it is (nothing started)."""

    label = "empty secrets"


@dataclass
class HostVariables:
    """One command's variables: the environment, the env file's values, the masker."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: What ``--env-file`` supplies (name -> value), in the file's order.
    from_file: dict[str, str] = field(default_factory=dict)
    env_file: Path | None = None
    masker: Masker = field(default_factory=Masker)
    #: The ``.env`` beside the descriptor (Compose reads it itself; the environment and
    #: --env-file win over it): see :meth:`beside`.
    from_dotenv: dict[str, str] = field(default_factory=dict)
    #: The variables a warning named already: a command admits a descriptor more than once
    #: (the deploy, its rollback), each warning is said once.
    warned: set[str] = field(default_factory=set)

    @classmethod
    def read(
        cls, env_file: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
    ) -> HostVariables:
        """The variables of this host: ``environ`` (default: this process's) and the file."""
        env = dict(os.environ if environ is None else environ)
        if env_file is None or str(env_file) == "":
            return cls(env)
        path = Path(env_file)
        found = cls(env, read_env_file(path), path)
        found.masker.add(found.from_file)
        return found

    def lookup(self, name: str) -> str | None:
        """The value ``${name}`` resolves to: the environment first, as Compose does, then
        --env-file, then the ``.env`` beside the descriptor."""
        for source in (self.environ, self.from_file, self.from_dotenv):
            value = source.get(name)
            if value is not None:
                return value
        return None

    def beside(self, folder: Path) -> None:
        """The descriptor is in ``folder``: Compose also reads its ``.env`` there (a file
        the operator put in the --workdir project folder, or beside a --file), so its
        values count as supplied. Unreadable or odd lines are Compose's to report."""
        dotenv = folder / ".env"
        try:
            text = dotenv.read_text(encoding="utf-8") if dotenv.is_file() else ""
        except (OSError, UnicodeDecodeError):
            text = ""
        values = dotenv_values(stream=io.StringIO(text), interpolate=True) if text else {}
        self.from_dotenv = {k: v for k, v in values.items() if v is not None}

    @property
    def passed(self) -> dict[str, str]:
        """What Compose (or ``docker stack``) gets added to its environment: the file's
        values the environment does not set."""
        return {k: v for k, v in self.from_file.items() if k not in self.environ}

    def admit(self, text: str) -> list[str]:
        """Check a descriptor about to be deployed (the requested version, or a rollback's):
        :class:`MissingVariables` when it needs a variable nobody supplies; else its secret
        variables' values are masked from now on. Returns warning lines (never a value)."""
        needed = needed_by(text, self.lookup)
        if needed:
            raise MissingVariables(missing_message(needed, self.env_file))
        empty = empty_in(text, self.lookup)
        refused = {name: where for name, where in empty.items() if _secret(name, where)}
        if refused:
            raise EmptySecrets(empty_message(refused, self.env_file))
        secret = {
            name: value
            for name in referenced(text)
            if is_secret_name(name)
            and (value := self.environ.get(name, self.from_dotenv.get(name))) is not None
        }
        # a secret's `environment:` source is a secret whatever its name
        sources = {
            name: value
            for name in environment_sources(_tree(text)).values()
            if (value := self.lookup(name)) is not None
        }
        too_short = self.masker.add({**secret, **sources, **self.from_file})
        lines = [
            f"warning: {name} is set to an empty value, which {', '.join(where)} "
            f"use{'s' if len(where) == 1 else ''} as it is (write ${{{name}-}} in the "
            "descriptor if empty is meant)"
            for name, where in empty.items()
            if name not in self.warned
        ]
        lines += [
            f"warning: the value of {name} is shorter than 4 characters: it is not masked in "
            "the output, the report or the ledger"
            for name in too_short
            if name not in self.warned and name not in empty
        ]
        self.warned.update(empty, too_short)
        return lines


def read_env_file(path: Path) -> dict[str, str]:
    """The values of an env file in Compose's ``--env-file`` format (``KEY=VALUE``,
    ``export``, quotes, comments, ``${VAR}`` expanded from the file and the environment).
    Refused (exit 2) when missing, not a regular file, open to others than its owner,
    unreadable or with a line that is not ``KEY=VALUE`` (named by number, never shown)."""
    try:
        info = path.stat()
    except FileNotFoundError as e:
        raise EnvFileRefused(f"{path}: no such file") from e
    except OSError as e:
        raise EnvFileRefused(f"{path}: {e.strerror}") from e
    if not stat.S_ISREG(info.st_mode):
        raise EnvFileRefused(f"{path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & OTHERS:
        raise EnvFileRefused(
            f"{path} is readable or writable by others than its owner (mode {mode:04o}); it "
            f"holds secrets: `chmod 600 {path}`"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EnvFileRefused(f"{path} cannot be read: {getattr(e, 'strerror', None) or e}") from e
    bad = [str(b.original.line) for b in parse_stream(io.StringIO(text)) if b.error]
    if bad:
        raise EnvFileRefused(f"{path}: line {', '.join(bad)} is not NAME=VALUE")
    # a value's ${VAR} sees the file's earlier values and this process's environment
    values = dotenv_values(stream=io.StringIO(text), interpolate=True)
    return {k: v for k, v in values.items() if v is not None}


def referenced(text: str) -> list[str]:
    """Every variable a descriptor's text names (in defaults too)."""
    try:
        return variables(text)
    except InterpolationError:
        return []


def needed_by(text: str, lookup: Any) -> dict[str, list[str]]:
    """Variable -> where it is used ("service web", "top-level secrets"), for each variable
    the descriptor needs (no default) that ``lookup`` does not supply."""
    tree = _tree(text)
    needed: dict[str, list[str]] = {}
    for where, name in environment_sources(tree).items():
        if lookup(name) is None:
            section, _, key = where.removeprefix("top-level ").partition(".")
            needed.setdefault(name, []).extend([where, *_users(tree, section, key)])
    for where, value in _strings(tree):
        try:
            names = unsupplied(value, lookup)
        except InterpolationError:
            continue  # an expression Compose cannot read: Compose's `config` says so
        for name in names:
            places = needed.setdefault(name, [])
            if where not in places:
                places.append(where)
    return needed


def empty_in(text: str, lookup: Any) -> dict[str, list[str]]:
    """Variable -> where it is used, for each variable set to "" whose empty value the
    descriptor uses as it is (:func:`consign.interpolation.used_empty`), and each
    ``environment:`` source of a top-level secret or config set to ""."""
    tree = _tree(text)
    empty: dict[str, list[str]] = {}
    for where, name in environment_sources(tree).items():
        if lookup(name) == "":
            section, _, key = where.removeprefix("top-level ").partition(".")
            empty.setdefault(name, []).extend([where, *_users(tree, section, key)])
    for where, value in _strings(tree):
        try:
            names = used_empty(value, lookup)
        except InterpolationError:
            continue
        for name in names:
            places = empty.setdefault(name, [])
            if where not in places:
                places.append(where)
    return empty


def _secret(name: str, where: list[str]) -> bool:
    """An empty value is refused when the name marks a secret, or it is the source of a
    top-level secret (a secret whatever its name)."""
    return is_secret_name(name) or any(w.startswith("top-level secrets.") for w in where)


def empty_message(empty: Mapping[str, list[str]], env_file: Path | None) -> str:
    """One line naming each secret set to "" and where it is used (never a value)."""
    parts = [f"{name} (used by {', '.join(where)})" for name, where in sorted(empty.items())]
    source = f"the deployer's environment or {env_file}" if env_file else "the deployer's "
    if not env_file:
        source += "environment"
    which = "a variable whose name marks a secret is"
    if len(parts) > 1:
        which = "variables whose names mark secrets are"
    return (
        f"{which} set to an empty value in {source}: {'; '.join(parts)}; set "
        f"{'it' if len(parts) == 1 else 'them'}, or write ${{VAR-}} in the descriptor where "
        "empty is meant (nothing was started)"
    )


def _tree(text: str) -> Any:
    try:
        return yamlio.load(text, limits=yamlio.STORED)
    except ComposeError:
        return None  # Compose says what is wrong with it, in its own words


def environment_sources(tree: Any) -> dict[str, str]:
    """ "top-level secrets.NAME" -> VAR for each top-level secret (or config) whose source is
    ``environment: VAR``: Compose (and our Swarm path) reads the value from the host."""
    found: dict[str, str] = {}
    if not isinstance(tree, Mapping):
        return found
    for section in ("secrets", "configs"):
        entries = yamlio.plain(tree.get(section))
        if not isinstance(entries, Mapping):
            continue
        for key, spec in entries.items():
            spec = yamlio.plain(spec)
            var = spec.get("environment") if isinstance(spec, Mapping) else None
            if isinstance(var, str) and var:
                found[f"top-level {section}.{key}"] = var
    return found


def _users(tree: Mapping[str, Any], section: str, key: str) -> list[str]:
    """ "service NAME" for each service that mounts top-level ``section`` entry ``key``."""
    services = yamlio.plain(tree.get("services"))
    found = []
    for name, spec in (services or {}).items() if isinstance(services, Mapping) else []:
        spec = yamlio.plain(spec)
        entries = yamlio.plain(spec.get(section)) if isinstance(spec, Mapping) else None
        for entry in entries if isinstance(entries, list) else []:
            source = entry.get("source") if isinstance(entry, Mapping) else entry
            if source == key:
                found.append(f"service {name}")
                break
    return found


def _strings(tree: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every string of a descriptor, keys included: "service NAME" under
    ``services``, else "top-level SECTION"."""
    if not isinstance(tree, Mapping):
        return
    for section, body in tree.items():
        if section == "services" and isinstance(yamlio.plain(body), Mapping):
            for name, spec in yamlio.plain(body).items():
                for text in _walk(spec):
                    yield f"service {name}", text
        else:
            for text in _walk(body):
                yield f"top-level {section}", text


def _walk(value: Any) -> Iterator[str]:
    value = yamlio.plain(value)
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(k)
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)


def missing_message(needed: Mapping[str, list[str]], env_file: Path | None) -> str:
    """One line naming each missing variable and where it is used (never a value)."""
    parts = [f"{name} (used by {', '.join(where)})" for name, where in sorted(needed.items())]
    source = f"the deployer's environment or {env_file}" if env_file else "the deployer's "
    if not env_file:
        source += "environment or --env-file (CONSIGN_ENV_FILE)"
    return (
        f"the descriptor needs {'a variable' if len(parts) == 1 else 'variables'} this host "
        f"does not supply: {'; '.join(parts)}; set {'it' if len(parts) == 1 else 'them'} in "
        f"{source} (nothing was started)"
    )
