"""The detector on the corpus's real Compose files (CONSIGN_SHARED): every finding is listed
in tests/data/secrets/corpus_findings.tsv with a verdict looked at by eye (``true``: a
literal secret, weak or not; ``false``: a false alarm). A changed configuration that finds
more or fewer fails here, so each new finding gets a verdict; false alarms worth fixing are
fixed in consign/secrets/detector.py (paths such as ``/run/secrets/db-password``, ``yes``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from consign.compose.errors import InvalidFragment
from consign.compose.fragments import parse_fragment
from consign.secrets import findings
from tests.conftest import CORPUS

LISTED = Path(__file__).resolve().parents[1] / "data" / "secrets" / "corpus_findings.tsv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_the_corpus_findings_are_the_listed_ones_and_none_is_a_false_alarm() -> None:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        pytest.skip(f"no corpus at {CORPUS} (set CONSIGN_SHARED)")
    found: list[tuple[str, str]] = []
    scanned = 0
    for row in _rows(manifest):
        try:
            spec, _ = parse_fragment((CORPUS / row["file"]).read_text())
        except (InvalidFragment, UnicodeDecodeError):
            continue  # refused fragments are tests/registry/test_corpus.py's subject
        scanned += 1
        found += [(row["file"], f.describe()) for f in findings.in_spec(spec)]
    listed = _rows(LISTED)
    assert scanned > 100
    assert sorted(found) == sorted((r["file"], r["finding"]) for r in listed)
    assert {r["verdict"] for r in listed} <= {"true", "false"}
    assert [r for r in listed if r["verdict"] == "false"] == []
