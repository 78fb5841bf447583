"""The library's layering: generic modules never import a chapter module, chapter modules never import each
other, and the top-level imports between modules form no cycle (a reader can read the library bottom-up)."""

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib" / "scalinglab"


def _module_name(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """The scalinglab modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(".", 1)[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("scalinglab"):
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("scalinglab"))
    modules = {_module_name(p) for p in LIB.rglob("*.py")}
    return {m for m in out if m in modules and m != _module_name(path)}


def _files():
    return [p for p in LIB.rglob("*.py") if "__pycache__" not in p.parts]


def test_generic_modules_never_import_a_chapter_module():
    bad = [(_module_name(p), m) for p in _files() if ".experiments" not in _module_name(p)
           for m in _imports(p, top_level_only=False) if m.startswith("scalinglab.experiments")
           and m != "scalinglab.experiments"]
    assert not bad, bad


def test_chapter_modules_do_not_import_each_other():
    bad = [(_module_name(p), m) for p in (LIB / "experiments").glob("*.py") if p.name != "__init__.py"
           for m in _imports(p, top_level_only=False) if m.startswith("scalinglab.experiments.")]
    assert not bad, bad


def test_no_import_cycles():
    graph = {_module_name(p): {m for m in _imports(p, top_level_only=True) if m != "scalinglab"} for p in _files()}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(path + [nxt]))
            if state.get(nxt) is None:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
