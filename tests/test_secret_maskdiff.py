"""consign/secrets/maskdiff.py: two descriptors masked for a diff, a masked value that
changed listed by its path and marked ``•••••• (changed)``, never shown. Unit tests on
recorded descriptors; tests/registry/test_secrets_served.py takes them through a real
server, `consign diff` and the UI's diff page."""

from __future__ import annotations

import pytest

from consign.compose import yamlio
from consign.secrets import maskdiff
from consign.secrets.masking import MASK, UNREADABLE, shown
from registry import diffing
from tests.test_secret_literals import EACH_KIND, PASSWORD, SECRETS, _spec

PG = (
    "services:\n  pg:\n    image: postgres:16\n    environment:\n"
    "      POSTGRES_PASSWORD: {pw}\n      POSTGRES_USER: app\n"
)
OLD_PW, NEW_PW = "Tr1al-Vault-pw-0001", "Tr1al-Vault-pw-0002"
MARKED = f"{MASK} {maskdiff.CHANGED}"


def _descriptor(text: str) -> str:
    return yamlio.dump(_spec(text))


def _nowhere(*values: str, within: str) -> bool:
    return not any(v in within for v in values)


def test_a_diff_only_in_a_masked_value_says_so_by_path_and_marks_the_row() -> None:
    old, new = _descriptor(PG.format(pw=OLD_PW)), _descriptor(PG.format(pw=NEW_PW))
    shown_ = maskdiff.compare(old, new)
    assert shown_.changed == ("pg.environment.POSTGRES_PASSWORD",)
    assert shown_.only_masked
    unified = diffing.unified(shown_.old, shown_.new, "a", "b")
    assert f"+      POSTGRES_PASSWORD: {MARKED}  # " in unified
    assert f"-      POSTGRES_PASSWORD: {MASK}  # " in unified
    rows = [r for h in diffing.side_by_side(shown_.old, shown_.new) for r in h.rows]
    changed = [r for r in rows if r.kind != "equal"]
    assert len(changed) == 1 and MARKED in str(changed[0].right)
    assert MARKED not in str(changed[0].left)
    assert _nowhere(OLD_PW, NEW_PW, within=repr(shown_) + unified)


def test_other_changes_beside_a_masked_one_are_not_only_masked() -> None:
    old = _descriptor(PG.format(pw=OLD_PW))
    new = _descriptor(PG.format(pw=NEW_PW).replace("postgres:16", "postgres:17"))
    shown_ = maskdiff.compare(old, new)
    assert shown_.changed == ("pg.environment.POSTGRES_PASSWORD",) and not shown_.only_masked
    assert MARKED in shown_.new and "postgres:17" in shown_.new


def test_an_unchanged_masked_value_is_neither_listed_nor_marked() -> None:
    old = _descriptor(PG.format(pw=OLD_PW))
    new = _descriptor(PG.format(pw=OLD_PW).replace("postgres:16", "postgres:17"))
    shown_ = maskdiff.compare(old, new)
    assert shown_.changed == () and not shown_.only_masked
    assert maskdiff.CHANGED not in shown_.new and MASK in shown_.new
    same = maskdiff.compare(old, old)
    assert same == maskdiff.MaskedDiff(same.old, same.old, (), False)
    assert diffing.unified(same.old, same.new, "a", "b") == ""


def test_a_literal_turned_into_a_variable_is_listed_and_shown_as_the_variable() -> None:
    old = _descriptor(PG.format(pw=OLD_PW))
    new = _descriptor(PG.format(pw="${POSTGRES_PASSWORD}"))
    shown_ = maskdiff.compare(old, new)
    assert shown_.changed == ("pg.environment.POSTGRES_PASSWORD",) and not shown_.only_masked
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}" in shown_.new
    assert maskdiff.CHANGED not in shown_.new  # the new value is shown: nothing to mark
    back = maskdiff.compare(new, old)  # and a variable turned into a literal
    assert back.changed == ("pg.environment.POSTGRES_PASSWORD",)
    assert f"POSTGRES_PASSWORD: {MARKED}" in back.new
    assert _nowhere(OLD_PW, within=repr(shown_) + repr(back))


def test_an_added_or_removed_masked_value_is_a_line_of_its_own_not_listed() -> None:
    old = _descriptor("services:\n  pg:\n    image: postgres:16\n")
    new = _descriptor(PG.format(pw=NEW_PW))
    for a, b in ((old, new), (new, old)):
        shown_ = maskdiff.compare(a, b)
        assert shown_.changed == () and not shown_.only_masked
        assert maskdiff.CHANGED not in shown_.new
        assert diffing.unified(shown_.old, shown_.new, "a", "b")


def test_each_place_and_each_kind_is_compared_and_only_what_changed_is_marked() -> None:
    old = _descriptor(EACH_KIND)
    secret_words = {s: s[:-4] + s[-4:][::-1] for s in SECRETS if s != PASSWORD}
    changed_text = EACH_KIND
    for before, after in secret_words.items():
        changed_text = changed_text.replace(before, after)
    # the entrypoint's password only (the same password elsewhere stays)
    changed_text = changed_text.replace(
        f"run --password={PASSWORD} --verbose", "run --password=hunter3-canary --verbose"
    )
    shown_ = maskdiff.compare(old, _descriptor(changed_text))
    assert set(shown_.changed) == {
        "web.environment.AWS_ACCESS_KEY_ID",
        "web.environment.SESSION",
        "web.labels.io.example.hook",
        "web.command[2]",
        "web.command[3]",
        "worker.build.args.TLS_KEY",
        "worker.entrypoint[1]",
    }
    assert shown_.only_masked
    assert shown_.new.count(maskdiff.CHANGED) == len(shown_.changed)
    assert f"run --password={MARKED} --verbose" in shown_.new
    assert f"MYSQL_ROOT_PASSWORD: {MASK}  #" in shown_.new  # unchanged: no mark
    values = [*SECRETS, *secret_words.values(), "hunter3-canary"]
    assert _nowhere(*values, within=repr(shown_))


def test_one_word_of_a_shell_line_is_told_from_the_others_by_its_place() -> None:
    """Every word of a CMD-SHELL item has the item's path: the slot counts occurrences."""
    line = "mysqladmin -uroot --password={a} ping --password={b}"
    text = (
        "services:\n  db:\n    image: mysql:8\n    healthcheck:\n"
        '      test: ["CMD-SHELL", "{line}"]\n'
    )
    a, b = "Qx7-first-secret-pw", "Qx7-second-secret-pw"
    old = _descriptor(text.replace("{line}", line.format(a=a, b=b)))
    new = _descriptor(text.replace("{line}", line.format(a=a, b="Qx7-other-secret-pw")))
    shown_ = maskdiff.compare(old, new)
    assert shown_.changed == ("db.healthcheck.test[1]",) and shown_.only_masked
    assert f"--password={MASK} ping --password={MARKED}" in shown_.new


def test_a_variable_named_twice_in_a_list_is_compared_occurrence_by_occurrence() -> None:
    text = (
        "services:\n  app:\n    image: busybox:1.36\n    environment:\n"
        "      - API_TOKEN={a}\n      - API_TOKEN={b}\n"
    )
    a, b = "tok-Zq8wX2vB6nR4tY9uK1mL", "tok-Pq8wX2vB6nR4tY9uK1mL"
    old = maskdiff.compare(text.format(a=a, b=b), text.format(a=a, b=b + "x"))
    assert old.changed == ("app.environment.API_TOKEN",)
    assert old.new.count(MASK) == 2 and old.new.count(maskdiff.CHANGED) == 1


def test_no_value_and_no_plain_hash_of_one_is_kept() -> None:
    import hashlib

    seen = shown(_descriptor(PG.format(pw=OLD_PW)))
    plain = hashlib.sha256(OLD_PW.encode()).digest()
    assert OLD_PW not in repr(seen) and plain not in seen.digests.values()
    assert ("pg.environment.POSTGRES_PASSWORD", 0) in seen.masked


@pytest.mark.parametrize("bad", ["services: [unclosed\n  password: hunter2-canary", "[1, 2]\n"])
def test_texts_that_are_no_descriptor_compare_as_they_are_shown(bad: str) -> None:
    good = _descriptor(PG.format(pw=OLD_PW))
    for a, b in ((bad, good), (good, bad), (bad, bad)):
        shown_ = maskdiff.compare(a, b)
        assert shown_.changed == () and not shown_.only_masked
        assert "hunter2-canary" not in shown_.old + shown_.new
    assert maskdiff.compare(bad, bad).old in (UNREADABLE, bad)
