"""Secrets whose source is the deploy host's environment, made Docker secrets for a stack.

Compose reads ``secrets: {db: {environment: DB_PASSWORD}}`` from its environment;
``docker stack deploy`` refuses that source ("Additional property environment is not
allowed"). So before the stack is deployed each such secret is created through the SDK
and the descriptor handed to the CLI names it ``external``; the service reads it at
``/run/secrets/<key>`` as Compose would show it.

Names are ``<stack>_<key>_<hash>`` with the first 12 hex digits of the value's SHA-256:
Swarm secrets cannot change, so a new value is a new secret (and a rolling update of the
services using it), the same value is the same secret (a redeploy or a rollback changes
nothing). The hash tells nobody the value: whoever can list a manager's secrets can also
mount them. Each carries ``com.docker.stack.namespace`` (``docker stack rm`` removes it
with the stack) and ``io.consignment.secret-of``; :func:`prune` removes those of the stack
no service uses any more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from docker.errors import APIError, NotFound

from consign.compose import yamlio
from deployer import label_keys as keys
from deployer.deploy.hostvars import MissingVariables, environment_sources

#: Docker's limit on a secret's name.
MAX_NAME = 64


def secret_name(stack: str, key: str, value: str) -> str:
    """``<stack>_<key>_<12 hex of sha256(value)>``, cut to Docker's 64 characters."""
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
    room = MAX_NAME - len(digest) - 2
    head = f"{stack}_{key}"[:room]
    return f"{head}_{digest}"


def materialise(
    client: Any, stack: str, tree: Mapping[str, Any], lookup: Callable[[str], str | None]
) -> tuple[dict[str, Any], set[str]]:
    """The descriptor ``tree`` with every environment-sourced secret made a Docker secret
    (created unless it exists) and named ``external``; and the names it uses. A source
    nobody supplies is :class:`MissingVariables` (checked before any is created)."""
    sources = {
        where.removeprefix("top-level secrets."): var
        for where, var in environment_sources(tree).items()
        if where.startswith("top-level secrets.")
    }
    if not sources:
        return dict(tree), set()
    unset = sorted({var for var in sources.values() if lookup(var) is None})
    if unset:
        raise MissingVariables(
            f"the stack's secrets need {', '.join(unset)}, which this host does not supply"
        )
    entries = dict(yamlio.plain(tree["secrets"]))
    used: set[str] = set()
    for key, var in sources.items():
        value = lookup(var)
        assert value is not None
        name = secret_name(stack, str(key), value)
        _ensure(client, stack, str(key), name, value)
        spec = {k: v for k, v in dict(yamlio.plain(entries[key])).items() if k != "environment"}
        entries[key] = {**spec, "name": name, "external": True}
        used.add(name)
    return {**tree, "secrets": entries}, used


def _ensure(client: Any, stack: str, key: str, name: str, value: str) -> None:
    if any(s.name == name for s in client.secrets.list(filters={"name": name})):
        return
    labels = {keys.STACK_NAMESPACE: stack, keys.SECRET_OF: stack, keys.SECRET_KEY: key}
    try:
        client.secrets.create(name=name, data=value.encode("utf-8"), labels=labels)
    except APIError as e:
        if e.status_code != 409:  # 409: created meanwhile by a concurrent deploy
            raise


def prune(client: Any, stack: str, keep: set[str]) -> list[str]:
    """Remove the stack's environment-sourced secrets not in ``keep`` that no service uses
    (the engine refuses to remove one in use: it stays for a later deploy). Their names."""
    removed = []
    for secret in client.secrets.list(filters={"label": f"{keys.SECRET_OF}={stack}"}):
        if secret.name in keep:
            continue
        try:
            secret.remove()
        except NotFound:
            continue
        except APIError:
            continue  # still in use (a task of the version before, Swarm's rollback)
        removed.append(secret.name)
    return removed
