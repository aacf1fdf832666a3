"""The one exception tree of the `consign` commands and the one place that maps it to
exit codes.

Every failure a command expects is a :class:`ConsignError` subclass that carries its
:class:`~consign.exit_codes.ExitCode` and a short label; :func:`exits` wraps each click
command, prints ``error: <label>: <message>`` as one line on stderr and exits with the
code. Ctrl-C (KeyboardInterrupt) exits 130; SIGTERM is handled as Ctrl-C is
(:mod:`consign.termination`) and exits 143. A command may pass an ``on_error`` hook to
record the failure elsewhere (the deployer's JSON report).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import click

from consign.exit_codes import ExitCode
from consign.termination import TerminateAsInterrupt

F = TypeVar("F", bound=Callable[..., Any])


class ConsignError(Exception):
    """A failure a command reports in one line and turns into its exit code."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED
    label: ClassVar[str] = "failed"


class RegistryUnreachable(ConsignError):
    """The registry (HTTP or Git) could not be reached or does not have what was asked."""

    exit_code = ExitCode.REGISTRY_UNREACHABLE
    label = "registry"


class RegistryNotReached(RegistryUnreachable):
    """No answer from the registry (refused, timed out, TLS not trusted, ...); the message
    names the URL and what to check. ``transient``: trying again later may work."""

    def __init__(
        self, message: str, *, cause: BaseException | None = None, transient: bool = True
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.transient = transient


class InvalidDescriptor(ConsignError):
    """Compose or the engine refuses the descriptor; nothing was started."""

    exit_code = ExitCode.INVALID_DESCRIPTOR
    label = "invalid descriptor, nothing started"


class EngineUnreachable(ConsignError):
    """The Docker Engine does not answer (or there is no Compose v2 to talk to it)."""

    exit_code = ExitCode.ENGINE_UNREACHABLE
    label = "engine"


class EngineRefused(ConsignError):
    """The engine answered, with an error (not a reachability problem)."""

    exit_code = ExitCode.FAILED
    label = "the Docker Engine refused"


class PublishError(ConsignError):
    exit_code = ExitCode.PUBLISH_FAILED
    label = "consign publish"


class PromoteRefused(ConsignError):
    """The registry refused a promotion (the gate's reasons are printed before)."""

    exit_code = ExitCode.PUBLISH_FAILED
    label = "consign promote"


class EnvironmentChangeRefused(ConsignError):
    """The registry refused to retire or restore an environment (unknown, the token)."""

    exit_code = ExitCode.PUBLISH_FAILED
    label = "consign environment"


class EnvironmentLocked(ConsignError):
    """Another deploy or teardown holds the environment after the bounded wait."""

    exit_code = ExitCode.LOCKED
    label = "environment locked"


class EnvironmentMismatch(ConsignError):
    """The project is recorded under another environment than the one the command names
    (and --move-environment was not given): a wrong command line, not a busy one."""

    exit_code = ExitCode.USAGE
    label = "another environment"


class VersionRejected(ConsignError):
    """The version was rejected at the gate; deploying it needs --force."""

    exit_code = ExitCode.REJECTED
    label = "rejected version"


class Interrupted(ConsignError):
    """Ctrl-C, after the command has left things consistent; the message says what it did."""

    exit_code = ExitCode.INTERRUPTED
    label = "interrupted"


class WorkdirUnusable(ConsignError):
    """``--workdir`` cannot serve: not writable, or (the deployer in a container) not the
    host's folder of the same path, so paths in descriptors would not mean the same to the
    engine (deployer/deploy/workdir.py)."""

    exit_code = ExitCode.USAGE
    label = "workdir"


class BisectAborted(ConsignError):
    """``consign bisect`` cannot go on: its ``--run`` command cannot run (126, 127) or was
    killed (128 and above), a judge that says nothing (no verification declared), or a
    range that is not one; the environment is left as the message says."""

    exit_code = ExitCode.FAILED
    label = "bisect aborted"


OnError = Callable[[BaseException, ExitCode], None]


def exits(on_error: OnError | None = None) -> Callable[[F], F]:
    """Decorate a click command: its return value (an ExitCode) or its failure is its exit."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with TerminateAsInterrupt() as term:
                try:
                    code = func(*args, **kwargs)
                except ConsignError as e:
                    _fail(e, _signalled(e.exit_code, term), f"{e.label}: {e}", on_error)
                except KeyboardInterrupt as e:
                    line = "terminated (SIGTERM)" if term.received else "interrupted"
                    _fail(e, _signalled(ExitCode.INTERRUPTED, term), line, on_error)
            sys.exit(int(code) if code is not None else 0)

        return wrapper  # type: ignore[return-value]

    return decorate


def _signalled(code: ExitCode, term: TerminateAsInterrupt) -> ExitCode:
    """An interruption that SIGTERM caused exits 143, one by Ctrl-C 130."""
    if code is ExitCode.INTERRUPTED and term.received:
        return ExitCode.TERMINATED
    return code


def _fail(error: BaseException, code: ExitCode, line: str, on_error: OnError | None) -> None:
    click.echo(f"error: {line}", err=True)
    if on_error is not None:
        on_error(error, code)
    sys.exit(int(code))
