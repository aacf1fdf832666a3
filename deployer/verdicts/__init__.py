"""Verdicts: pure rules from observed container states to one verdict per service.

Nothing here talks to Docker, so every rule is unit tested on saved inspect JSON.
:mod:`.vocabulary` is what a verdict can be and what is observed, :mod:`.container` the
per-container rules (Docker's restart semantics), :mod:`.tracker` the per-service
aggregation (replicas, sticky failures, timeouts), :mod:`.dependencies` who is blocked
by whom, and :mod:`.summary` the exit code and the cause-first order of a result.
"""

from deployer.verdicts.tracker import VerdictTracker
from deployer.verdicts.vocabulary import SEVERITY, Observation, ServiceVerdict, Verdict

__all__ = ["SEVERITY", "Observation", "ServiceVerdict", "Verdict", "VerdictTracker"]
