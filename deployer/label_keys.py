"""Every label key the deployer reads or writes, in one place.

Compose's own keys say which project and service a container belongs to. Ours are of two
kinds: per-container keys carry only what belongs to that service (its component, that
component's build, the fragment's hash), so a new version recreates only the services it
changed; the project's version, commit and source live on the project record (a labelled
volume, see :mod:`deployer.deploy.record`) where changing them recreates nothing.
"""

from __future__ import annotations

# Compose's keys (set by Compose on every container, network and volume it makes).
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
ONEOFF = "com.docker.compose.oneoff"

PREFIX = "io.consignment."
# Per container (the service's own provenance).
COMPONENT = PREFIX + "component"
BUILD = PREFIX + "build"
FRAGMENT = PREFIX + "fragment"
#: On a verification service's containers (Compose profile ``verify``, issue 23): they
#: are run, judged and removed by the deployer; status, drift and the records of what a
#: project runs leave them out (one left by a killed deployer is no failed service).
VERIFICATION = PREFIX + "verification"
# Project record (on the record volume), and, before the record existed, on every container.
APPLICATION = PREFIX + "application"
RELEASE = PREFIX + "release"
VERSION = PREFIX + "version"
REGISTRY = PREFIX + "registry"
COMMIT = PREFIX + "commit"
SOURCE = PREFIX + "source"
BUILDS = PREFIX + "builds"
#: On the record volume: the Compose project it describes.
RECORD_OF = PREFIX + "record-of"
#: On a project's lock container (deployer.ledger.projectlock): the project (or stack) it
#: locks, and its holder (JSON: by, host, pid, pid_start, container, environment, what).
LOCK_OF = PREFIX + "lock-of"
LOCK_HOLDER = PREFIX + "lock-holder"
#: On a project's environment volume (deployer.ledger.projectenv): the project, and the
#: environment it is recorded under.
ENVIRONMENT_OF = PREFIX + "environment-of"
ENVIRONMENT = PREFIX + "environment"
#: On the record volume while a deploy changes the project: who (JSON: pid, host, by,
#: started, environment); gone once it ended. Left there: the deployer was killed.
IN_PROGRESS = PREFIX + "in-progress"
#: On the record volume after Ctrl-C stopped a deploy: when and what (one line).
INTERRUPTED = PREFIX + "interrupted"
#: On the record volume: the newest verification of the version it names (JSON: status,
#: summary, by = deploy | verify, at), written when the deploy that left it there (or a
#: ``consign verify``) ran one; ``consign status`` reads it.
VERIFIED = PREFIX + "verified"
#: Swarm's own: what belongs to a stack (`docker stack rm` removes its secrets too).
STACK_NAMESPACE = "com.docker.stack.namespace"
#: On a Docker secret made from a secret's `environment:` source (deployer.swarm.secrets):
#: the stack it is for, and its key in the descriptor's top-level `secrets:`.
SECRET_OF = PREFIX + "secret-of"
SECRET_KEY = PREFIX + "secret-key"
