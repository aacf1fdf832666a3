"""The UI's diff page when two versions differ in a masked value (consign/secrets/maskdiff.py):
the page names the path, marks the row ``•••••• (changed)`` and shows no value. Through the
app's test client and the HTML checker; the served test is
tests/registry/test_secrets_served.py."""

from __future__ import annotations

from flask.testing import FlaskClient

from consign.secrets.masker import MASK
from tests.registry.conftest import publish
from tests.ui.test_pages import get_page

FRAGMENT = (
    "services:\n  pg:\n    image: postgres:{tag}\n    environment:\n"
    "      POSTGRES_PASSWORD: {pw}\n      POSTGRES_USER: app\n"
)
PASSWORDS = ("Tr1al-Vault-pw-0001", "Tr1al-Vault-pw-0002")


def test_the_diff_page_names_a_changed_masked_value_and_marks_its_row(
    client: FlaskClient,
) -> None:
    for tag, pw in (("16", PASSWORDS[0]), ("16", PASSWORDS[1]), ("17", PASSWORDS[0])):
        answer = publish(client, FRAGMENT.format(tag=tag, pw=pw), ["Vault"], ["Dev"])
        assert answer.status_code in (200, 201), answer.get_json()
    page = get_page(client, "/ui/diff?to=Vault/Dev/2")
    words = page.words()
    assert (
        "The descriptors differ only in masked values: pg.environment.POSTGRES_PASSWORD." in words
    )
    assert "identical" not in words
    rows = [r for r in page.rows("sbs") if len(r) == 4]
    changed = [r for r in rows if r[1] != r[3]]
    assert len(changed) == 1
    assert changed[0][1].lstrip().startswith(f"POSTGRES_PASSWORD: {MASK}  #")
    assert changed[0][3].lstrip().startswith(f"POSTGRES_PASSWORD: {MASK} (changed)  #")
    beside = get_page(client, "/ui/diff?to=Vault/Dev/3")
    assert "Masked values that changed: pg.environment.POSTGRES_PASSWORD." in beside.words()
    unchanged = get_page(client, "/ui/diff?from=Vault/Dev/1&to=Vault/Dev/3")
    assert "masked values" not in unchanged.words().lower()
    for shown in (page, beside, unchanged):
        for pw in PASSWORDS:
            assert pw not in shown.words()
