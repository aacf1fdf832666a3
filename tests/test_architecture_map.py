"""docs/ARCHITECTURE.md's "Packages" map is the one map of the code, and it stays true.

The map is the first fenced block under ``## Packages``. An entry is a line that starts in
the first column with a repository-relative path: a module (``registry/http/app.py``), a
package or other folder (``registry/http/``, ending in ``/``) or another file the code reads
(``registry/http/openapi.json``); lines that start with a space continue the entry above.
The test fails, listing exactly what is wrong, when an entry names nothing that exists, when
a path is listed twice, when a package or a module under the roots is not listed, or when an
entry comes before the entry of the package holding it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "docs" / "ARCHITECTURE.md"
ROOTS = ("consign", "consignment", "registry", "deployer", "publisher")
ENTRY = re.compile(r"^(?P<path>(?:" + "|".join(ROOTS) + r")/[^\s]*)")


def map_block(text: str) -> list[str]:
    """The lines of the first fenced block after the ``## Packages`` heading."""
    heading = re.search(r"^## Packages\s*$", text, flags=re.M)
    if heading is None:
        raise AssertionError(f"{MAP.name} has no '## Packages' heading")
    block = re.search(r"^```[^\n]*\n(.*?)^```", text[heading.end() :], flags=re.S | re.M)
    if block is None:
        raise AssertionError(f"{MAP.name}: no fenced block under '## Packages'")
    return block.group(1).splitlines()


def entries(lines: list[str]) -> list[str]:
    """The paths the map names, in its order. A line starting in column 0 must be an entry."""
    found: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line[0].isspace():
            continue
        match = ENTRY.match(line)
        if match is None:
            raise AssertionError(
                f"map line {number} starts in the first column but not with a path under "
                f"{', '.join(r + '/' for r in ROOTS)}: {line!r}"
            )
        found.append(match.group("path"))
    return found


def skipped(path: Path) -> bool:
    return "__pycache__" in path.parts or "vendor" in path.parts


def code(root: Path) -> tuple[set[str], set[str]]:
    """Every package (``pkg/``) and module (``pkg/mod.py``, not ``__init__.py``) under the roots.

    A package is a folder with an ``__init__.py`` or, as Python imports it too (a namespace
    package), any folder holding a module.
    """
    packages: set[str] = set()
    modules: set[str] = set()
    for top in ROOTS:
        base = root / top
        if not base.is_dir():
            continue
        for init in base.rglob("__init__.py"):
            if not skipped(init.relative_to(root)):
                packages.add(init.parent.relative_to(root).as_posix() + "/")
        for module in base.rglob("*.py"):
            relative = module.relative_to(root)
            if module.name != "__init__.py" and not skipped(relative):
                modules.add(relative.as_posix())
                packages.add(relative.parent.as_posix() + "/")
    return packages, modules


def problems(named: list[str], root: Path) -> list[str]:
    """Everything wrong with a map naming ``named`` for the code under ``root``, one line each."""
    packages, modules = code(root)
    found: list[str] = []
    seen: set[str] = set()
    for path in named:
        if path in seen:
            found.append(f"listed twice: {path}")
        seen.add(path)
        target = root / path.rstrip("/")
        if path.endswith("/") and not target.is_dir():
            found.append(f"named but no such folder: {path}")
        elif not path.endswith("/") and not target.is_file():
            found.append(f"named but no such file: {path}")
    for path in sorted(packages - seen):
        found.append(f"package not in the map: {path}")
    for path in sorted(modules - seen):
        found.append(f"module not in the map: {path}")
    position = {path: index for index, path in enumerate(named)}
    for index, path in enumerate(named):
        parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
        if parent in packages and position.get(parent, index) > index:
            found.append(f"listed before its package {parent}: {path}")
    return found


def test_the_map_names_every_package_and_module_and_nothing_else() -> None:
    named = entries(map_block(MAP.read_text(encoding="utf-8")))
    wrong = problems(named, ROOT)
    assert not wrong, f"{MAP.relative_to(ROOT)}, '## Packages':\n" + "\n".join(wrong)


def tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def test_problems_lists_exactly_what_is_missing_and_what_is_extra(tmp_path: Path) -> None:
    tree(
        tmp_path,
        [
            "registry/__init__.py",
            "registry/app.py",
            "registry/store/__init__.py",
            "registry/store/refs.py",
            "registry/vendor/x.py",
            "deployer/__init__.py",
            "consign/compose/yamlio.py",
        ],
    )
    named = [
        "registry/",
        "registry/app.py",
        "registry/gone.py",
        "registry/app.py",
        "registry/nodir/",
        "deployer/",
    ]
    assert problems(named, tmp_path) == [
        "named but no such file: registry/gone.py",
        "listed twice: registry/app.py",
        "named but no such folder: registry/nodir/",
        "package not in the map: consign/compose/",
        "package not in the map: registry/store/",
        "module not in the map: consign/compose/yamlio.py",
        "module not in the map: registry/store/refs.py",
    ]


def test_an_entry_before_its_package_is_named(tmp_path: Path) -> None:
    tree(tmp_path, ["publisher/__init__.py", "publisher/client.py"])
    assert problems(["publisher/client.py", "publisher/"], tmp_path) == [
        "listed before its package publisher/: publisher/client.py"
    ]


def test_entries_and_continuations() -> None:
    text = (
        "intro\n## Packages\nwords\n```\n"
        "registry/http/       the HTTP side\n"
        "    registry/x.py is only mentioned here\n"
        "registry/http/app.py create_app\n```\n## Next\n```\nconsign/other.py\n```\n"
    )
    assert entries(map_block(text)) == ["registry/http/", "registry/http/app.py"]
    with pytest.raises(AssertionError, match="line 2 starts in the first column"):
        entries(["consign/", "tests/ are not mapped"])
