"""Swarm mode: deploy a descriptor as a stack across a cluster and judge every service.

check.py (what Swarm ignores or refuses, pure) · stack.py (the docker CLI: stack config,
deploy, rm) · rules.py (service + tasks -> a verdict, pure) · watch.py (polls services and
tasks through the SDK) · deploy.py (check -> deploy -> watch -> rollback) · status.py
(status and down of stacks) · labels.py (the deploy's record on every service). The
commands are `consign deploy|status|down --orchestrator swarm` (deployer/cli.py).
The verdict vocabulary and exit codes are the Compose path's (:mod:`deployer.verdicts`).
"""
