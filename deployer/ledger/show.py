"""What the registry says runs in an environment, as text: what ``consign status
--environment NAME --registry URL`` prints (the same shape as the local ``status``)."""

from __future__ import annotations

from typing import Any

from deployer.gate_words import build_label
from deployer.ledger import holder as holders


def environment_text(state: dict[str, Any]) -> str:
    """``GET /api/environments/{env}`` as one block per application/release: the version,
    how and when it got there, by whom, then its builds and one line per service."""
    lines = [f"{state['name']}: {state['deployments']} deployment(s) recorded"]
    lock = state.get("lock")
    if lock:
        holder = lock.get("holder") or {}
        who = holder.get("by", "someone")
        where = f" ({holders.describe(holder)})" if holder.get("pid") or holder.get("host") else ""
        lines.append(f"  locked by {who}{where} since {lock['since']} (expires {lock['expires']})")
    if not state.get("deployed"):
        lines.append("  nothing deployed")
    for r in state.get("deployed") or []:
        back = r.get("rolled_back_to")  # rolled_back, or verification_failed rolled back
        running = back if back is not None else r["version"]
        how = r["outcome"].replace("_", " ")
        if r["outcome"] == "rolled_back":
            how += f" from v{r['version']}"
        elif back is not None:
            how += f", rolled back from v{r['version']}"
        verification = r.get("verification")
        if verification and verification.get("status") != "skipped":
            bad = [t["service"] for t in verification.get("tests", []) if t["verdict"] != "passed"]
            how += f"; verification {verification['status'].replace('_', ' ')}"
            how += f" ({', '.join(bad)})" if bad else ""
        lines.append(
            f"{r['application']}/{r['release']} v{running} ({r['kind']} {how}) "
            f"since {r['finished']} by {r['by']}, commit {r.get('commit') or '-'}"
        )
        for s in r.get("services") or []:
            origin = s.get("component") or "-"
            build = build_label(s.get("build"))  # the registry's one label, as status says
            lines.append(
                f"  {s['service']:30} {s['verdict']:15} {s.get('image') or '-'} "
                f"{origin}{' ' + build if build != '-' else ''}"
            )
    return "".join(line + "\n" for line in lines)
