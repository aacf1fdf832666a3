"""The search of ``consign bisect``, pure: which version to try next, and what the answers
so far prove. The judge is injected (a deploy and a verdict, in :mod:`.steps`), so the
rules are tested on recorded answers.

The first bad version is one of N+1 .. M, or there is none: M+1 possibilities, kept as
the interval (``good``, ``bad``] with ``bad`` starting at M+1, "bad by definition". Each
judged version halves it, so a search takes at most ⌈log2(M-N+1)⌉ judged deploys plus the
skipped ones: ⌈log2(M-N)⌉ except when M-N is a power of two, the one deploy it costs to
tell "M is the first bad" from "no version in the range is bad" (M itself is deployed only
when every version judged before it was good). A skipped version (incomplete, failing to
deploy, or ``--run`` exit 125) is set aside and the remaining version nearest the middle
is tried instead, as ``git bisect`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class StepVerdict(StrEnum):
    GOOD = "good"
    BAD = "bad"
    SKIP = "skip"


@dataclass(frozen=True)
class Judgement:
    """What one version was judged: ``deployed`` False when it was skipped unseen (an
    incomplete version); ``why`` in words."""

    verdict: StepVerdict
    why: str
    deployed: bool = True


@dataclass(frozen=True)
class Step:
    number: int  # 1, 2, ... in the order tried
    version: int
    judgement: Judgement


@dataclass(frozen=True)
class BisectFinding:
    """Where a search ended: ``first_bad``, the first version judged bad after the last
    good one (None: none was), the last good version, and when skipped versions lie
    between them, every version the first bad one may be (``candidates``, ascending, the
    skipped ones then ``first_bad``, or M+1 standing for "none")."""

    good: int
    bad: int  # the range's M
    last_good: int
    first_bad: int | None
    candidates: tuple[int, ...]
    steps: tuple[Step, ...]

    @property
    def no_bad(self) -> bool:
        return self.first_bad is None and not self.candidates

    @property
    def undecided(self) -> bool:
        return bool(self.candidates)

    @property
    def deploys(self) -> int:
        return sum(1 for s in self.steps if s.judgement.deployed)

    @property
    def skipped(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.judgement.verdict is StepVerdict.SKIP)


@dataclass
class Bisection:
    """One search of the versions between ``good`` (judged good, never deployed) and
    ``bad`` (said bad; deployed only to tell it from "no bad version")."""

    good: int
    bad: int
    judge: Callable[[int, int], Judgement]  # (version, step number) -> judgement
    _low: int = field(init=False)
    _high: int = field(init=False)
    _skipped: set[int] = field(init=False, default_factory=set)
    _steps: list[Step] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.bad <= self.good:
            raise ValueError(f"--bad {self.bad} must be after --good {self.good}")
        self._low, self._high = self.good, self.bad + 1

    def next_version(self) -> int | None:
        """The version to judge next (nearest the middle of what is left), None when done."""
        left = [v for v in range(self._low + 1, self._high) if v not in self._skipped]
        if not left:
            return None
        middle = self._low + (self._high - self._low) // 2
        return min(left, key=lambda v: (abs(v - middle), v))

    def record(self, version: int, judgement: Judgement) -> Step:
        """Take one answer into account."""
        step = Step(len(self._steps) + 1, version, judgement)
        self._steps.append(step)
        if judgement.verdict is StepVerdict.GOOD:
            self._low = version
        elif judgement.verdict is StepVerdict.BAD:
            self._high = version
        else:
            self._skipped.add(version)
        return step

    def run(self, on_step: Callable[[Step], None] | None = None) -> BisectFinding:
        while (version := self.next_version()) is not None:
            step = self.record(version, self.judge(version, len(self._steps) + 1))
            if on_step is not None:
                on_step(step)
        return self.finding()

    def finding(self) -> BisectFinding:
        hidden = sorted(v for v in self._skipped if self._low < v < self._high)
        candidates = (*hidden, self._high) if hidden else ()
        first_bad = None if self._high == self.bad + 1 else self._high
        return BisectFinding(
            self.good, self.bad, self._low, first_bad, candidates, tuple(self._steps)
        )
