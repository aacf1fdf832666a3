"""Exit codes of every `consign` command: one IntEnum; :mod:`consign.errors` maps to them.

Rundeck and CI branch on these numbers; README documents them. Never renumber.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    #: The deploy ran and at least one service is not healthy/running/completed.
    FAILED = 1
    #: Bad command-line usage (click's own code).
    USAGE = 2
    #: Some service did not settle before --timeout.
    TIMEOUT = 3
    #: The descriptor is invalid: Compose rejects it or it refers to missing services.
    INVALID_DESCRIPTOR = 4
    #: The registry (HTTP or Git) could not be reached or did not have the version.
    REGISTRY_UNREACHABLE = 5
    #: The Docker Engine does not answer, or Compose v2 is missing.
    ENGINE_UNREACHABLE = 6
    #: Publishing a fragment failed (consign publish), or the registry refused a promotion
    #: (consign promote: the gate, a frozen release, the token), or a retirement or
    #: restoration (consign environment: an unknown environment, the token).
    PUBLISH_FAILED = 7
    #: Another deploy or teardown holds the environment's lock (still, after --lock-wait);
    #: the message names who, which version and since when.
    LOCKED = 8
    #: The version was rejected at the gate (issue 10) and --force was not given.
    REJECTED = 9
    #: `consign deploy --plan`: the plan would change something on the target (a container
    #: created, recreated, started or removed, an image pulled, a volume or network
    #: created, another version recorded); 0 when it would change nothing.
    PLAN_CHANGES = 10
    #: ``consign bisect``: no version of the range is bad (every one judged was good).
    NO_BAD_VERSION = 11
    #: Interrupted (Ctrl-C, SIGINT): 128 + SIGINT, as a shell reports it.
    INTERRUPTED = 130
    #: Terminated (SIGTERM: `docker stop`, a service manager), handled as Ctrl-C is:
    #: 128 + SIGTERM, as a shell reports it (consign/termination.py).
    TERMINATED = 143
