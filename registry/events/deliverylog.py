"""The delivery log of each subscription: one JSON line per settled attempt (delivered,
retried, refused, given up), the newest :data:`KEEP` kept. Written by the delivery worker
only; read by ``GET /api/webhooks/{name}/deliveries`` from any gunicorn worker."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: Entries kept per subscription; the file is cut back to this when it holds twice as many.
KEEP = 500


class DeliveryLog:
    def __init__(self, folder: str | Path, keep: int = KEEP) -> None:
        self.folder = Path(folder)
        self.keep = keep
        self._lines: dict[str, int] = {}

    def _path(self, subscription: str) -> Path:
        return self.folder / f"{subscription}.jsonl"

    def append(self, subscription: str, entry: dict[str, Any]) -> None:
        path = self._path(subscription)
        self.folder.mkdir(parents=True, exist_ok=True)  # here: a reader makes no folder
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with path.open("a", encoding="utf-8") as out:
            out.write(line)
        count = self._lines.get(subscription)
        if count is None:
            count = len(path.read_text(encoding="utf-8").splitlines())
        else:
            count += 1
        if count > 2 * self.keep:
            kept = path.read_text(encoding="utf-8").splitlines()[-self.keep :]
            temporary = path.with_suffix(".tmp")
            temporary.write_text("\n".join(kept) + "\n", encoding="utf-8")
            os.replace(temporary, path)
            count = len(kept)
        self._lines[subscription] = count

    def entries(self, subscription: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Newest first (a torn last line, from a killed worker, is skipped)."""
        try:
            lines = self._path(subscription).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in reversed(lines):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
            if limit is not None and len(found) >= limit:
                break
        return found

    def recent_ids(self, subscription: str) -> list[str]:
        """The events settled lately (oldest first), to skip them when queued again."""
        return [str(e.get("id")) for e in reversed(self.entries(subscription)) if e.get("final")]
