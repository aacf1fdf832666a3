"""The registry's HTTP blueprints. ``create_app`` registers every one in :data:`BLUEPRINTS`;
adding a blueprint is one line here."""

from __future__ import annotations

from flask import Blueprint

from registry.views.descriptors import bp as descriptors
from registry.views.discovery import bp as discovery
from registry.views.environments import bp as environments
from registry.views.find import bp as find
from registry.views.gate import bp as gate
from registry.views.git_http import bp as git_http
from registry.views.locks import bp as locks
from registry.views.lookup import bp as lookup
from registry.views.meta import bp as meta
from registry.views.monitoring import bp as monitoring
from registry.views.oci import bp as oci
from registry.views.publish import bp as publish
from registry.views.retirements import bp as retirements
from registry.views.rundeck import bp as rundeck
from registry.views.ui import bp as ui

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
    ui,
]
