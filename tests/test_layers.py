"""The layers of the package point one way, and this test fails when an import runs against
them. Every import counts: at module level, inside functions and under TYPE_CHECKING.

    errors -> models -> contract, ports -> core -> backends, HTTP client -> open
           -> HTTP service, CLI, testing -> the package's __init__

Within a layer, modules may import each other, but the import graph has no cycle. A few
rules are narrower than the layers: the contract imports only models and errors; a backend
imports only the ports, the errors, the data model and the core's shared helpers (never the
store, the registry, the settings or open); only the settings module reads the environment,
and only open, the CLI and the service consult it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: list[tuple[str, set[str]]] = [
    ("errors", {"assetstore.errors", "assetstore._version"}),
    ("models", {"assetstore.models"}),
    ("contract and ports", {"assetstore.contract", "assetstore.ports"}),
    (
        "core",
        {
            "assetstore._bson",
            "assetstore._regex",
            "assetstore._sorting",
            "assetstore._planner",
            "assetstore._expr",
            "assetstore.query",
            "assetstore.uri",
            "assetstore.versions",
            "assetstore._streams",
            "assetstore._media_types",
            "assetstore._validation",
            "assetstore._revisions",
            "assetstore._records",
            "assetstore._maintenance",
            "assetstore._identity",
            "assetstore._loss_guard",
            "assetstore._fileio",
            "assetstore._gc",
            "assetstore._outbound",
            "assetstore._health",
            "assetstore._federation",
            "assetstore._base_store",
            "assetstore._import",
            "assetstore._sync_plan",
            "assetstore._sync_run",
            "assetstore._sync_report",
            "assetstore._bundle",
            "assetstore._store",
            "assetstore._registry",
            "assetstore.schemes",
            "assetstore.settings",
        },
    ),
    (
        "backends",
        {
            "assetstore.backends.*",
            "assetstore.http.client",
            "assetstore.http._requests",
            "assetstore.http._client_streams",
            "assetstore.http._client_batch",
        },
    ),
    ("composition root", {"assetstore.open"}),
    (
        "service, CLI, testing",
        {
            "assetstore.http.*",
            "assetstore.cli",
            "assetstore.testing",
            "assetstore.testing.*",
            "assetstore._sync",
            "assetstore._cli_transfer",
        },
    ),
    ("package", {"assetstore"}),
]

#: Core helpers a backend may use.
BACKEND_HELPERS = {
    "assetstore._fileio",
    "assetstore._gc",
    "assetstore._planner",
    "assetstore._sorting",
    "assetstore.query",
    "assetstore._bson",
    "assetstore._regex",
}
#: Who may consult the settings.
SETTINGS_READERS = {"assetstore.open", "assetstore.cli", "assetstore._cli_transfer"}


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[0] == "backends":
        parts = ["assetstore", *parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    files = [
        *sorted((ROOT / "assetstore").rglob("*.py")),
        *sorted((ROOT / "backends").rglob("*.py")),
    ]
    return {module_name(path): path for path in files}


MODULES = package_modules()


def imports_of(name: str, tree: ast.AST | None = None) -> Iterator[tuple[str, int]]:
    """The package modules ``name`` imports (anywhere in its body), with line numbers."""
    path = MODULES[name]
    tree = tree or ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:
                    yield submodule, node.lineno
                else:
                    yield from _known(base, node.lineno)


def _known(name: str, line: int) -> Iterator[tuple[str, int]]:
    while name:
        if name in MODULES:
            yield name, line
            return
        name = name.rpartition(".")[0]


def layer_of(name: str) -> int:
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if name == pattern or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
                return index
            if pattern.endswith(".*") and name == pattern[:-2]:
                return index
    if name.startswith("assetstore.http"):
        return layer_of("assetstore.http.*")
    raise AssertionError(f"{name} is in no layer: add it to LAYERS")


def edges() -> list[tuple[str, str, int]]:
    return [(name, target, line) for name in MODULES for target, line in imports_of(name)]


def test_every_module_has_a_layer():
    for name in MODULES:
        layer_of(name)


def test_imports_point_down_the_layers():
    wrong = [
        f"{source}:{line} imports {target} ({LAYERS[layer_of(target)][0]} is above "
        f"{LAYERS[layer_of(source)][0]})"
        for source, target, line in edges()
        if layer_of(target) > layer_of(source) and target != "assetstore"
    ]
    assert wrong == []


def test_nothing_imports_the_package_root_from_inside():
    """``from assetstore import X`` of a name (not a submodule) would make every module
    depend on everything the package imports."""
    wrong = [
        f"{source}:{line}"
        for source, target, line in edges()
        if target == "assetstore" and source != "assetstore"
    ]
    assert wrong == []


def test_the_import_graph_has_no_cycle():
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for source, target, _ in edges():
        if source != target and not _is_parent(target, source):
            graph[source].add(target)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def _is_parent(package: str, module: str) -> bool:
    """Importing a submodule runs its package's __init__: not an edge of interest."""
    return module.startswith(package + ".") and MODULES[package].name == "__init__.py"


def test_the_contract_imports_only_models_and_errors():
    assert {target for target, _ in imports_of("assetstore.contract")} <= {
        "assetstore.models",
        "assetstore.errors",
    }


@pytest.mark.parametrize(
    "backend", sorted(n for n in MODULES if n.startswith("assetstore.backends."))
)
def test_a_backend_imports_only_ports_errors_models_and_helpers(backend):
    allowed = {"assetstore.ports", "assetstore.errors", "assetstore.models", "assetstore.backends"}
    allowed |= BACKEND_HELPERS
    wrong = {
        target
        for target, _ in imports_of(backend)
        if target not in allowed and not target.startswith("assetstore.backends.")
    }
    assert wrong == set()


def test_only_open_the_cli_and_the_service_consult_the_settings():
    readers = {source for source, target, _ in edges() if target == "assetstore.settings"}
    service = {
        r
        for r in readers
        if r.startswith("assetstore.http.")
        and r
        not in {
            "assetstore.http.client",
            "assetstore.http._requests",
            "assetstore.http._client_streams",
            "assetstore.http._client_batch",
        }
    }
    assert readers - service <= SETTINGS_READERS


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv", "environb")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                readers.append(f"{name}:{node.lineno}")
    assert [r for r in readers if not r.startswith("assetstore.settings:")] == []


def test_backends_folder_imports_only_as_assetstore_backends():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import backends.memory"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "assetstore.backends" in result.stderr


def test_a_wrong_import_is_caught(tmp_path, monkeypatch):
    """The checks above can fail: a backend that imports open is reported."""
    source = (
        MODULES["assetstore.backends.memory"].read_text()
        + "\nfrom assetstore.open import open_store\n"
    )
    tree = ast.parse(source)
    found = {target for target, _ in imports_of("assetstore.backends.memory", tree)}
    assert "assetstore.open" in found
    assert layer_of("assetstore.open") > layer_of("assetstore.backends.memory")
