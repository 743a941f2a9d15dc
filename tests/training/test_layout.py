"""The dependencies of training/ point one way: the commands (training/*.py) → the packages;
pairs and reproduction → loop → theory; theory never imports training. Read from the source's
import statements, so an import inside a function counts too."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {  # what each part may import of training/
    "theory": set(),
    "training.loop": {"training.loop"},
    "training.pairs": {"training.loop", "training.pairs"},
    "training.reproduction": {"training.loop", "training.reproduction"},
}


def _part(module: str) -> str:
    return (
        ".".join(module.split(".")[:2]) if module.startswith("training.") else module.split(".")[0]
    )


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in found if name.split(".")[0] == "training"}


def _sources(part: str) -> list[Path]:
    return sorted((REPO / part.replace(".", "/")).rglob("*.py"))


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_lies_below_it(part):
    wrong = {
        f"{path.relative_to(REPO)} imports {name}"
        for path in _sources(part)
        for name in _imports(path)
        if _part(name) not in ALLOWED[part] and name != "training"
    }
    assert not wrong, sorted(wrong)


def test_a_command_holds_its_parser_and_main_and_no_other_function():
    extra = {
        f"{path.name}: {node.name}"
        for path in (REPO / "training").glob("*.py")
        if path.name not in ("__init__.py", "cli.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and not node.name.endswith(("main", "parser"))
    }
    assert not extra, sorted(extra)


def test_the_rule_sees_an_import_that_runs_the_other_way(tmp_path):
    upward = tmp_path / "upward.py"
    upward.write_text(
        "def f():\n    from training import run\n    from training.pairs import lockstep\n"
    )
    assert _imports(upward) >= {"training.run", "training.pairs.lockstep"}
    assert _part("training.run") not in ALLOWED["training.loop"]
