"""`consign environment retire|restore`: an environment that is gone leaves the lists.

``consign environment retire vm-shop-dev --reason "VM deleted" --registry URL`` asks the
registry (``POST /api/environments/vm-shop-dev/retirement``, role ``report``: the token the
deployer reports with) to retire it: it leaves ``GET /api/environments``, the Rundeck
environments option, the UI's matrix and "where it runs"; its history stays readable and
the retirement is recorded with who and why. ``restore`` (``DELETE``) puts it back. Both are
safe to retry (retiring a retired environment changes nothing), so connection errors and
5xx are retried like a publish.

Exit codes: 0 done (or already so); 7 the registry refused (an environment it never heard
of, a missing reason, the token); 5 it could not be reached. Every option has a CONSIGN_*
variable; the token should come from CONSIGN_TOKEN.
"""

from __future__ import annotations

import getpass
from typing import Any
from urllib.parse import quote, urlencode

import click

from consign.errors import ConsignError, EnvironmentChangeRefused, RegistryUnreachable, exits
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from consign.registryclient.sending import RetryPolicy, SendFailed, send_json
from consign.textclip import clip_utf8
from publisher.options import retry_options


def retirement_url(registry: str, environment: str, query: dict[str, str] | None = None) -> str:
    url = f"{registry.rstrip('/')}/api/environments/{quote(environment, safe='')}/retirement"
    return url + (f"?{urlencode(query)}" if query else "")


def _default_by() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _is_answer(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("environment"), str)


def _failure(e: SendFailed) -> type[ConsignError]:
    if e.status is None or e.status >= 500:
        return RegistryUnreachable
    return EnvironmentChangeRefused


def _common(function: Any) -> Any:
    for option in reversed(
        [
            click.argument("name", envvar="CONSIGN_ENVIRONMENT"),
            click.option(
                "--registry",
                envvar="CONSIGN_REGISTRY",
                required=True,
                type=REGISTRY_URL,
                help="Registry base URL (http:// or https://).",
            ),
            click.option(
                "--token",
                envvar="CONSIGN_TOKEN",
                default=None,
                help="A report-role token; set CONSIGN_TOKEN rather than passing it here.",
            ),
            click.option(
                "--by",
                envvar="CONSIGN_BY",
                default=_default_by,
                show_default="the login name",
                help="Who does it (recorded beside the token's identity).",
            ),
            ca_file_option,
        ]
    ):
        function = option(function)
    return function


def _send(
    method: str,
    url: str,
    payload: dict[str, Any],
    token: str | None,
    policy: RetryPolicy,
    ca_file: str | None,
) -> dict[str, Any]:
    return send_json(
        method,
        url,
        payload,
        token=token or None,
        policy=policy,
        warn=lambda m: click.echo(f"warning: {m}", err=True),
        agent="consign-environment/0.1",
        expect=_is_answer,
        expected="an environment's retirement answer",
        ca_file=ca_file,
    ).body


@click.group("environment")
def environment() -> None:
    """Retire an environment that is gone, or restore one."""


@environment.command("retire")
@_common
@click.option(
    "--reason",
    envvar="CONSIGN_REASON",
    required=True,
    help="Why (recorded with the retirement, shown on its page).",
)
@retry_options("environment")
@exits()
def retire(
    name: str,
    registry: str,
    token: str | None,
    by: str,
    ca_file: str | None,
    reason: str,
    attempts: int,
    backoff: float,
    timeout: float,
) -> None:
    """Retire NAME: it leaves every list; its history stays; `restore` brings it back."""
    policy = RetryPolicy(attempts=attempts, backoff=backoff, timeout=timeout)
    try:
        body = _send(
            "POST",
            retirement_url(registry, name),
            {"by": clip_utf8(by, 200), "reason": reason},
            token,
            policy,
            ca_file,
        )
    except SendFailed as e:
        raise _failure(e)(f"cannot retire {name}: {e.message}") from None
    retired = body.get("retired") or {}
    who = retired.get("identity") or retired.get("by") or "?"
    state = "retired" if body.get("created") else "was already retired"
    click.echo(f"{name} {state} by {who} at {retired.get('at')}: {retired.get('reason')}")


@environment.command("restore")
@_common
@click.option(
    "--reason",
    envvar="CONSIGN_REASON",
    default="",
    help="Why it is back (optional; recorded).",
)
@retry_options("environment")
@exits()
def restore(
    name: str,
    registry: str,
    token: str | None,
    by: str,
    ca_file: str | None,
    reason: str,
    attempts: int,
    backoff: float,
    timeout: float,
) -> None:
    """Put NAME back in service (in the lists again)."""
    policy = RetryPolicy(attempts=attempts, backoff=backoff, timeout=timeout)
    query = {"by": clip_utf8(by, 200)} | ({"reason": reason} if reason else {})
    try:
        body = _send("DELETE", retirement_url(registry, name, query), {}, token, policy, ca_file)
    except SendFailed as e:
        raise _failure(e)(f"cannot restore {name}: {e.message}") from None
    lifted = body.get("restored")
    if lifted:
        was = lifted.get("identity") or lifted.get("by") or "?"
        click.echo(f"{name} restored (it was retired by {was} at {lifted.get('at')})")
    else:
        click.echo(f"{name} was not retired: nothing changed")
