"""A lock holder as people read it: what a deployer says of its own process when it takes
a lock (pid, host, container), named the same way by the registry's 409 answers and the
deployer's messages, which must not import each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def holder_process(holder: Mapping[str, Any]) -> str:
    """``pid 4711 on host rundeck-1 in container 0f3a…``; "" when the holder said nothing."""
    parts = []
    if holder.get("pid") is not None:
        parts.append(f"pid {holder['pid']}")
    if holder.get("host"):
        parts.append(f"on host {holder['host']}")
    if holder.get("container"):
        parts.append(f"in container {str(holder['container'])[:12]}")
    return " ".join(parts)
