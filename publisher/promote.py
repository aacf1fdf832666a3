"""`consign promote`: move a verified version of one release into the next, through the gate.

``consign promote 'TLO GE' --from-release Milestone --version 41 --to-release QA`` asks the
registry (``POST .../releases/QA/promotions``) to make the next QA version from Milestone
#41: the same descriptor and fragments, byte for byte. Prints ``TLO GE / QA v7 <commit>
created (from TLO GE / Milestone v41)``, or ``unchanged`` when QA's latest already came from
it (retries are safe, so connection errors and 5xx are retried like a publish).

A target release that does not exist yet is refused (exit 7, naming the existing releases
closest in spelling: ``Qa`` -> ``did you mean 'QA'?``) unless ``--create-release``
(``CONSIGN_CREATE_RELEASE``) says to create it: a misspelt name must not make a release
with no policy.

Exit codes (consign/exit_codes.py): 0 promoted or already there; 7 (PUBLISH_FAILED) the
registry refused: the gate's reasons are printed one a line (a rejected version, an unmet
policy, 423 a frozen release, 401/403 the token); 5 (REGISTRY_UNREACHABLE) the registry
did not answer, or has no such application, release or version. Every option has a
CONSIGN_* variable; the token should come from CONSIGN_TOKEN.
"""

from __future__ import annotations

import getpass
from typing import Any
from urllib.parse import quote

import click

from consign.errors import ConsignError, PromoteRefused, RegistryUnreachable, exits
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from consign.registryclient.sending import RetryPolicy, SendFailed, is_version, send_json
from consign.textclip import clip_utf8
from publisher.options import retry_options


def promotions_url(registry: str, application: str, release: str) -> str:
    app, rel = quote(application, safe=""), quote(release, safe="")
    return f"{registry.rstrip('/')}/api/applications/{app}/releases/{rel}/promotions"


def failure_kind(failure: SendFailed) -> type[ConsignError]:
    """Unreachable, a server error, or nothing to promote: 5; any other refusal: 7."""
    if failure.status is None or failure.status >= 500 or failure.status == 404:
        return RegistryUnreachable
    return PromoteRefused


def _default_by() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


@click.command("promote")
@click.argument("application", envvar="CONSIGN_APPLICATION")
@click.option(
    "--from-release",
    envvar="CONSIGN_FROM_RELEASE",
    required=True,
    help="The release the version is in now.",
)
@click.option(
    "--version",
    "version",
    envvar="CONSIGN_VERSION",
    required=True,
    type=click.IntRange(1),
    help="The version number to promote.",
)
@click.option(
    "--to-release",
    envvar="CONSIGN_TO_RELEASE",
    required=True,
    help="The release it moves into (an existing one, unless --create-release).",
)
@click.option(
    "--create-release",
    "create_release",
    envvar="CONSIGN_CREATE_RELEASE",
    is_flag=True,
    default=False,
    help="Create TO_RELEASE when it does not exist yet (without it, a missing release is "
    "refused, naming the existing ones closest in spelling).",
)
@click.option(
    "--from-application",
    envvar="CONSIGN_FROM_APPLICATION",
    default=None,
    help="The source application, when it is not APPLICATION.",
)
@click.option(
    "--registry",
    envvar="CONSIGN_REGISTRY",
    required=True,
    type=REGISTRY_URL,
    help="Registry base URL (http:// or https://).",
)
@click.option(
    "--token",
    envvar="CONSIGN_TOKEN",
    default=None,
    help="A release-role token; set CONSIGN_TOKEN rather than passing it on the command line.",
)
@click.option(
    "--by",
    envvar="CONSIGN_BY",
    default=_default_by,
    show_default="the login name",
    help="Who promotes (recorded beside the token's identity).",
)
@ca_file_option
@retry_options("promote")
@exits()
def promote(
    application: str,
    from_release: str,
    version: int,
    to_release: str,
    create_release: bool,
    from_application: str | None,
    registry: str,
    token: str | None,
    by: str,
    ca_file: str | None,
    attempts: int,
    backoff: float,
    timeout: float,
) -> None:
    """Promote version VERSION of APPLICATION's FROM_RELEASE into TO_RELEASE."""
    payload: dict[str, Any] = {"from_release": from_release, "version": version}
    if from_application:
        payload["from_application"] = from_application
    if create_release:
        payload["create"] = True
    if by:
        payload["by"] = clip_utf8(by, 200)
    source = f"{from_application or application} / {from_release} v{version}"
    try:
        result = send_json(
            "POST",
            promotions_url(registry, application, to_release),
            payload,
            token=token or None,
            policy=RetryPolicy(attempts=attempts, backoff=backoff, timeout=timeout),
            warn=lambda m: click.echo(f"warning: {m}", err=True),
            agent="consign-promote/0.1",
            expect=is_version,
            expected="a version (the registry's promotion answer)",
            ca_file=ca_file,
        )
    except SendFailed as e:
        for reason in e.body.get("unmet") or []:
            click.echo(f"  - {reason}", err=True)
        if e.body.get("error") == "release_missing":
            click.echo(
                f"  to create the release {to_release!r}, promote again with --create-release",
                err=True,
            )
        raise failure_kind(e)(f"{source} -> {to_release} failed: {e.message}") from None
    body = result.body
    state = "created" if result.status == 201 else "unchanged"
    click.echo(
        f"{body.get('application')} / {body.get('release')} v{body.get('version')} "
        f"{body.get('commit', '')} {state} (from {source})"
    )
    for warning in body.get("warnings") or []:
        click.echo(f"warning: {warning}", err=True)
