"""The layers, read from the code's own imports: every import points down, none in a circle.

HTTP → GraphQL → core → sources → shared machinery (cache, usage) → pure parts. The core
names no upstream, and the GraphQL layer never reaches into a source module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gateway"

# Top to bottom; a module may import from its own layer or any layer below it.
LAYERS = (
    ("cli", ("gateway.cli", "gateway.__main__")),
    (
        "http",
        (
            "gateway.app",
            "gateway.whole_response_cache",
            "gateway.graphql_http",
            "gateway.access",
            "gateway.readiness",
            "gateway.request_observer",
            "gateway.metrics",
            "gateway.tracing",
        ),
    ),
    ("graphql", ("gateway.api",)),
    ("core", ("gateway.core",)),
    ("sources", ("gateway.sources",)),
    (
        "machinery",
        (
            "gateway.usage",
            "gateway.cache",
            "gateway.ratelimit",
            "gateway.collector",
            "gateway.observe",
        ),
    ),
    (
        "pure",
        ("gateway.cursors", "gateway.query", "gateway.config", "gateway.errors", "gateway.logs"),
    ),
    ("model", ("gateway.model",)),
)
UPSTREAM_NAMES = re.compile(r"leezy|nexor|meetstream|salesloft|daily", re.IGNORECASE)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every gateway module and the gateway modules it imports, deferred imports included."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[module_name(path)] = found
    return {name: {m for m in found if m in graph and m != name} for name, found in graph.items()}


def layer(module: str) -> int | None:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


GRAPH = imports()


def test_every_module_has_a_layer_or_is_a_simulator() -> None:
    strays = [m for m in GRAPH if layer(m) is None and not m.startswith("gateway.simulators")]
    assert strays in ([], ["gateway"]), strays


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module: str) -> None:
    own = layer(module)
    if own is None:
        return
    upward = [m for m in GRAPH[module] if (layer(m) or own) < own]
    assert not upward, f"{module} imports a layer above it: {upward}"


def test_the_simulators_depend_on_nothing_of_the_gateway() -> None:
    for module, imported in GRAPH.items():
        if module.startswith("gateway.simulators"):
            assert all(m.startswith("gateway.simulators") for m in imported), (module, imported)


def test_no_module_imports_itself_in_a_circle() -> None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, f"import circle: {[*visiting, module]}"
        visiting.append(module)
        for imported in GRAPH[module]:
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in GRAPH:
        visit(module)


def test_graphql_and_the_whole_response_cache_import_no_source() -> None:
    # `gateway.app` may: it is where the lifespan builds the sources.
    for module, imported in GRAPH.items():
        if module.startswith("gateway.api") or module == "gateway.whole_response_cache":
            sources = [m for m in imported if m.startswith("gateway.sources")]
            assert not sources, f"{module} imports {sources}"


def test_the_core_names_no_upstream() -> None:
    for path in (PACKAGE / "core").glob("*.py"):
        named = UPSTREAM_NAMES.findall(path.read_text(encoding="utf-8"))
        assert not named, f"{path.name} names {sorted(set(named))}"
