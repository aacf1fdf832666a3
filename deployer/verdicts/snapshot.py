"""One inspect of each container, judged by the same rules as a deploy: the answer of
`consign status`, of `consign drift` and of an ``interrupted`` ledger record, so that the
three name one state with one word.

A single look has no stability window (running without a restart counts as running), and
two facts a deploy would learn by watching are given: a container the engine is
restarting, or one seen restarting again while watched (``again``), is crash-looping.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from deployer.engine.fields import restart_count, state
from deployer.verdicts.tracker import VerdictTracker
from deployer.verdicts.vocabulary import Observation, ServiceVerdict, Verdict


def judge_once(
    observations: Sequence[Observation], again: Collection[str] = ()
) -> dict[str, ServiceVerdict]:
    """service -> its verdict from one observation per container (all with one ``t``)."""
    if not observations:
        return {}
    now = observations[0].t
    tracker = VerdictTracker(sorted({o.service for o in observations}), stable=0.0, started=now)
    for obs in observations:
        tracker.observe(obs)
    verdicts = tracker.verdicts(now)
    for obs in observations:
        watched = obs.container_id in again
        if (watched or state(obs.inspect).get("Restarting")) and obs.service in verdicts:
            sv = verdicts[obs.service]
            sv.verdict = Verdict.CRASH_LOOPING
            doing = "restarted again while watched" if watched else "restarting now"
            sv.detail = f"restarted {restart_count(obs.inspect)} times, {doing}"
            code = state(obs.inspect).get("ExitCode")
            sv.exit_code = int(code) if code else sv.exit_code
    return verdicts


def never_started(sv: ServiceVerdict, observations: Sequence[Observation]) -> ServiceVerdict:
    """A service whose containers were all created and none ever started (a deploy stopped
    before it started them) is NOT_CREATED, and says so; others are returned as they are."""
    mine = [o for o in observations if o.service == sv.service]
    if sv.verdict is not Verdict.PENDING or not mine:
        return sv
    if any(str(state(o.inspect).get("Status")) != "created" for o in mine):
        return sv
    return replace(sv, verdict=Verdict.NOT_CREATED, detail="created, never started")
