"""The ground floor's Compose errors (consign.compose.errors) as the registry answers them.

:func:`registry.errors.from_compose` is the one map to HTTP; both error handlers (the JSON
API's and the web UI's) use it. Through a real ``consign serve``, each kind of Compose error
answers what it answered when the Compose code lived in the registry (status, code, message,
details such as a YAML error's line and column).
"""

from __future__ import annotations

import pytest
import requests

from consign.compose.errors import ComposeError, InvalidFragment, InvalidInput, InvalidName
from registry.errors import RegistryError, from_compose
from tests.registry.conftest import b64
from tests.serving import ServedRegistry


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidFragment("bad", details={"line": 3, "column": 1}), 422, "invalid_fragment"),
        (InvalidInput("bad", details={"field": "files"}), 400, "bad_request"),
        (InvalidName("bad", details={"field": "component"}), 400, "invalid_name"),
        (ComposeError("bad"), 400, "invalid_compose"),
    ],
)
def test_each_compose_error_has_one_answer(error: ComposeError, status: int, code: str) -> None:
    answer = from_compose(error)
    assert isinstance(answer, RegistryError)
    assert (answer.status, answer.error, answer.message) == (status, code, "bad")
    assert answer.to_json() == {"error": code, "message": "bad", **error.details}


def test_compose_errors_carry_no_http() -> None:
    for cls in (ComposeError, InvalidFragment, InvalidInput, InvalidName):
        assert not issubclass(cls, RegistryError)
        assert not hasattr(cls, "status")


def put(served: ServedRegistry, **body: object) -> requests.Response:
    full = {"applications": ["A"], "releases": ["R"], **body}
    return requests.put(f"{served.url}/fragment", json=full, timeout=30, verify=served.verify)


GOOD = "services:\n  web:\n    image: nginx:1\n    env_file: a.env\n"


def test_the_served_registry_answers_compose_errors_as_before(served: ServedRegistry) -> None:
    answer = put(served, fragment=b64("services:\n  web: [\n"))
    assert answer.status_code == 422
    assert answer.json() == {
        "error": "invalid_fragment",
        "message": "YAML syntax error at line 3, column 1: expected the node content, but "
        "found '<stream end>'",
        "line": 3,
        "column": 1,
    }
    answer = put(served, fragment=b64("services:\n  web:\n    image: x\n    tty: maybe\n"))
    assert answer.status_code == 422
    assert answer.json()["violations"] == [
        {
            "path": "services.web.tty",
            "message": "'maybe' is not true or false (also yes/no, on/off, y/n)",
        }
    ]
    answer = put(served, fragment=b64(GOOD), applications=["a/b"])
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_name",
        "message": "applications[0] 'a/b' must not contain '/'",
        "field": "applications[0]",
    }
    answer = put(served, fragment=b64(GOOD), files={"other.env": b64("A=1")})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "bad_request",
        "message": "files: 'other.env' is attached but no service of the fragment names it "
        "in 'env_file'",
        "field": "files",
        "path": "other.env",
    }


def test_the_web_ui_shows_a_compose_error_as_a_page(served: ServedRegistry) -> None:
    page = requests.get(
        f"{served.url}/ui/applications/%00/releases/R", timeout=30, verify=served.verify
    )
    assert page.status_code == 400
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<h1>Bad request</h1>" in page.text
    assert "contains the control character U+0000 at position 0" in page.text
