"""The house's floors, checked with import-linter against the contracts in pyproject.toml.

``consign/`` (the ground floor) imports nothing above it, ``consignment/`` (the top) is
imported by nothing, the publisher and the deployer never import ``registry/``, and no two
sibling modules or packages import each other, whether at the top of a module or inside a
function. The same contracts are also run on small planted trees, so a broken rule is shown
to fail the check (a contract that cannot fail would prove nothing).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

from tests.serving import ROOT

ROOTS = ("consignment", "consign", "registry", "publisher", "deployer")
LINT = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """import-linter in its own process (its graph imports nothing, but it finds packages
    through ``sys.path``, which must start at ``cwd``)."""
    argv = [sys.executable, "-c", LINT, "--no-cache", "--config", str(config)]
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(cwd)}
    )


def test_the_project_keeps_every_contract() -> None:
    result = lint(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_assembled_command_loads_no_server() -> None:
    """`consign deploy` on a deploy host: assembling the group must not import Flask or
    gunicorn (``serve`` imports them when it runs)."""
    probe = (
        "import sys, consignment.cli; "
        "print(sorted(m for m in ('flask', 'gunicorn', 'werkzeug') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- the contracts fail on planted violations ------------------------------------------

CLEAN = {
    "consign/__init__.py": "",
    "consign/process.py": "import os\n",
    "consign/compose/__init__.py": "",
    "consign/compose/errors.py": "",
    "consign/compose/yamlio.py": "from consign.compose import errors\n",
    "consign/compose/fragments.py": "from consign.compose import yamlio\n",
    "consignment/__init__.py": "",
    "consignment/cli.py": "import deployer.commands\nimport publisher.commands\n"
    "import registry.commands\n",
    "registry/__init__.py": "",
    "registry/commands.py": "from consign.compose import fragments\n",
    "publisher/__init__.py": "",
    "publisher/commands.py": "from consign.compose import fragments\n",
    "deployer/__init__.py": "",
    "deployer/commands.py": "from deployer.ledger import outcomes\n",
    "deployer/swarm/__init__.py": "",
    "deployer/swarm/tasks.py": "from consign import process\n",
    "deployer/ledger/__init__.py": "",
    "deployer/ledger/outcomes.py": "from deployer.swarm import tasks\n",
}

#: One broken rule each: (file, line added to it, a phrase the report must contain).
PLANTED = {
    "publisher imports the registry in a function": (
        "publisher/commands.py",
        "def f():\n    from registry import commands\n",
        "publisher is not allowed to import registry",
    ),
    "the ground floor imports a side": (
        "consign/process.py",
        "import deployer.commands\n",
        "consign is not allowed to import deployer",
    ),
    "the ground floor imports the top": (
        "consign/compose/yamlio.py",
        "def g():\n    import consignment.cli\n",
        "consign is not allowed to import consignment",
    ),
    "a side imports the top": (
        "registry/commands.py",
        "import consignment\n",
        "registry is not allowed to import consignment",
    ),
    "two modules import each other, one inside a function": (
        "consign/compose/yamlio.py",
        "def h():\n    from consign.compose import fragments\n",
        "No cycles are allowed in",
    ),
    "two packages of a side import each other": (
        "deployer/swarm/tasks.py",
        "def k():\n    from deployer.ledger.outcomes import x\n",
        "No cycles are allowed in",
    ),
}


def renamed(text: str, prefix: str) -> str:
    """``text`` with every root package's name prefixed."""
    return re.sub(r"\b(" + "|".join(ROOTS) + r")\b", lambda m: prefix + m.group(1), text)


def plant(tmp_path: Path, extra: tuple[str, str] | None) -> tuple[Path, str]:
    """The CLEAN tree under unique package names (never the installed ones) and the
    project's own contracts renamed to match; ``extra`` appends a line to one file."""
    prefix = f"p{uuid.uuid4().hex[:8]}_"

    files = dict(CLEAN)
    if extra is not None:
        name, line = extra
        files[name] += line
    for name, text in files.items():
        path = tmp_path / renamed(name, prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(renamed(text, prefix))
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert config["contracts"], "pyproject.toml has no import-linter contracts"
    lines = ["[importlinter]", "root_packages =", *(f"    {prefix}{r}" for r in ROOTS)]
    lines.extend(
        f"{k} = {str(v).lower()}"
        for k, v in config.items()
        if k not in ("root_packages", "contracts")
    )
    assert sorted(config["root_packages"]) == sorted(ROOTS)
    for index, contract in enumerate(config["contracts"]):
        lines.append(f"[importlinter:contract:{index}]")
        for key, value in contract.items():
            if isinstance(value, list):
                lines.append(f"{key} =")
                lines.extend(f"    {renamed(v, prefix)}" for v in value)
            else:
                lines.append(f"{key} = {renamed(str(value), prefix)}")
    ini = tmp_path / "contracts.ini"
    ini.write_text("\n".join(lines) + "\n")
    return ini, prefix


def test_a_clean_tree_keeps_the_contracts(tmp_path: Path) -> None:
    ini, _ = plant(tmp_path, None)
    result = lint(ini, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_a_planted_violation_breaks_a_contract(tmp_path: Path, case: str) -> None:
    name, line, phrase = PLANTED[case]
    ini, prefix = plant(tmp_path, (name, line))
    result = lint(ini, tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    assert renamed(phrase, prefix) in report, report
