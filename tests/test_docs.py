"""The repository's words match what it does: every citation of docs/spec.md
points at a section that exists, every relative link in the Markdown files
resolves, every CLI flag says what it does, and every code block of README.md
runs as written (tests/test_readme_blocks.py runs those)."""
from __future__ import annotations

import argparse
import re
import subprocess

import pytest

from helpers import REPO

SPEC = REPO / "docs" / "spec.md"


def _tracked(*suffixes: str) -> list:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (an unpacked sdist): every file of the tree
        files = [p.relative_to(REPO).as_posix() for p in REPO.rglob("*") if p.is_file()]
    else:
        files = out.stdout.split()
    return [REPO / f for f in files if f.endswith(suffixes) and (REPO / f).is_file()]


def spec_sections() -> tuple[set, set]:
    """Numbers ("3", "4.7.7") and titles of the headings of docs/spec.md."""
    numbers, titles = set(), set()
    for line in SPEC.read_text().splitlines():
        m = re.match(r"#{2,5} (\d+(?:\.\d+)*)\.? +(.*)", line)
        if m:
            numbers.add(m.group(1))
            titles.add(m.group(2).strip().strip("`"))
        m = re.match(r"(\d+(?:\.\d+)+) ", line)  # a numbered paragraph: "3.5.5 **`ceiling = c`**"
        if m:
            numbers.add(m.group(1))
    return numbers, titles


# "spec.md section 3.6", "spec.md sections 3.5.5, 3.6, 4.9", "sections 3.1-3.2",
# "spec 11.7", "docs/spec.md, section 8"
_NUMBERED = re.compile(r"\bspec(?:\.md)?,? (?:sections? )?(\d+(?:\.\d+)*(?:(?:, | and | or |-)\d+(?:\.\d+)*)*)")
_NAMED = re.compile(r"\bspec(?:\.md)?,? (?:sections? )?\"([^\"]+)\"")


def spec_citations() -> list:
    """(file, line number, cited section) for every citation in the repository."""
    found = []
    for path in _tracked(".py", ".pyi", ".cpp", ".hpp", ".md", ".sh", ".toml", ".txt", ".yaml", ".in"):
        if path == SPEC:
            continue
        for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for m in _NUMBERED.finditer(line):
                for number in re.split(r", | and | or |-", m.group(1)):
                    found.append((path.relative_to(REPO).as_posix(), i, number.rstrip(".")))
            for m in _NAMED.finditer(line):
                found.append((path.relative_to(REPO).as_posix(), i, f'"{m.group(1)}"'))
    return found


def test_every_spec_citation_points_at_an_existing_section():
    numbers, titles = spec_sections()
    citations = spec_citations()
    assert len(citations) > 100  # the pattern finds the citations at all
    wrong = [c for c in citations
             if not (c[2] in numbers if not c[2].startswith('"') else c[2].strip('"') in titles)]
    assert not wrong, "citations of sections docs/spec.md does not have:\n" + "\n".join(map(str, wrong))


def test_the_citation_check_catches_a_missing_section(tmp_path):
    """The checker itself: a made-up section number is not among the headings."""
    numbers, _ = spec_sections()
    assert {"3", "3.6", "11.7", "13"} <= numbers
    assert "99.1" not in numbers
    line = "see docs/spec" + '.md section 99.1 and spec' + ' "Fragment files"'  # split: not a citation itself
    assert [m.group(1) for m in _NUMBERED.finditer(line)] == ["99.1"]
    assert [m.group(1) for m in _NAMED.finditer(line)] == ["Fragment files"]


def test_spec_subsections_are_in_order():
    """11.9 may not stand before 11.8: headings of one level count up."""
    last: dict = {}
    for line in SPEC.read_text().splitlines():
        m = re.match(r"#{2,5} (\d+(?:\.\d+)*)\.? ", line)
        if not m:
            continue
        parts = tuple(int(x) for x in m.group(1).split("."))
        parent = parts[:-1]
        assert parts[-1] > last.get(parent, 0), f"docs/spec.md: section {m.group(1)} out of order"
        last[parent] = parts[-1]


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("doc", [p.relative_to(REPO).as_posix() for p in _tracked(".md")])
def test_relative_links_resolve(doc):
    path = REPO / doc
    broken = []
    for target in _LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#")[0]
        if not (path.parent / file).exists():
            broken.append(target)
    assert not broken, f"{doc} links to files that do not exist: {broken}"


def _subparsers(parser: argparse.ArgumentParser):
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _subparsers(sub)


def test_every_cli_flag_has_help_text():
    from fragcov._cli import build_parser

    missing = []
    for prog, parser in _subparsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not (action.help or "").strip():
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, "flags without help text: " + ", ".join(missing)


# ---- file paths written in prose --------------------------------------------------------------
# Markdown that names files of the repository: a path there must name a file or folder that exists,
# or one the repository ignores (an output such as benchmarks/data/atlas).
_PROSE_DOCS = ("README.md", "BENCHMARKS.md", "docs/*.md", "benchmarks/*.md")
# a bare file name in backticks with one of these endings must be the name of a tracked file
_CODE_ENDINGS = (".py", ".pyi", ".cpp", ".hpp", ".sh", ".toml")


def _top_folders() -> set:
    return {f.split("/")[0] for f in _tracked_names() if "/" in f}


def _tracked_names() -> list:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        return [p.relative_to(REPO).as_posix() for p in REPO.rglob("*") if p.is_file()]
    return out.stdout.split()


def _ignored(path: str) -> bool:
    out = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, capture_output=True)
    return out.returncode == 0


def prose_paths(text: str, tops: set) -> tuple[list, list]:
    """(repository paths such as ``cpp/src/util/x.hpp`` or ``tests/helpers.py:12``, bare file names
    in backticks such as ``_export.py``) written in ``text``; globs, ``{a,b}`` and placeholders
    (``DATA/...``, absolute paths) are not paths of the repository and are left out."""
    folders = "|".join(re.escape(t) for t in sorted(tops))
    paths = []
    for m in re.finditer(rf"(?<![\w./$~-])((?:{folders})/[\w./+-]*[\w+-])(?::\d+)?", text):
        if not re.search(r"[*{}<>]", text[m.start():m.end() + 2]):  # cpp/src/*/..., output_file.*
            paths.append(m.group(1))
    names = [m.group(1) for m in re.finditer(r"`([\w.+-]+)`", text)
             if m.group(1).endswith(_CODE_ENDINGS) and not m.group(1).startswith(("_test", "."))]
    return paths, names


def test_prose_path_finder():
    """The finder itself: what it takes for a path, and what it leaves alone."""
    text = ("see cpp/src/util/parallel_for.hpp, tests/helpers.py:279 and `_export.py`; not "
            "DATA/atlas/scale.json, /tmp/x/cpp/a.hpp, cpp/src/*/x_test.cpp or `bench.md`")
    paths, names = prose_paths(text, {"cpp", "tests"})
    assert paths == ["cpp/src/util/parallel_for.hpp", "tests/helpers.py"]
    assert names == ["_export.py"]


@pytest.mark.parametrize("doc", sorted({p.relative_to(REPO).as_posix() for pattern in _PROSE_DOCS
                                        for p in REPO.glob(pattern)}))
def test_file_paths_in_prose_exist(doc):
    tracked = _tracked_names()
    names = {f.rsplit("/", 1)[-1] for f in tracked}
    paths, bare = prose_paths((REPO / doc).read_text(), _top_folders())
    dead = [p for p in paths if not (REPO / p).exists() and not (REPO / doc).parent.joinpath(p).exists()
            and not _ignored(p)]
    dead += [n for n in bare if n not in names]
    assert not dead, f"{doc} names files that do not exist: {sorted(set(dead))}"
