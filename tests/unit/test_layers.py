"""The request path reads routes -> use case -> unit of work -> domain, and nothing
reaches back up: checked on the source's imports (issue 18, item 11)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
PACKAGES = sorted(p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists())
#: The web layer: Flask wiring, the request's context, the limiter and the API docs.
WEB = {"web", "current", "ratelimit", "openapi"}


def _modules() -> list[Path]:
    return sorted(SERVICES.glob("*/**/*.py"))


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative ones resolved)."""
    package = ".".join(path.relative_to(SERVICES.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(SERVICES.parent).with_suffix("").parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SERVICES)))
def test_no_service_imports_another_services_package(path):
    own = path.relative_to(SERVICES).parts[0]
    others = {f"services.{name}" for name in PACKAGES if name not in (own, "common")}
    reached = {
        name
        for name in _imports(path)
        if name.partition(".")[2]
        and any(name == other or name.startswith(other + ".") for other in others)
    }
    assert not reached, f"{path.name} reaches into another service: {sorted(reached)}"


def _use_case_modules() -> list[Path]:
    """Use cases, the unit of work, adapters and the domain: everything but routes,
    factories and the web layer itself."""
    return [
        path for path in _modules() if path.stem not in WEB | {"routes", "__init__", "__main__"}
    ]


@pytest.mark.parametrize("path", _use_case_modules(), ids=lambda p: str(p.relative_to(SERVICES)))
def test_no_use_case_imports_the_web_layer(path):
    web = {f"services.common.{name}" for name in WEB}
    reached = {
        name
        for name in _imports(path)
        if name.split(".")[0] in ("flask", "werkzeug", "flask_limiter")
        or any(name == w or name.startswith(w + ".") for w in web)
    }
    assert not reached, f"{path.name} reaches up into the web layer: {sorted(reached)}"


def test_no_two_modules_of_common_import_each_other():
    common = {_module_name(p): p for p in SERVICES.glob("common/*.py")}
    graph = {
        name: {
            m
            for m in common
            if m != name and any(i == m or i.startswith(m + ".") for i in _imports(path))
        }
        for name, path in common.items()
    }
    cycles = sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph[b])
    assert not cycles, f"modules that import each other: {cycles}"


def test_use_cases_name_what_they_take():
    """No single-letter parameter for the objects a use case works with (``b``), and no
    adapter container that swaps its parts through ``__getattr__``."""
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                short = [a.arg for a in node.args.args if len(a.arg) == 1 and a.annotation]
                annotated = [
                    a.arg
                    for a in node.args.args
                    if a.arg in short and "Backend" in ast.unparse(a.annotation)
                ]
                assert not annotated, f"{path.name}:{node.name} takes {annotated}"
                assert node.name != "__getattr__", f"{path.name} proxies through __getattr__"
