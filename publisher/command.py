"""`consign publish`: the CI (Bamboo) step that sends one Compose fragment to the registry.

Prints the component the fragment was filed under when the registry chose the name
(``component plex-data (derived ...)``), one line per application/release (``TLO GE / Milestone
v3 <commit> created`` or ``... unchanged`` when the registry already had this content),
warnings on stderr, and
exits ExitCode.PUBLISH_FAILED (7) with the registry's message when publishing fails, so
the build fails with it.

Every option has a CONSIGN_* environment variable. Registry, token, applications, releases
and component also fall back to Bamboo variables (``consign.registry``,
``consign.token.password``, ``consign.applications``, ``consign.releases``,
``consign.component``, seen by script tasks as ``bamboo_consign_*``), so defining them once
as global variables leaves one line per plan: ``consign publish docker-compose.yml``.

Before sending, ``--set VAR=VALUE`` / ``--interpolate`` resolve ``${VAR}`` with Compose's
rules (:mod:`consign.interpolation`) and ``--pin-images`` pins the images the agent's
engine holds (:mod:`publisher.pinning`); both rewrite only the values they change.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from consign.errors import PublishError, exits
from consign.interpolation import InterpolationError, variables
from consign.interpolation import interpolate as resolve
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from consign.registryclient.sending import PublishResult, RetryPolicy, SendFailed, send_json
from consign.secrets.detector import scan
from consign.secrets.names import is_secret_name
from publisher import failon
from publisher.attach import AttachError, env_files
from publisher.buildinfo import BuildInfoError, collect, parse_pairs
from publisher.options import retry_options
from publisher.pinning import PinError, engine_inspect
from publisher.pinning import pin_images as pin_fragment
from publisher.rewrite import RewriteError, rewrite_values


class _Listed(click.ParamType):
    """A string option whose environment variable holds a comma-separated list.

    Click splits list variables on whitespace by default, which would break `TLO GE`.
    """

    name = "text"
    envvar_list_splitter = ","

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return str(value).strip()


LISTED = _Listed()


def fragment_url(registry: str) -> str:
    """``<registry>/fragment``; ValueError unless ``registry`` is an http(s) URL with a host."""
    try:
        parts = urlsplit(registry.strip())
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad IPv6 literal or port
        usable = False
    if not usable:
        raise ValueError(
            f"--registry must be an http:// or https:// URL with a host "
            f"(e.g. http://{registry.strip() or 'registry'}), not {registry!r}"
        )
    return registry.strip().rstrip("/") + "/fragment"


def build_payload(
    text: bytes,
    applications: list[str],
    releases: list[str],
    component: str | None,
    build: dict,
    files: dict[str, str] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "fragment": base64.b64encode(text).decode("ascii"),
        "applications": applications,
        "releases": releases,
    }
    if component:
        payload["component"] = component
    if build:
        payload["build"] = build
    if files:
        payload["files"] = files
    return payload


@dataclass(frozen=True)
class Prepared:
    """The fragment as sent, and the variables left in it for the deploy host: ``left`` the
    secret-named ones, ``flagged`` the others whose value the detector flags (name -> kind)."""

    text: bytes
    left: tuple[str, ...] = ()
    flagged: dict[str, str] = field(default_factory=dict)


def prepare(text: bytes, values: dict[str, str], *, interpolate: bool) -> Prepared:
    """The fragment with variables resolved: only the ``--set`` ones, or (``interpolate``)
    every one, from ``values`` then the environment. Comments and layout are kept.

    A variable is never resolved, not even by ``--set``, when its name marks a secret
    (:func:`consign.secrets.names.is_secret_name`: ``DB_PASSWORD``, ``API_TOKEN``) or when
    its value looks like one to the one detector (:func:`consign.secrets.detector.scan`:
    ``GITHUB_PAT=ghp_...``): a CI agent's secret baked into the fragment would sit in the
    registry's history for every reader. It stays ``${VAR}`` for the deploy host; ``left``
    and ``flagged`` name it (the value itself is never kept or said)."""
    if not values and not interpolate:
        return Prepared(text)

    def lookup(name: str) -> str | None:
        return values[name] if name in values else os.environ.get(name)

    problems: list[str] = []
    left: dict[str, None] = {}
    flagged: dict[str, str] = {}

    def looks_secret(name: str) -> bool:
        if name not in flagged:
            value = lookup(name)
            kinds = scan(value, key=name) if value is not None else ()
            if not kinds:
                return False
            flagged[name] = kinds[0]
        return True

    def change(value: str) -> str:
        try:
            present = variables(value)
            wanted = present if interpolate else [n for n in values if n in present]
            secret = [n for n in wanted if is_secret_name(n)]
            left.update(dict.fromkeys(secret))
            only = {n for n in wanted if n not in secret and not looks_secret(n)}
            return resolve(value, lookup, only=only)
        except InterpolationError as e:
            problems.append(str(e))
            return value

    resolved = rewrite_values(text.decode("utf-8"), change)
    if problems:
        raise InterpolationError("; ".join(dict.fromkeys(problems)))
    return Prepared(resolved.encode("utf-8"), tuple(left), flagged)


#: Why a variable was left, when its name marks a secret.
SECRET_NAME = "the name marks a secret (CONSIGN_SECRET_NAMES)"


def left_line(left: tuple[str, ...], why: str = SECRET_NAME) -> str:
    """What the command says about variables it did not resolve, and why."""
    names = ", ".join(f"${{{n}}}" for n in left)
    return (
        f"left {names} for the deploy host to resolve: {why}, "
        "so it is not baked into the registry's history"
    )


def left_lines(prepared: Prepared) -> list[str]:
    """Every line the command says about what ``prepare`` left: the secret-named variables
    together, then each variable whose value the detector flagged, with the kind found."""
    lines = [left_line(prepared.left)] if prepared.left else []
    for name, kind in prepared.flagged.items():
        lines.append(left_line((name,), f"its value looks like a secret ({kind})"))
    return lines


def component_line(result: PublishResult, explicit: str | None) -> str | None:
    """Which component the registry filed this fragment under, when it chose the name."""
    names = list(dict.fromkeys(str(v.get("component")) for v in result.body.get("versions") or []))
    if explicit or not names:
        return None
    return (
        f"component {', '.join(names)} (derived by the registry: the component owning these "
        "services, else the first service; name it with --component)"
    )


def report_lines(result: PublishResult) -> tuple[list[str], list[str]]:
    """(lines for stdout, warnings for stderr) from the registry's answer."""
    lines: list[str] = []
    warnings = [str(w) for w in result.body.get("warnings") or []]
    for item in result.body.get("versions") or []:
        created = item.get("created", result.status == 201)
        state = "created" if created else "unchanged"
        lines.append(
            f"{item.get('application')} / {item.get('release')} v{item.get('version')} "
            f"{item.get('commit', '')} {state}"
        )
        warnings.extend(str(w) for w in item.get("warnings") or [])
    return lines, failon.without_repeats(warnings)


def _fail_on_kinds(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[failon.Kind, ...]:
    """--fail-on's names as kinds; an unknown one is a usage error (exit 2) before sending."""
    try:
        return failon.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from e


@click.command("publish")
@click.argument("compose_file", envvar="CONSIGN_COMPOSE_FILE", type=click.Path(dir_okay=False))
@click.option(
    "-a",
    "--application",
    "applications",
    multiple=True,
    required=True,
    type=LISTED,
    envvar=["CONSIGN_APPLICATIONS", "bamboo_consign_applications"],
    help="Application to publish to (repeat; env: comma-separated).",
)
@click.option(
    "-r",
    "--release",
    "releases",
    multiple=True,
    required=True,
    type=LISTED,
    envvar=["CONSIGN_RELEASES", "bamboo_consign_releases"],
    help="Release to publish to (repeat; env: comma-separated).",
)
@click.option(
    "-c",
    "--component",
    envvar=["CONSIGN_COMPONENT", "bamboo_consign_component"],
    default=None,
    help="Component name (default: the one that owns these services, or the first service).",
)
@click.option(
    "--registry",
    envvar=["CONSIGN_REGISTRY", "bamboo_consign_registry"],
    required=True,
    type=REGISTRY_URL,
    help="Registry base URL (http:// or https://).",
)
@click.option(
    "--token",
    envvar=["CONSIGN_TOKEN", "bamboo_consign_token_password"],
    default=None,
    show_default=False,
    help="Publish token; set CONSIGN_TOKEN rather than passing it on the command line.",
)
@click.option(
    "--build-info",
    "build_info",
    multiple=True,
    type=LISTED,
    envvar="CONSIGN_BUILD_INFO",
    help="Extra provenance KEY=VALUE (repeat); overrides Bamboo's variables.",
)
@click.option(
    "--image-digest",
    "image_digests",
    multiple=True,
    type=LISTED,
    envvar="CONSIGN_IMAGE_DIGESTS",
    help="IMAGE@sha256:HEX or NAME=sha256:HEX (repeat).",
)
@retry_options("publish")
@click.option(
    "--with-env-files",
    "with_env_files",
    is_flag=True,
    envvar="CONSIGN_WITH_ENV_FILES",
    help="Attach the env files the fragment names (env_file:), read next to it. Env files "
    "often hold secrets: they are then stored in the registry and served to its readers. "
    "Without this flag they must exist on the deploy host.",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    type=LISTED,
    envvar="CONSIGN_SET",
    help="VAR=VALUE: resolve ${VAR} in the fragment before publishing (repeat).",
)
@click.option(
    "--interpolate/--no-interpolate",
    envvar="CONSIGN_INTERPOLATE",
    default=False,
    help="Resolve every ${VAR} with Compose's rules from --set, then the environment "
    "(Bamboo's bamboo_*); an unset variable without a default fails the publish. A name "
    "marking a secret (password, secret, passphrase, token, key, credential; "
    "CONSIGN_SECRET_NAMES) or a value the secret detector flags is never resolved, by this "
    "or --set: it stays ${VAR} for the deploy host.",
)
@click.option(
    "--pin-images/--no-pin-images",
    envvar="CONSIGN_PIN_IMAGES",
    default=False,
    help="Ask the Docker Engine for each service image: pin its registry digest "
    "(name:tag@sha256:...), else record its local image ID in the provenance.",
)
@ca_file_option
@click.option(
    "--fail-on",
    "fail_on",
    metavar="KIND[,KIND...]",
    multiple=True,
    type=LISTED,
    envvar=["CONSIGN_FAIL_ON", "bamboo_consign_fail_on"],
    callback=_fail_on_kinds,
    help=failon.help_text(),
)
@exits()
def publish(
    compose_file: str,
    applications: tuple[str, ...],
    releases: tuple[str, ...],
    component: str | None,
    registry: str,
    token: str | None,
    build_info: tuple[str, ...],
    image_digests: tuple[str, ...],
    assignments: tuple[str, ...],
    interpolate: bool,
    pin_images: bool,
    attempts: int,
    backoff: float,
    timeout: float,
    with_env_files: bool,
    ca_file: str | None,
    fail_on: tuple[failon.Kind, ...],
) -> None:
    """Publish COMPOSE_FILE as a fragment of every APPLICATION x RELEASE.

    Bamboo's build variables (bamboo_planKey, bamboo_buildNumber, bamboo_buildResultsUrl,
    bamboo_planRepository_revision, ...) are sent as the fragment's provenance.
    """

    with _one_line_failures():
        _publish(
            Publication(
                compose_file=compose_file,
                applications=list(applications),
                releases=list(releases),
                component=component,
                build=_collect_build(build_info, image_digests),
                how=Preparation(assignments, interpolate, pin_images, with_env_files),
                registry=registry,
                token=token or None,
                policy=RetryPolicy(attempts=attempts, backoff=backoff, timeout=timeout),
                ca_file=ca_file,
                fail_on=fail_on,
            )
        )


@dataclass(frozen=True)
class Preparation:
    """What is done to the fragment before it is sent (each a `consign publish` option)."""

    assignments: tuple[str, ...]  # --set VAR=VALUE
    interpolate: bool  # --interpolate
    pin_images: bool  # --pin-images
    with_env_files: bool  # --with-env-files


@dataclass(frozen=True)
class Publication:
    """One `consign publish`: the fragment, its targets and provenance, how it is prepared,
    and where and how it is sent."""

    compose_file: str
    applications: list[str]
    releases: list[str]
    component: str | None
    build: dict[str, Any]
    how: Preparation
    registry: str
    token: str | None
    policy: RetryPolicy
    ca_file: str | None
    fail_on: tuple[failon.Kind, ...] = ()


@contextmanager
def _one_line_failures() -> Iterator[None]:
    """Every failure becomes a PublishError (exit 7, one line through consign.errors):
    whatever the registry or a library said, never a traceback."""
    try:
        yield
    except PublishError as e:
        raise PublishError(" ".join(str(e).split())) from e
    except Exception as e:
        raise PublishError(" ".join(f"unexpected error: {type(e).__name__}: {e}".split())) from e


def _collect_build(build_info: tuple[str, ...], image_digests: tuple[str, ...]) -> dict[str, Any]:
    try:
        return collect(os.environ, build_info, image_digests)
    except BuildInfoError as e:
        raise PublishError(str(e)) from e


def _publish(job: Publication) -> None:
    compose_file, build, how = job.compose_file, dict(job.build), job.how

    def fail(message: str) -> NoReturn:
        raise PublishError(message)

    try:
        url = fragment_url(job.registry)
    except ValueError as e:
        fail(str(e))
    try:
        text = Path(compose_file).read_bytes()
    except OSError as e:
        fail(f"cannot read {compose_file}: {e.strerror or e}")
    try:
        values = parse_pairs(how.assignments, option="--set")
    except BuildInfoError as e:
        fail(str(e))
    try:
        prepared = prepare(text, values, interpolate=how.interpolate)
        text = prepared.text
        for line in left_lines(prepared):
            click.echo(f"warning: {line}", err=True)
        if how.pin_images:
            pinned, images, notes = pin_fragment(text.decode("utf-8"), engine_inspect())
            text = pinned.encode("utf-8")
            build["images"] = {**(build.get("images") or {}), **images}
            for note in notes:
                click.echo(note, err=True)
    except (InterpolationError, RewriteError, PinError, UnicodeDecodeError) as e:
        fail(f"{compose_file}: {e}")
    files: dict[str, str] = {}
    if how.with_env_files:
        try:
            files = env_files(Path(compose_file), text.decode("utf-8", "replace"))
        except AttachError as e:
            fail(f"cannot attach the env files of {compose_file}: {e}")
    payload = build_payload(text, job.applications, job.releases, job.component, build, files)
    try:
        result = send_json(
            "PUT",
            url,
            payload,
            token=job.token,
            policy=job.policy,
            warn=lambda m: click.echo(f"warning: {m}", err=True),
            ca_file=job.ca_file,
        )
    except SendFailed as e:
        fail(f"publishing {compose_file} to {job.registry} failed: {e.message}")
    lines, warnings = report_lines(result)
    derived = component_line(result, job.component)
    if derived:
        click.echo(derived)
    for line in lines:
        click.echo(line)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if not how.with_env_files and any("was not attached" in w for w in warnings):
        click.echo(
            "hint: --with-env-files attaches them (they are then stored in the registry; env "
            "files often hold secrets)",
            err=True,
        )
    failing = failon.reasons(result.body, job.fail_on)
    for line in failing:
        click.echo(line, err=True)
    if failing:
        chosen = ",".join(k.name for k in job.fail_on)
        fail(f"published, but the version carries what --fail-on {chosen} fails the build on")
