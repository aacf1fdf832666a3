"""An event as a request body: CloudEvents 1.0 JSON (structured mode, by the CloudEvents
SDK) or Slack-compatible ``{"text": ...}`` (Slack, Mattermost and Teams incoming webhooks),
and the signature header over the body's bytes."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent

from registry.events.catalog import Event

SIGNATURE_HEADER = "X-Consign-Signature-256"
#: The CloudEvents ``source``: the registry, as a URI reference.
SOURCE = "/consign/registry"
#: Verdicts of a service that ran as it should (deployer/verdicts: Verdict.ok).
OK_VERDICTS = frozenset({"healthy", "running", "completed"})


def signature(secret: bytes, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, body): GitHub's ``X-Hub-Signature-256``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def cloudevent(event: Event) -> tuple[dict[str, str], bytes]:
    """Structured mode: the whole event in the body, ``application/cloudevents+json``."""
    attributes: dict[str, Any] = {
        "id": event.id,
        "source": SOURCE,
        "type": event.type,
        "specversion": "1.0",
        "subject": event.subject,
        "time": datetime.fromisoformat(event.time.replace("Z", "+00:00")),
        "datacontenttype": "application/json",
    }
    message = to_structured_event(CloudEvent(attributes, event.data))
    return dict(message.headers), message.body


def _segment(value: str) -> str:
    """A name as one path segment of a UI URL (registry/http/views/ui/links.name_segment's
    rule: the events package sits beside the HTTP side and must not import it)."""
    encoded = quote(value, safe="")
    return "~" + encoded if encoded.startswith("~") or encoded in (".", "..") else encoded


def ui_link(event: Event, public_url: str) -> str | None:
    """The UI page of what ``event`` is about, under ``public_url`` (None without one)."""
    if not public_url:
        return None
    base = public_url.rstrip("/") + "/ui"
    if event.kind.startswith(("deployment.", "drift.", "lock.")) and event.environment:
        return f"{base}/environments/{quote(event.environment, safe='')}"
    if event.application and event.release:
        path = (
            f"{base}/applications/{_segment(event.application)}/releases/{_segment(event.release)}"
        )
        version = event.data.get("version")
        return f"{path}/versions/{version}" if isinstance(version, int) else path
    return None


def _escape(text: str) -> str:
    """Slack's three control characters (Mattermost and Teams take the text as it is)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def failed_services(data: dict[str, Any]) -> list[str]:
    """The services of a record that did not end well, each with its verdict and detail,
    and the failed verifications (the ``verification`` object of issue 23)."""
    found = []
    for service in data.get("services") or []:
        verdict = str(service.get("verdict", ""))
        if verdict and verdict not in OK_VERDICTS:
            detail = str(service.get("detail") or "").strip()
            found.append(f"{service.get('service')} ({verdict}{': ' + detail if detail else ''})")
    verification = data.get("verification")
    if isinstance(verification, dict):
        for test in verification.get("tests") or []:
            if isinstance(test, dict) and test.get("verdict") not in (None, "passed"):
                found.append(f"verification {test.get('service')} {test_verdict(test)}")
    return found


def test_verdict(test: dict[str, Any]) -> str:
    """A verification test's verdict in words: ``failed (exit 1)``, ``timed out``,
    ``failed (never started)`` (the ledger's test object: verdict, exit_code)."""
    verdict = str(test.get("verdict") or "")
    if verdict == "failed":
        code = test.get("exit_code")
        return f"failed (exit {code})" if isinstance(code, int) else "failed (never started)"
    return verdict.replace("_", " ")


def _where(data: dict[str, Any]) -> str:
    return f"{data.get('application')}/{data.get('release')}"


def headline(event: Event) -> str:
    """One line saying what happened, in words."""
    d = event.data
    version = f"v{d['version']}" if d.get("version") is not None else "(no version)"
    kind = event.kind
    if kind == "version.published":
        return f"published {_where(d)} {version} ({d.get('component')})"
    if kind == "version.promoted":
        src = d.get("promoted_from") or {}
        return (
            f"promoted {src.get('application')}/{src.get('release')} v{src.get('version')}"
            f" to {_where(d)} {version}"
        )
    if kind in ("version.approved", "version.rejected"):
        word = "approved" if kind == "version.approved" else "rejected"
        text = d.get("comment") or d.get("reason") or ""
        return f"{word} {_where(d)} {version} by {d.get('by')}" + (f": {text}" if text else "")
    if kind == "release.frozen":
        return f"froze {_where(d)}: {(d.get('frozen') or {}).get('reason', '')}"
    if kind == "release.thawed":
        return f"thawed {_where(d)} ({d.get('by')})"
    if kind in ("deployment.recorded", "drift.recorded"):
        outcome = d.get("outcome")
        text = f"{d.get('kind')} of {_where(d)} {version} in {d.get('environment')}: {outcome}"
        if d.get("rolled_back_to") is not None:
            text += f", rolled back to v{d['rolled_back_to']}"
        return text
    holder = d.get("holder") or {}
    who = holder.get("by") or holder.get("host") or "someone"
    verb = {"lock.taken": "locked", "lock.released": "unlocked", "lock.broken": "lock broken on"}
    return f"{verb.get(kind, kind)} {d.get('environment')} ({who})"


def slack(event: Event, public_url: str) -> tuple[dict[str, str], bytes]:
    """``{"text": ...}``: the verdict, the failed services, a link to the UI page."""
    lines = [_escape(headline(event))]
    failed = failed_services(event.data)
    if failed:
        lines.append("failed: " + _escape(", ".join(failed)))
    link = ui_link(event, public_url)
    if link:
        lines.append(f"<{link}|open in the registry>")
    body = json.dumps({"text": "\n".join(lines)}, ensure_ascii=False).encode("utf-8")
    return {"Content-Type": "application/json"}, body


def render(event: Event, fmt: str, public_url: str) -> tuple[dict[str, str], bytes]:
    return slack(event, public_url) if fmt == "slack" else cloudevent(event)
