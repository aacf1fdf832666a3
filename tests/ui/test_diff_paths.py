"""The diff page's fast paths: service definitions compared through the descriptors'
blocks (registry/http/views/ui/definitions.py) and the block-wise line matching
(``diffing.opcodes``), checked against what they replace."""

from __future__ import annotations

import difflib
import random

from flask.testing import FlaskClient

from registry import diffing
from registry.http.views.ui import definitions
from tests.registry.conftest import publish
from tests.ui.test_pages import get_page

DESCRIPTOR = (
    "services:\n  web:\n    image: busybox:1\n    environment:\n      A: '1'\n"
    "  'true':\n    image: busybox:1\n  db:\n    image: busybox:1\n"
    "volumes:\n  data: {}\n"
)


def test_blocks_cut_the_services_section_by_service() -> None:
    found = definitions.blocks(DESCRIPTOR)
    assert found == {
        "web": "  web:\n    image: busybox:1\n    environment:\n      A: '1'\n",
        "true": "  'true':\n    image: busybox:1\n",
        "db": "  db:\n    image: busybox:1\n",
    }
    assert definitions.blocks("services:\n  ? complex\n  : x\n") is None  # parsed whole
    assert definitions.blocks("volumes:\n  v: {}\n") is None


def test_definitions_equal_exactly_when_the_services_are() -> None:
    moved = DESCRIPTOR.replace(
        "    image: busybox:1\n    environment:\n      A: '1'\n",
        "    environment:\n      A: '1'\n    image: busybox:1\n",
    )
    changed = DESCRIPTOR.replace("A: '1'", "A: '2'")
    tagged = DESCRIPTOR.replace("      A: '1'\n", "      A: !reset null\n")
    names = ["web", "true", "db"]
    before, after = definitions.definitions(("c1", DESCRIPTOR), ("c2", moved), names)
    assert before == after  # the same keys in another order: no change
    before, after = definitions.definitions(("c1", DESCRIPTOR), ("c3", changed), names)
    assert before["web"] != after["web"] and before["db"] == after["db"]
    before, after = definitions.definitions(("c1", DESCRIPTOR), ("c4", tagged), names)
    assert before["web"] != after["web"]
    tagged_moved = moved.replace("      A: '1'\n", "      A: !reset null\n")
    before, after = definitions.definitions(("c4", tagged), ("c9", tagged_moved), names)
    assert before == after  # parsed: the same lines in another order, tags and all
    assert after["web"]["environment"] == {"A": ("!reset", "null")}
    listed = "services:\n  web:\n    ports:\n    - target: 80\n      published: 8080\n"
    swapped = "services:\n  web:\n    ports:\n    - published: 8080\n      target: 80\n"
    before, after = definitions.definitions(("c6", listed), ("c7", swapped), ["web"])
    assert before == after  # the list item's keys moved, and with them the `-`
    reordered = listed.replace(
        "target: 80\n      published: 8080", "published: 8080\n      target: 80"
    )
    flipped = "services:\n  web:\n    ports:\n    - published: 8080\n    - target: 80\n"
    before, after = definitions.definitions(("c6", listed), ("c8", flipped), ["web"])
    assert before != after  # the same lines, but two list items now: parsed, and differ
    assert reordered == swapped
    whole = "services:\n  ? web\n  : image: busybox:1\n"  # cannot be cut: parsed whole
    before, after = definitions.definitions(("c5", whole), ("c1", DESCRIPTOR), ["web"])
    assert before["web"] == {"image": "busybox:1"} and before["web"] != after["web"]


def _applies(a: list[str], b: list[str], ops: list[diffing.Opcode]) -> bool:
    i = j = 0
    out: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if (i1, j1) != (i, j) or (tag == "equal" and a[i1:i2] != b[j1:j2]):
            return False
        out += b[j1:j2]
        i, j = i2, j2
    return (i, j) == (len(a), len(b)) and out == b


def _descriptor(rng: random.Random) -> list[str]:
    lines = ["services:"]
    for n in rng.sample(range(30), rng.randint(0, 12)):
        lines += [f"  s{n}:", "    image: busybox", f"    command: run {rng.randint(0, 3)}"]
        lines += ["    environment:", f"      X: '{rng.randint(0, 2)}'"] * rng.randint(0, 1)
    if rng.random() < 0.5:
        lines += ["volumes:", "  v: {}", "x-note: |", "  text", "  more: text"]
    return lines


def test_opcodes_are_a_valid_diff_and_no_longer_than_difflibs() -> None:
    rng = random.Random(7)
    for _ in range(300):
        a, b = _descriptor(rng), _descriptor(rng)
        ops = diffing.opcodes(a, b)
        assert _applies(a, b, ops), (a, b, ops)
        changed = sum(i2 - i1 + j2 - j1 for t, i1, i2, j1, j2 in ops if t != "equal")
        plain = difflib.SequenceMatcher(None, a, b).get_opcodes()
        assert changed <= 2 * sum(i2 - i1 + j2 - j1 for t, i1, i2, j1, j2 in plain if t != "equal")
    assert diffing.opcodes([], []) == [] and diffing.side_by_side("a: 1\n", "a: 1\n") == []


def test_keys_in_another_order_are_a_rebuild_not_a_change(history: FlaskClient) -> None:
    ordered = (
        "web:\n  image: busybox:2\n  command: httpd -f -p 8080\n  environment:\n    MODE: fast\n"
    )
    moved = (
        "web:\n  environment:\n    MODE: fast\n  command: httpd -f -p 8080\n  image: busybox:2\n"
    )
    for text, number in ((ordered, 1), (moved, 2)):
        answer = publish(
            history, text, ["Order"], ["R"], component="web", build={"buildNumber": number}
        )
        assert answer.status_code == 201, answer.get_json()
    page = get_page(history, "/ui/diff?from=Order/R/1&to=Order/R/2")
    assert [r[:2] for r in page.rows("services")] == [["web", "rebuilt"]]
    data = history.get("/api/applications/Order/releases/R/diff?from=1&to=2").get_json()
    assert [s["service"] for s in data["rebuilt"]] == ["web"] and data["changed"] == []
