"""URLs the pages link to: the UI's own (a name converter that survives browsers), the JSON
behind each page, and the configurable Rundeck deploy link (a build's CI result link:
:func:`consign.builds.web_url`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from flask import request
from werkzeug.routing import BaseConverter

from consign.builds import web_url
from registry.http.views.descriptors import _segment as segment

RUNDECK_FIELDS = ("application", "release", "version")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def name_segment(value: str) -> str:
    """An application, release or component name as one path segment of a UI URL.

    Browsers resolve ``.`` and ``..`` segments, even percent-encoded (``%2E%2E``), before
    they send a request, so such a name gets a ``~`` in front (``~..``); a name that itself
    starts with ``~`` gets one more, which keeps the mapping reversible."""
    encoded = quote(value, safe="")
    if encoded.startswith("~") or encoded in (".", ".."):
        return "~" + encoded
    return encoded


class NameConverter(BaseConverter):
    """``<name:...>`` in the UI's routes: :func:`name_segment` and back."""

    regex = "[^/]+"

    def to_url(self, value: str) -> str:
        return name_segment(value)

    def to_python(self, value: str) -> str:
        return value[1:] if value.startswith("~") else value


# The UI's own links, built by hand: a page of 50 components or 20 versions has a hundred of
# them, and url_for with query arguments costs ~0.1 ms each. They match the routes in
# pages.py and compare.py (tests/ui/test_pages.py follows every link it renders).
def ui_release(application: str, release: str, **query: Any) -> str:
    path = f"/ui/applications/{name_segment(application)}/releases/{name_segment(release)}"
    return request.script_root + path + (f"?{urlencode(query)}" if query else "")


def ui_version(application: str, release: str, number: int) -> str:
    return ui_release(application, release) + f"/versions/{number}"


def ui_environment(environment: str, **query: Any) -> str:
    path = f"/ui/environments/{quote(environment, safe='')}"
    return request.script_root + path + (f"?{urlencode(query)}" if query else "")


def ui_diff(old: str, new: str) -> str:
    """``old`` and ``new`` as ``APPLICATION/RELEASE/VERSION``."""
    return request.script_root + "/ui/diff?" + urlencode({"from": old, "to": new})


def ui_find(component: str, build: str, **query: Any) -> str:
    return (
        request.script_root
        + "/ui/find?"
        + urlencode({"component": component, "build": build, **query})
    )


def api(path: str, *names: str, query: str = "") -> str:
    """A JSON API URL: ``path`` with ``{}`` for each name, encoded as one segment."""
    return path.format(*(segment(n) for n in names)) + (f"?{query}" if query else "")


def release_api(application: str, release: str) -> str:
    return api("/api/applications/{}/releases/{}", application, release)


def descriptor(application: str, release: str, number: int) -> str:
    return api("/descriptor/application/{}/{}/", application, release) + str(number)


def check_rundeck_template(template: str) -> None:
    """Refuse (at startup) a template that is not an http(s) URL or has unknown fields."""
    if not template:
        return
    unknown = [f for f in _PLACEHOLDER.findall(template) if f not in RUNDECK_FIELDS]
    if unknown:
        raise ValueError(
            f"CONSIGN_UI_RUNDECK_URL_TEMPLATE: unknown placeholder {{{unknown[0]}}} "
            f"(known: {', '.join('{' + f + '}' for f in RUNDECK_FIELDS)})"
        )
    if web_url(_PLACEHOLDER.sub("x", template)) is None:
        raise ValueError("CONSIGN_UI_RUNDECK_URL_TEMPLATE must be an http(s) URL")


def rundeck(template: str, application: str, release: str, number: int) -> str | None:
    """The deploy job's URL with the three fields filled in, each URL-encoded."""
    if not template:
        return None
    values = {"application": application, "release": release, "version": str(number)}
    return _PLACEHOLDER.sub(lambda m: quote(values[m.group(1)], safe=""), template)


def git_url() -> str:
    return request.root_url + "git"
