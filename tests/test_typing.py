"""The typed face: python/fragcov/_core.pyi names exactly what the compiled
fragcov._core exports, with the same parameters, and the package is marked typed.

Hand-written rather than mypy's stubtest: stubtest cannot read the signatures
of pybind11 functions (they have no __text_signature__), so it would check the
names only; pybind11 writes each signature as the first line of __doc__, which
is parsed here.
"""
from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import SimpleNamespace

import fragcov
from fragcov import _core

PACKAGE = Path(fragcov.__file__).parent
STUB = PACKAGE / "_core.pyi"


def _stub_module() -> ast.Module:
    return ast.parse(STUB.read_text(), filename=str(STUB))


def _public(name: str) -> bool:
    return not name.startswith("_") or name == "__version__"


def stub_names() -> set[str]:
    names = set()
    for node in _stub_module().body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if _public(n)}


def stub_parameters(func: str) -> list[tuple[str, bool]]:
    """(name, has a default) of each parameter of a function in the stub."""
    node = next(n for n in _stub_module().body if isinstance(n, ast.FunctionDef) and n.name == func)
    args = node.args.posonlyargs + node.args.args
    first_default = len(args) - len(node.args.defaults)
    out = [(a.arg, i >= first_default) for i, a in enumerate(args)]
    out += [(a.arg, d is not None) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults)]
    return out


def runtime_parameters(func) -> list[tuple[str, bool]]:
    """(name, has a default) from pybind11's signature line "f(a: T, b: U = 3) -> R"."""
    doc = func.__doc__
    assert doc and doc.startswith(func.__name__ + "("), f"no pybind11 signature in {func.__name__}.__doc__"
    params, depth, part = [], 0, ""
    for ch in doc[len(func.__name__) + 1:]:
        if depth == 0 and ch in ",)":
            if part.strip():
                params.append(part.strip())
            part = ""
            if ch == ")":
                break
            continue
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        part += ch
    return [(p.split(":")[0].split("=")[0].strip(), "=" in p) for p in params if p != "*"]  # "*": py::kw_only


def runtime_names() -> set[str]:
    return {n for n in vars(_core) if _public(n) and n not in ("__doc__",)}


def test_stub_names_what_the_module_exports():
    assert stub_names() == runtime_names()


def test_stub_functions_have_the_runtime_parameters():
    functions = [n for n in runtime_names() if inspect.isroutine(getattr(_core, n))]
    assert functions, "the extension exports no function"
    for name in functions:
        assert stub_parameters(name) == runtime_parameters(getattr(_core, name)), name


def test_signature_parser_on_a_known_line():
    # the parser above against a hand-written pybind11-style line
    f = SimpleNamespace(__name__="f", __doc__="f(a: dict[str, tuple[int, int]], b: typing.SupportsInt | None, "
                                              "c: int = 3) -> list\n\ntext")
    assert runtime_parameters(f) == [("a", False), ("b", False), ("c", True)]


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()


def stub_class_members(cls: str) -> set[str]:
    node = next(n for n in _stub_module().body if isinstance(n, ast.ClassDef) and n.name == cls)
    names = set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            names.add(item.name)
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            names.add(item.target.id)
    return names


def test_stub_classes_have_the_runtime_members():
    classes = [n for n in runtime_names() if inspect.isclass(getattr(_core, n))]
    assert classes, "the extension exports no class"
    for name in classes:
        cls = getattr(_core, name)
        runtime = {m for m in vars(cls) if not m.startswith("_")
                   or m in ("__init__", "__len__", "__enter__", "__exit__", "__iter__", "__next__")}
        assert stub_class_members(name) == runtime, name


def _public_functions():
    """(name, function) of every public function and method of the package: its namespaces' and the
    methods of its public classes."""
    import fragcov.pl

    seen = {}
    for module in (fragcov, fragcov.ex, fragcov.pp, fragcov.pl, fragcov.datasets, fragcov.genome):
        for name in getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")]):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
            elif inspect.isclass(obj) and obj.__module__.startswith("fragcov"):
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and not attr.startswith("_"):
                        seen[f"{obj.__module__}.{member.__qualname__}"] = member
    return sorted(seen.items())


def test_every_public_parameter_is_typed():
    """Every parameter and return value of the public API has a type annotation (mypy checks them
    against the code: scripts/test.sh runs it)."""
    functions = _public_functions()
    assert {"fragcov._export.export_coverage", "fragcov._compare.compare_groups", "fragcov._profile.profile",
            "fragcov._plot.tracks", "fragcov._import.import_fragments"} <= {n for n, _ in functions}
    untyped = [f"{name}({p.name})" for name, f in functions for p in inspect.signature(f).parameters.values()
               if p.annotation is inspect.Parameter.empty and p.name not in ("self", "cls")]
    untyped += [f"{name} -> ?" for name, f in functions
                if inspect.signature(f).return_annotation is inspect.Signature.empty]
    assert not untyped, "public parameters without a type: " + ", ".join(untyped)
