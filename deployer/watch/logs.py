"""The last log lines and the last healthcheck output of a service's containers, for the
report of a failed service (whatever Compose said about it afterwards)."""

from __future__ import annotations

from typing import Any

from docker.errors import APIError, NotFound

from deployer import label_keys as keys
from deployer.engine.fields import last_health_check


def service_logs(client: Any, project: str, service: str, tail: int = 50) -> str:
    """The last ``tail`` log lines of each container of ``service``, each followed by its
    last healthcheck's exit code and output when it has a healthcheck; "" when the service
    never had a container."""
    filters = {"label": [f"{keys.PROJECT}={project}", f"{keys.SERVICE}={service}"]}
    parts: list[str] = []
    containers = client.api.containers(all=True, filters=filters)
    for c in sorted(containers, key=lambda c: str((c.get("Names") or [""])[0])):
        try:
            raw = client.api.logs(c["Id"], stdout=True, stderr=True, tail=tail)
            check = last_health_check(client.api.inspect_container(c["Id"]))
        except NotFound:
            continue
        except APIError as e:  # e.g. a logging driver that cannot be read back
            raw, check = f"(logs unavailable: {e.explanation or e})", None
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        text = text.rstrip("\n") or "(no output)"
        if check is not None:
            text += "\n" + check
        if len(containers) > 1:
            name = str((c.get("Names") or [c["Id"][:12]])[0]).lstrip("/")
            text = f"== {name} ==\n{text}"
        parts.append(text)
    return "\n".join(parts)
