"""The layout shows the architecture (docs/architecture.md, "Folders"), and each
rule that has one home keeps it: checks of the source tree itself."""
from __future__ import annotations

import re

import pytest

from helpers import REPO

SRC = REPO / "cpp" / "src"
FOLDERS = {"common", "export", "input", "output", "pipeline", "util", "testing"}

pytestmark = pytest.mark.skipif(not SRC.is_dir(), reason="needs the source tree (not in the sdist's tests)")


def test_cpp_src_is_grouped_in_folders_by_concern():
    loose = [p.name for p in SRC.iterdir() if p.is_file()]
    assert not loose, f"files directly in cpp/src (put them in one of {sorted(FOLDERS)}): {loose}"
    assert {p.name for p in SRC.iterdir() if p.is_dir()} == FOLDERS


def test_every_source_file_is_built():
    cmake = (REPO / "CMakeLists.txt").read_text()
    missing = [p.relative_to(REPO).as_posix() for p in SRC.rglob("*.cpp")
               if p.relative_to(REPO).as_posix() not in cmake]
    assert not missing, f"not in CMakeLists.txt (a unit test or source that never builds): {missing}"


@pytest.mark.parametrize("unit", ["export/unit_store", "input/fragment_sorter", "input/barcode_table",
                                  "input/decompress", "input/fragment_file", "input/fragment_import",
                                  "output/bigwig_file", "output/output_file", "pipeline/pipeline", "util/worker_team"])
def test_core_pieces_have_unit_tests_beside_them(unit):
    test = SRC / f"{unit}_test.cpp"
    assert test.is_file() and "TEST_CASE" in test.read_text()


def test_private_headers_are_included_by_folder():
    """`#include "coverage.hpp"` would hide where a header lives."""
    wrong = []
    for p in [*SRC.rglob("*.[ch]pp"), *(REPO / "cpp" / "bindings").glob("*.cpp")]:
        for inc in re.findall(r'#include "([^"]+)"', p.read_text()):
            if not (inc.startswith("fragcov/") or inc.split("/")[0] in FOLDERS):
                wrong.append(f"{p.relative_to(REPO)}: {inc}")
    assert not wrong, wrong


def test_one_cancellation_poll():
    """The 100 ms poll is written once (util/cancel_poll.hpp) and used everywhere else."""
    copies = [p.relative_to(REPO).as_posix() for p in [*SRC.rglob("*.[ch]pp"), *(REPO / "cpp").glob("bindings/*")]
              if re.search(r"milliseconds\(\s*100\s*\)|kCancelPollInterval\{", p.read_text())]
    assert copies == ["cpp/src/util/cancel_poll.hpp"], copies
    users = [p.name for p in [*SRC.rglob("*.[ch]pp"), *(REPO / "cpp").glob("bindings/*.cpp")]
             if "poll_until_ready(" in p.read_text() and p.name != "cancel_poll.hpp"]
    assert sorted(users) == ["fragment_file.cpp", "prefetcher.hpp", "worker_team.cpp"]


# Which folders a folder's files may include (docs/architecture.md, "Folders"): the shared
# vocabulary (common/, the public headers) below the readers and writers, the exporter above
# them, so that input/ and output/ never depend on each other or on export/.
MAY_INCLUDE = {
    "common": {"common", "util"},
    "input": {"common", "input", "util"},
    "output": {"common", "output", "util"},
    "export": {"common", "export", "output", "util"},
    "pipeline": {"common", "export", "input", "pipeline", "util"},
    "util": {"util"},
}
# public headers that bring in the exporter; readers and writers use the vocabulary only
EXPORTER_HEADERS = {"fragcov/exporter.hpp", "fragcov/fragcov.hpp", "fragcov/pipeline.hpp",
                    "fragcov/fragment_files.hpp", "fragcov/h5ad_columns.hpp"}


def test_folders_depend_downwards_only():
    wrong = []
    for folder, allowed in MAY_INCLUDE.items():
        for p in (SRC / folder).glob("*.[ch]pp"):
            if p.name.endswith("_test.cpp"):
                continue
            for inc in re.findall(r'#include "([^"]+)"', p.read_text()):
                top = inc.split("/")[0]
                bad = inc in EXPORTER_HEADERS if top == "fragcov" else top not in allowed
                # export/ and pipeline/ implement those headers; util/version.cpp the umbrella's version()
                if bad and folder != "pipeline" and (folder, inc) not in {("export", "fragcov/exporter.hpp"),
                                                                          ("util", "fragcov/fragcov.hpp")}:
                    wrong.append(f"{p.relative_to(REPO)}: {inc}")
    assert not wrong, wrong


def test_public_headers_do_not_include_the_exporter():
    """Only the one call (pipeline.hpp, and the sources built on it) brings in the exporter: the
    vocabulary of the readers (fragment_file.hpp, hdf5_layout.hpp, cell_chunk.hpp) does not."""
    inc = REPO / "cpp" / "include" / "fragcov"
    users = {p.name for p in inc.glob("*.hpp") if p.name != "fragcov.hpp"
             and re.search(r'#include "fragcov/(exporter|pipeline)\.hpp"', p.read_text())}
    assert users == {"pipeline.hpp", "fragment_files.hpp", "h5ad_columns.hpp"}, users


def test_one_io_error_convention():
    """File-system failures are std::system_error with errno (spec 11.7), never a bare runtime_error
    carrying strerror text."""
    wrong = [p.relative_to(REPO).as_posix() for p in SRC.rglob("*.cpp")
             if not p.name.endswith("_test.cpp") and re.search(r"runtime_error\([^;]*strerror", p.read_text(), re.S)]
    assert not wrong, wrong


def test_cancelled_has_its_own_header():
    assert "exporter.hpp" not in (SRC / "util" / "worker_team.hpp").read_text()
    assert "exporter.hpp" not in (SRC / "util" / "worker_team.cpp").read_text()
    assert '#include "fragcov/cancelled.hpp"' in (SRC / "input" / "fragment_reader.hpp").read_text()
    assert "struct Cancelled" in (REPO / "cpp" / "include" / "fragcov" / "cancelled.hpp").read_text()
    assert "struct Cancelled" not in (REPO / "cpp" / "include" / "fragcov" / "exporter.hpp").read_text()


def test_user_notices_have_one_home():
    """Every notice goes through _notices.warn (a FragcovWarning), none through logging.info."""
    pkg = REPO / "python" / "fragcov"
    raw = [p.name for p in pkg.glob("*.py") if p.name != "_notices.py" and "warnings.warn(" in p.read_text()]
    assert not raw, f"warnings.warn outside _notices.py: {raw}"
    logged = [f"{p.name}: {m}" for p in pkg.glob("*.py")
              for m in re.findall(r"log\.(?:info|warning)\((.{0,60})", p.read_text()) if "skipped" in m]
    assert not logged, logged


PACKAGE = REPO / "python" / "fragcov"


def python_imports() -> dict[str, set[str]]:
    """module -> the package's modules it imports, at the top or inside a function (a lazy import is
    still a dependency: ``_compare`` calling into ``_export`` that imports ``_compare`` is a cycle);
    imports for annotations only (``if TYPE_CHECKING:``) are not run and do not count."""
    import ast

    def nodes(tree):
        for node in ast.iter_child_nodes(tree):
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                continue
            yield node
            yield from nodes(node)

    graph = {}
    for path in PACKAGE.glob("*.py"):
        module = path.stem
        names = set()
        for node in nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    names.add(node.module.split(".")[0])
                else:
                    names.update(a.name for a in node.names)
        graph[module] = {n for n in names if (PACKAGE / f"{n}.py").exists() and n != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_python_modules_import_without_cycles():
    """The Python package's modules form layers (docs/architecture.md): no module reaches itself through
    its imports, lazy ones included."""
    graph = python_imports()
    assert "_driver" in graph["_export"] and "_request" in graph["_driver"]  # the reader finds the imports
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle(graph) is None, "import cycle: " + " -> ".join(_cycle(graph) or [])
