"""The environment pages: the matrix of every environment against every application/release,
and one environment (what runs, service by service, and its deployment timeline)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue

from consign import builds
from registry.http.storage import get_store
from registry.http.views.ui import badges, links
from registry.http.views.ui.blueprint import bp
from registry.http.views.ui.pages import page_args, pager
from registry.store import DeploymentRecord


def failing(record: DeploymentRecord) -> list[Any]:
    """The services a failed record blames: those with a failed verdict (never an ok one,
    such as a one-shot that completed, nor one still pending)."""
    return [s for s in record.services if badges.is_failure(s.verdict)]


HELPERS = {
    "failing": failing,
    "describe": builds.describe,
}


@bp.get("/ui/environments")
def environments() -> ResponseReturnValue:
    """Rows: environments in service; columns: every application/release deployed in one;
    the retired environments listed below, by name."""
    store = get_store()
    states = store.in_service()
    columns = sorted({(r.application, r.release) for s in states for r in s.deployed})
    cells = [
        (
            state,
            [
                next((r for r in state.deployed if (r.application, r.release) == c), None)
                for c in columns
            ],
        )
        for state in states
    ]
    return render_template(
        "ui/environments.html",
        columns=columns,
        cells=cells,
        retired=store.retirements(),
        **HELPERS,
    )


@bp.get("/ui/environments/<environment>")
def environment(environment: str) -> ResponseReturnValue:
    """What runs (service by service) and the timeline, newest first, paged by ``seq``."""
    limit, before = page_args()
    store = get_store()
    state = store.environment(environment)
    history = store.deployments(environment, limit=limit, before=before)
    newer, older, query = pager([r.seq for r in history], state.deployments, limit, before)
    drift = store.drift(environment)
    return render_template(
        "ui/environment.html",
        state=state,
        retired=store.retirement(environment),
        retirements=store.retirement_history(environment),
        drift=drift,
        drifted=[  # (its place among what runs, for the link to its section; the record)
            (i, r) for i, r in enumerate(state.deployed, 1) if (r.application, r.release) in drift
        ],
        history=history,
        newer=newer,
        older=older,
        json_url=links.api("/api/environments/{}", environment),
        history_url=links.api("/api/environments/{}/deployments", environment, query=query),
        **HELPERS,
    )
