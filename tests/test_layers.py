"""The apps are layers: holders at the bottom, notes on it, servicing on top. Imports flow only
downwards, so the models of a lower app never depend on the engine, services or pages above them."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["holders", "notes", "servicing"]  # bottom first


def imports_from_above(app: str, root: Path = ROOT) -> list[str]:
    """Every import in `app` (its migrations aside) of an app above it: "file:line imports module"."""
    above = set(LAYERS[LAYERS.index(app) + 1 :])
    found = []
    for path in sorted((root / app).rglob("*.py")):
        name = path.relative_to(root)
        if "migrations" in name.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            found += [f"{name}:{node.lineno} imports {m}" for m in modules if m.split(".")[0] in above]
    return found


@pytest.mark.parametrize("app", ["holders", "notes"])
def test_it_finds_no_import_of_an_app_above(app):
    assert imports_from_above(app) == []


def test_it_names_the_file_line_and_module_of_an_import_from_above(tmp_path):
    (tmp_path / "notes" / "migrations").mkdir(parents=True)
    (tmp_path / "notes" / "models.py").write_text("from holders.validators import one_line\nimport servicing.engine\n")
    (tmp_path / "notes" / "pages.py").write_text("def page():\n    from servicing import views\n")
    (tmp_path / "notes" / "migrations" / "0002_data.py").write_text("from servicing import engine\n")
    assert imports_from_above("notes", tmp_path) == [
        "notes/models.py:2 imports servicing.engine",
        "notes/pages.py:2 imports servicing",
    ]
    assert imports_from_above("holders", tmp_path) == []
