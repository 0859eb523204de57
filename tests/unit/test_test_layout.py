"""How the tests are laid out: code they share lives in tests/helpers/ (plain functions,
classes and constants), fixtures in conftest.py files and the plugins of tests/fixtures/.
So no file under tests/ imports a conftest, a fixture plugin or another test module,
and a conftest holds only fixtures and pytest hooks."""

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def python_files(under: Path = TESTS) -> list[Path]:
    return sorted(path for path in under.rglob("*.py") if "__pycache__" not in path.parts)


def imported_modules(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of each module the file (or `source` put at its path) imports.
    `from a import b` gives both `a` and `a.b`, since `b` may be a module; relative
    imports are resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    source = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def shared_the_wrong_way(module: str) -> bool:
    """A conftest, a fixture plugin or a test module of the suite."""
    top, *rest = module.split(".")
    return top == "tests" and (
        rest[:1] == ["fixtures"] or any(p == "conftest" or p.startswith("test_") for p in rest)
    )


def import_violations(files: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if shared_the_wrong_way(module)
    ]


def is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute | ast.Name) and ast.unparse(target) in (
        "pytest.fixture",
        "fixture",
    )


def not_fixtures_or_hooks(path: Path) -> list[str]:
    """What a conftest or fixture plugin defines besides fixtures, hooks and its imports
    (`pytest_plugins` in the root conftest is a hook's setting too)."""
    found = []
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if not (node.name.startswith("pytest_") or any(map(is_fixture, node.decorator_list))):
                found.append(f"{where} defines {node.name}()")
        elif isinstance(node, ast.ClassDef):
            found.append(f"{where} defines class {node.name}")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [ast.unparse(target) for target in targets]
            if names != ["pytest_plugins"]:
                found.append(f"{where} sets {', '.join(names)}")
    return found


def test_no_file_imports_a_conftest_a_fixture_plugin_or_a_test_module():
    found = import_violations(python_files())
    assert not found, "share code through tests/helpers/, fixtures through a conftest.py:\n" + (
        "\n".join(found)
    )


def test_conftest_files_and_fixture_plugins_hold_only_fixtures_and_hooks():
    files = [*TESTS.rglob("conftest.py"), *python_files(TESTS / "fixtures")]
    found = [line for path in sorted(files) for line in not_fixtures_or_hooks(path)]
    assert not found, "move plain code to tests/helpers/:\n" + "\n".join(found)


def test_the_check_sees_each_way_of_importing_a_conftest_or_a_test_module():
    source = "\n".join(
        [
            "from tests.e2e.conftest import staff_login",
            "import tests.jobs.conftest",
            "from tests.e2e import test_widget",
            "from tests.web.test_widget_ui import Visitor",
            "from .conftest import AGENT_NUMBER",
            "from . import test_sms_chats",
            "from tests.fixtures.jobs import twilio",
            "from tests.helpers.sms import AGENT_NUMBER",
            "from tests.fakes.blackhole import Blackhole",
        ]
    )
    found = {
        line: module
        for line, module in imported_modules(TESTS / "sms" / "test_example.py", source)
        if shared_the_wrong_way(module)
    }
    assert sorted(found) == [1, 2, 3, 4, 5, 6, 7]
    assert found[5] == "tests.sms.conftest.AGENT_NUMBER"
    assert found[6] == "tests.sms.test_sms_chats"
