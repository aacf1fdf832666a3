"""The registry's HTTP blueprints. ``create_app`` registers every one in :data:`BLUEPRINTS`;
adding a blueprint is one line here."""

from __future__ import annotations

from flask import Blueprint

from registry.views.descriptors import bp as descriptors
from registry.views.discovery import bp as discovery
from registry.views.git_http import bp as git_http
from registry.views.meta import bp as meta
from registry.views.publish import bp as publish
from registry.views.rundeck import bp as rundeck
from registry.views.ui import bp as ui

BLUEPRINTS: list[Blueprint] = [meta, publish, descriptors, discovery, rundeck, git_http, ui]
