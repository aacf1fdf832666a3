"""The registry's HTTP blueprints. ``create_app`` registers every one in :data:`BLUEPRINTS`;
adding a blueprint is one line here."""

from __future__ import annotations

from flask import Blueprint

from registry.http.views.descriptors import bp as descriptors
from registry.http.views.discovery import bp as discovery
from registry.http.views.environments import bp as environments
from registry.http.views.find import bp as find
from registry.http.views.gate import bp as gate
from registry.http.views.git_http import bp as git_http
from registry.http.views.locks import bp as locks
from registry.http.views.lookup import bp as lookup
from registry.http.views.meta import bp as meta
from registry.http.views.monitoring import bp as monitoring
from registry.http.views.oci import bp as oci
from registry.http.views.publish import bp as publish
from registry.http.views.retirements import bp as retirements
from registry.http.views.rundeck import bp as rundeck
from registry.http.views.ui import bp as ui
from registry.http.views.webhooks import bp as webhooks

BLUEPRINTS: list[Blueprint] = [
    meta,
    lookup,
    publish,
    descriptors,
    discovery,
    rundeck,
    git_http,
    monitoring,
    gate,
    environments,
    find,
    locks,
    retirements,
    oci,
    webhooks,
    ui,
]
