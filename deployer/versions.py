"""`consign versions`, `consign show`, `consign diff`: the registry's history for people.

They read the registry's JSON API (``/api/applications/{app}/releases/{release}/...``)
with the same ``--registry``/``--token`` options as ``consign deploy``; ``--json`` prints
the API's answer as it is. The text tells the gate's truth in words
(:mod:`deployer.gate_words`: rejected, approved n of m, promoted from) and names builds
by the registry's one label (``TLO-WEB #42``); values are printed by
:mod:`consign.values`, never as Python reprs.
"""

from __future__ import annotations

import json
from typing import Any

import click

from consign.errors import exits
from consign.exit_codes import ExitCode
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from consign.version_arg import VERSION
from deployer import gate_words as words
from deployer.registry_reader import RegistryReader


def _release(application: str, release: str) -> list[str]:
    return ["applications", application, "releases", release]


def _needs(reader: RegistryReader, application: str, release: str) -> words.Needs:
    """The approvals promotions out of ``release`` need, from every other release's policy
    (none when the registry cannot say)."""
    names = reader.names(["applications", application, "releases"], "releases") or []
    policies = {}
    for other in names:
        if other != release:
            found = reader.optional([*_release(application, other), "policy"])
            policies[other] = found.get("policy") if found is not None else None
    return words.Needs.from_policies(release, policies)


def _registry_options(func: Any) -> Any:
    func = click.option(
        "--json", "as_json", envvar="CONSIGN_JSON", is_flag=True, help="Print the JSON."
    )(func)
    func = click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for the registry.")(
        func
    )
    func = ca_file_option(func)
    return click.option(
        "--registry",
        envvar="CONSIGN_REGISTRY",
        required=True,
        type=REGISTRY_URL,
        help="Registry base URL (http:// or https://).",
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
    ca_file: str | None,
    as_json: bool,
) -> ExitCode:
    """The versions of APPLICATION RELEASE, newest first: time, the component that changed,
    its build, then in brackets its standing: rejected, approved (n of what the releases
    it is promoted to need), promoted from, and its state when not ok."""
    reader = RegistryReader(registry, token, ca_file)
    params = {"limit": str(limit)} if limit else {}
    body = reader.get([*_release(application, release), "versions"], **params)
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return ExitCode.OK
    listed = [v for v in body.get("versions") or [] if isinstance(v, dict)]
    approved = any(v.get("approvals") for v in listed)
    needs = _needs(reader, application, release) if approved else words.Needs()
    for v in listed:
        marks = "".join(f"  [{w}]" for w in words.standing(v, needs))
        click.echo(
            f"v{v.get('version')}  {v.get('created', '')}  {v.get('component', '')}  "
            f"{words.build_label(v.get('build'))}{marks}"
        )
    return ExitCode.OK


@click.command("show")
@click.argument("application")
@click.argument("release")
@click.argument("version", type=VERSION)
@_registry_options
@exits()
def show_cmd(
    application: str,
    release: str,
    version: str,
    registry: str,
    token: str | None,
    ca_file: str | None,
    as_json: bool,
) -> ExitCode:
    """One version (a number or `latest`): where it came from (published by CI, or promoted
    from), its state, its standing at the gate (rejection, approvals), its components with
    their builds and services, and its warnings."""
    reader = RegistryReader(registry, token, ca_file)
    v = reader.get([*_release(application, release), "versions", version])
    if as_json:
        click.echo(json.dumps(v, indent=2))
        return ExitCode.OK
    click.echo(
        f"{v.get('application')}/{v.get('release')} v{v.get('version')}  "
        f"{v.get('created', '')}  commit {v.get('commit', '')}"
    )
    came = words.promoted_from(v)
    if not came:
        came = f"published by CI: component {v.get('component', '')}, "
        came += words.build_label(v.get("build"))
    click.echo(came)
    if words.state(v):
        click.echo(f"state: {words.state(v)}")
    click.echo(f"gate: {words.rejection(v) or 'not rejected'}")
    said = words.approvals(v, _needs(reader, str(v.get("application")), str(v.get("release"))))
    click.echo(f"approvals: {said.removeprefix('approvals ') or 'none'}")
    for a in v.get("approvals") or []:
        if isinstance(a, dict):
            comment = " ".join(str(a.get("comment") or "").split())
            click.echo(
                f"  approved by {words.who(a)} at {a.get('at', '?')}"
                + (f": {comment}" if comment else "")
            )
    for c in v.get("components") or []:
        services = ", ".join(c.get("services") or [])
        click.echo(f"  component {c.get('name')}: {words.build_details(c.get('build'))}")
        click.echo(f"    services: {services or '-'}  sha256 {str(c.get('sha256', ''))[:12]}")
    for warning in v.get("warnings") or []:
        click.echo(f"warning: {warning}")
    return ExitCode.OK


@click.command("diff")
@click.argument("application")
@click.argument("release")
@click.argument("old", type=VERSION)
@click.argument("new", type=VERSION)
@_registry_options
@exits()
def diff_cmd(
    application: str,
    release: str,
    old: str,
    new: str,
    registry: str,
    token: str | None,
    ca_file: str | None,
    as_json: bool,
) -> ExitCode:
    """What changed from version OLD to NEW: services added, removed, changed (with the
    component and its build before → after), the paths of the masked values that changed
    (never a value), then the unified diff of the descriptors (coloured on a terminal)."""
    reader = RegistryReader(registry, token, ca_file)
    path = [*_release(application, release), "diff"]
    d = reader.get(path, **{"from": old, "to": new})
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return ExitCode.OK
    click.echo(f"{application}/{release} v{d.get('from')} -> v{d.get('to')}")
    for kind, mark in (("added", "+"), ("removed", "-"), ("changed", "~"), ("rebuilt", "~")):
        for e in d.get(kind) or []:
            moved = e.get("previous_component")
            was = f" (was {moved})" if moved and moved != e.get("component") else ""
            if "previous_build" in e:
                build = words.build_change(e.get("previous_build"), e.get("build"))
            else:
                build = words.build_label(e.get("build"))
            click.echo(
                f"{mark} {kind:8} {e.get('service')}: component {e.get('component')}{was} {build}"
            )
    text = str(d.get("diff") or "")
    masked = ", ".join(str(p) for p in d.get("masked_changed") or [])
    if d.get("only_masked_changed"):
        click.echo(f"(the descriptors differ only in masked values: {masked})")
    elif not text:
        click.echo("(the descriptors are identical)")
    elif masked:
        click.echo(f"(masked values that changed: {masked})")
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
