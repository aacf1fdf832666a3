"""Progress of a wait, as it happens: on a terminal a live table (rich); in a CI or Rundeck
log one plain timestamped line per change of a service's verdict. The watcher's
``on_update`` callback (the deploy room and the Swarm path call it), below the final report
(:mod:`deployer.report`), which uses the same table and words."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from deployer.verdicts import ServiceVerdict, Verdict
from deployer.verdicts.summary import cause_first


def label(sv: ServiceVerdict) -> str:
    """A verdict as people read it: ``exited(1)``, ``crash-looping``, ``not created``."""
    if sv.verdict == Verdict.EXITED and sv.exit_code is not None:
        return f"exited({sv.exit_code})"
    text = str(sv.verdict.value).lower().replace("_", " ")
    return text.replace("crash looping", "crash-looping")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def verdict_table(
    title: str,
    verdicts: Mapping[str, ServiceVerdict],
    mask: Callable[[str], str] | None = None,
) -> Table:
    """``mask``: the command's secret values out of each detail before the table wraps it
    (a value broken across two lines would pass a masker of the printed lines)."""
    mask = mask or str
    table = Table(title=title or None)
    for col in ("service", "verdict", "seconds", "detail"):
        table.add_column(col)
    for sv in cause_first(verdicts):
        name = sv.service
        style = "green" if sv.verdict.ok else ("yellow" if not sv.verdict.final else "red")
        table.add_row(name, f"[{style}]{label(sv)}[/]", f"{sv.seconds:.1f}", mask(sv.detail))
    return table


class Progress:
    """The ``on_update`` callback for the watcher; a context manager around the wait."""

    def __init__(
        self,
        title: str,
        out: TextIO | None = None,
        tty: bool | None = None,
        mask: Callable[[str], str] | None = None,
    ) -> None:
        self.title = title
        self.mask = mask
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self._last: dict[str, str] = {}
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.tty:
            console = Console(file=self.out, force_terminal=True)
            self._live = Live(console=console, auto_refresh=False, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __call__(self, verdicts: dict[str, ServiceVerdict]) -> None:
        if self._live is not None:
            self._live.update(verdict_table(self.title, verdicts, self.mask), refresh=True)
            return
        for name, sv in verdicts.items():
            now = label(sv)
            if self._last.get(name) != now:
                self._last[name] = now
                detail = f" ({sv.detail})" if sv.detail else ""
                print(
                    f"{_stamp()} {self.title}: {name} {now} {sv.seconds:.1f}s{detail}",
                    file=self.out,
                )
        self.out.flush()
