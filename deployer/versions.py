"""`consign versions`, `consign show`, `consign diff`: the registry's history for people.

They read the registry's JSON API (``/api/applications/{app}/releases/{release}/...``)
with the same ``--registry``/``--token`` options as ``consign deploy``; ``--json`` prints
the API's answer as it is. A version's ``state``/``state_reason`` (ok, incomplete,
warnings) are shown when the registry gives them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click
import requests

from consign.errors import exits
from consign.exit_codes import ExitCode
from deployer.deploy.sources import TIMEOUT, SourceError, why


def _get(registry: str, token: str | None, path: list[str], **params: str) -> dict[str, Any]:
    base = registry.rstrip("/")
    url = f"{base}/api/" + "/".join(quote(p, safe="") for p in path)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        resp = requests.get(url, headers=headers, params=params or None, timeout=TIMEOUT)
    except requests.RequestException as e:
        raise SourceError(f"cannot reach the registry at {base}: {e}") from e
    if resp.status_code in (401, 403):
        raise SourceError(f"the registry at {base} refused access (HTTP {resp.status_code})")
    if resp.status_code != 200:
        raise SourceError(f"{base} answered HTTP {resp.status_code}: {why(resp)}")
    try:
        body = resp.json()
    except ValueError as e:
        raise SourceError(f"{base} did not answer JSON at {url}") from e
    if not isinstance(body, dict):
        raise SourceError(f"{base} answered unexpected JSON at {url}")
    return body


def _release(application: str, release: str) -> list[str]:
    return ["applications", application, "releases", release]


def _build(build: Any) -> str:
    if not isinstance(build, dict) or not build:
        return "-"
    return " ".join(f"{k}={v}" for k, v in build.items())


def _state(version: dict[str, Any]) -> str:
    if "state" not in version:
        return ""
    reason = version.get("state_reason") or ""
    return f"{version['state']}" + (f" ({reason})" if reason else "")


def _registry_options(func: Any) -> Any:
    func = click.option(
        "--json", "as_json", envvar="CONSIGN_JSON", is_flag=True, help="Print the JSON."
    )(func)
    func = click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for the registry.")(
        func
    )
    return click.option(
        "--registry", envvar="CONSIGN_REGISTRY", required=True, help="Registry base URL."
    )(func)


@click.command("versions")
@click.argument("application")
@click.argument("release")
@click.option(
    "--limit", envvar="CONSIGN_LIMIT", type=click.IntRange(1), help="At most N (newest first)."
)
@_registry_options
@exits()
def versions_cmd(
    application: str,
    release: str,
    limit: int | None,
    registry: str,
    token: str | None,
    as_json: bool,
) -> ExitCode:
    """The versions of APPLICATION RELEASE, newest first: time, component, build, state."""
    params = {"limit": str(limit)} if limit else {}
    body = _get(registry, token, [*_release(application, release), "versions"], **params)
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return ExitCode.OK
    for v in body.get("versions") or []:
        state = _state(v)
        click.echo(
            f"v{v.get('version')}  {v.get('created', '')}  {v.get('component', '')}  "
            f"{_build(v.get('build'))}" + (f"  [{state}]" if state else "")
        )
    return ExitCode.OK


@click.command("show")
@click.argument("application")
@click.argument("release")
@click.argument("version")
@_registry_options
@exits()
def show_cmd(
    application: str, release: str, version: str, registry: str, token: str | None, as_json: bool
) -> ExitCode:
    """One version (a number or `latest`): its components, builds, services and warnings."""
    v = _get(registry, token, [*_release(application, release), "versions", version])
    if as_json:
        click.echo(json.dumps(v, indent=2))
        return ExitCode.OK
    click.echo(
        f"{v.get('application')}/{v.get('release')} v{v.get('version')}  "
        f"{v.get('created', '')}  commit {v.get('commit', '')}"
    )
    click.echo(f"published by {v.get('component', '')}: {_build(v.get('build'))}")
    if _state(v):
        click.echo(f"state: {_state(v)}")
    for c in v.get("components") or []:
        services = ", ".join(c.get("services") or [])
        click.echo(f"  component {c.get('name')}: {_build(c.get('build'))}")
        click.echo(f"    services: {services or '-'}  sha256 {str(c.get('sha256', ''))[:12]}")
    for warning in v.get("warnings") or []:
        click.echo(f"warning: {warning}")
    return ExitCode.OK


@click.command("diff")
@click.argument("application")
@click.argument("release")
@click.argument("old")
@click.argument("new")
@_registry_options
@exits()
def diff_cmd(
    application: str,
    release: str,
    old: str,
    new: str,
    registry: str,
    token: str | None,
    as_json: bool,
) -> ExitCode:
    """What changed from version OLD to NEW: services added, removed, changed (with the
    component and build), then the unified diff of the descriptors (coloured on a terminal)."""
    d = _get(registry, token, [*_release(application, release), "diff"], **{"from": old, "to": new})
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return ExitCode.OK
    click.echo(f"{application}/{release} v{d.get('from')} -> v{d.get('to')}")
    for kind, mark in (("added", "+"), ("removed", "-"), ("changed", "~")):
        for e in d.get(kind) or []:
            moved = e.get("previous_component")
            was = f" (was {moved})" if moved and moved != e.get("component") else ""
            click.echo(
                f"{mark} {kind:8} {e.get('service')}: component {e.get('component')}{was} "
                f"{_build(e.get('build'))}"
            )
    text = str(d.get("diff") or "")
    if not text:
        click.echo("(the descriptors are identical)")
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            click.secho(line, bold=True)
        elif line.startswith("+"):
            click.secho(line, fg="green")
        elif line.startswith("-"):
            click.secho(line, fg="red")
        elif line.startswith("@@"):
            click.secho(line, fg="cyan")
        else:
            click.echo(line)
    return ExitCode.OK
