"""Output paths that are not regular files, and inputs opened as what they are (docs/spec.md 4.1.2,
6.6, 13.8).

Every writer (tracks, comparison tracks, fragment BED files, .h5ad, figures) refuses, before any
work, a path where a rename would replace something that is not a regular file: a named pipe, a
socket, a symbolic link (whose target may lie outside the output), a device. The special file is
still there afterwards, untouched, and no temporary file is left. Inputs: a missing path is a
FileNotFoundError naming it before any other rule; a stream (a named pipe, /dev/stdin) is read
once, front to back, and gives the bytes a file gives; damaged BGZF is refused or reported.
"""
from __future__ import annotations

import gzip
import os
import socket
import stat
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import fragcov
from fragcov._notices import FragcovWarning
from fragcov.demo import DEMO
from test_groups_tables import demo_groups, fed_fifo, file_bytes
from test_import_fragments import bgzip_bytes

SIZES = DEMO / "chrom.sizes"
FRAGMENTS = DEMO / "fragments.tsv.gz"
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        return fn(*args, **kw)


# ---- special files at an output path ------------------------------------------------------

def make_special(path: Path, kind: str, outside: Path) -> str:
    """Puts a `kind` where an output goes; returns what it should still be afterwards."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    elif kind == "symlink":
        outside.write_text("precious")
        path.symlink_to(outside)
    elif kind == "dangling symlink":
        path.symlink_to(outside.parent / "nothing-here")
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's numbers
        except PermissionError:
            pytest.skip("cannot make a device node here")
    return kind


def still(path: Path, kind: str, outside: Path) -> bool:
    mode = os.lstat(path).st_mode
    return {"fifo": stat.S_ISFIFO, "socket": stat.S_ISSOCK, "device": stat.S_ISCHR,
            "symlink": stat.S_ISLNK, "dangling symlink": stat.S_ISLNK}[kind](mode) and \
        (kind != "symlink" or outside.read_text() == "precious")


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".fragcov-" in p.name]


KINDS = ["fifo", "socket", "symlink", "dangling symlink", "device"]


def _export(out, groups=None, **kw):
    return fragcov.export_coverage(FRAGMENTS, groups or demo_groups(), out_dir=out, chrom_sizes=SIZES, n_jobs=1,
                                   **kw)


def _compare(out, **kw):
    return fragcov.compare_groups(FRAGMENTS, demo_groups(), out_dir=out, chrom_sizes=SIZES, n_jobs=1, **kw)


WRITERS = {
    # name -> (file name it writes in `out`, call)
    "bigwig": ("CD14 Mono.bw", lambda out: _export(out)),
    "bedgraph": ("CD14 Mono.bedgraph.gz", lambda out: _export(out, suffix=".bedgraph.gz")),
    "compare": ("CD14 Mono.log2.bw", lambda out: _compare(out)),
    "h5ad": ("x.h5ad", lambda out: fragcov.import_fragments(FRAGMENTS, SIZES, file=out / "x.h5ad")),
    "figure": ("f.png", lambda out: fragcov.pl.tracks(FRAGMENTS, "chr21:11,900,000-11,960,000",
                                                     groupby=DEMO / "groups.tsv", chrom_sizes=SIZES,
                                                     output=out / "f.png")),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("writer", list(WRITERS))
def test_no_writer_replaces_what_is_not_a_regular_file(tmp_path, writer, kind):
    if writer == "figure":
        pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    out.mkdir()
    name, call = WRITERS[writer]
    outside = tmp_path / "outside.txt"
    make_special(out / name, kind, outside)
    with pytest.raises(ValueError, match="not a regular file"):
        quiet(call, out)
    assert still(out / name, kind, outside)
    assert no_temporaries(out)


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
def test_export_fragments_refuses_them_too(tmp_path, kind):
    adata = quiet(fragcov.import_fragments, FRAGMENTS, SIZES, min_num_fragments=0)
    adata.obs["g"] = [demo_groups().get(b) for b in adata.obs_names]
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside.txt"
    make_special(out / "CD14 Mono.bed.gz", kind, outside)
    with pytest.raises(ValueError, match="not a regular file"):
        fragcov.export_fragments(adata, "g", out_dir=out, suffix=".bed.gz")
    assert still(out / "CD14 Mono.bed.gz", kind, outside) and no_temporaries(out)
    assert sorted(os.listdir(out)) == ["CD14 Mono.bed.gz"]  # the other groups were not written either


def test_the_cli_never_replaces_dev_null(tmp_path):
    """As root, `import-fragments --output /dev/null` replaced the system's /dev/null by a regular file."""
    before = os.stat("/dev/null")
    r = subprocess.run([sys.executable, "-m", "fragcov", "import-fragments", str(FRAGMENTS), "--chrom-sizes",
                        str(SIZES), "--output", "/dev/null"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a regular file" in r.stderr, r.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


@pytest.mark.parametrize("name", ["tab\tgroup", "new\nline", "cr\rgroup", "esc\x1bgroup"])
def test_a_group_name_with_a_control_character_cannot_name_a_file(tmp_path, name):
    groups = dict(demo_groups())
    first = next(iter(groups))
    groups[first] = name
    with pytest.raises(ValueError, match="control character"):
        quiet(_export, tmp_path / "out", groups, suffix=".bedgraph")
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


# ---- inputs -------------------------------------------------------------------------------

def test_a_missing_input_is_named_before_any_other_rule(tmp_path):
    missing = tmp_path / "nope.tsv.gz"
    with pytest.raises(FileNotFoundError, match=r"nope\.tsv\.gz"):
        fragcov.export_coverage(missing, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o")
    with pytest.raises(FileNotFoundError, match=r"nope\.tsv\.gz"):  # not "chrom_sizes only apply when ..."
        fragcov.export_coverage(missing, "cell_type", chrom_sizes=SIZES, bin_size=0, out_dir=tmp_path / "o")
    with pytest.raises(FileNotFoundError, match=r"nope\.tsv\.gz"):
        fragcov.compare_groups(missing, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o")
    with pytest.raises(FileNotFoundError, match=r"nope\.tsv\.gz"):
        fragcov.import_fragments(missing, SIZES, file=tmp_path / "missing-folder" / "x.h5ad")
    with pytest.raises(FileNotFoundError, match=r"nope\.tsv\.gz"):
        fragcov.export_fragments(missing, "cell_type", out_dir=tmp_path / "o")
    with pytest.raises(FileNotFoundError, match=r"nope\.tsv\.gz"):
        fragcov.export_coverage([FRAGMENTS, missing], demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_folder_as_input_is_named(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        fragcov.export_coverage(tmp_path, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        fragcov.import_fragments(tmp_path, SIZES)


def test_dev_stdin_through_the_cli_equals_the_file(tmp_path):
    """`fragcov export-coverage /dev/stdin ... < fragments.tsv.gz`: a stream, read once, never probed."""
    args = ["--groups", str(DEMO / "groups.tsv"), "--chrom-sizes", str(SIZES), "--suffix", ".bedgraph",
            "--bin-size", "100", "-q"]
    with open(FRAGMENTS, "rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "fragcov", "export-coverage", "/dev/stdin", *args, "--out-dir",
                            str(tmp_path / "s")], stdin=stdin, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r2 = subprocess.run([sys.executable, "-m", "fragcov", "export-coverage", str(FRAGMENTS), *args, "--out-dir",
                         str(tmp_path / "f")], capture_output=True, text=True)
    assert r2.returncode == 0, r2.stderr
    names = sorted(os.listdir(tmp_path / "f"))
    assert names == sorted(os.listdir(tmp_path / "s")) and len(names) == 3
    for n in names:
        assert (tmp_path / "s" / n).read_bytes() == (tmp_path / "f" / n).read_bytes()


def test_a_pipe_of_plain_text_as_import_input_equals_the_file(tmp_path):
    text = gzip.decompress(FRAGMENTS.read_bytes())
    with fed_fifo(tmp_path / "frag.fifo", text) as fifo:
        a = quiet(fragcov.import_fragments, fifo, SIZES, min_num_fragments=0)
    b = quiet(fragcov.import_fragments, FRAGMENTS, SIZES, min_num_fragments=0)
    assert list(a.obs_names) == list(b.obs_names)
    assert (a.obsm["fragment_paired"] != b.obsm["fragment_paired"]).nnz == 0


def test_an_hdf5_stream_is_refused_not_probed(tmp_path):
    h5 = tmp_path / "x.h5ad"
    quiet(fragcov.import_fragments, FRAGMENTS, SIZES, file=h5, min_num_fragments=0)
    with fed_fifo(tmp_path / "h5.fifo", h5.read_bytes()) as fifo:
        with pytest.raises(ValueError, match="HDF5"):
            quiet(fragcov.export_coverage, fifo, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_an_empty_stream_is_no_fragment_not_a_hang(tmp_path):
    with fed_fifo(tmp_path / "empty.fifo", b"") as fifo:
        with pytest.raises(ValueError, match="holds no fragment"):
            quiet(fragcov.export_coverage, fifo, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_device_without_line_ends_is_an_error_not_unbounded_memory(tmp_path):
    with pytest.raises(ValueError, match=r"/dev/zero: line 1: the line is longer than 1 MiB"):
        fragcov.export_coverage("/dev/zero", demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o", n_jobs=1)
    big = tmp_path / "long.tsv"
    big.write_bytes(b"#comment\n" + b"chr21\t1\t" + b"9" * (2 << 20) + b"\tAAA\t1\n")
    for n_jobs in (1, 2):
        with pytest.raises(ValueError, match=r"long\.tsv: line 2: the line is longer than 1 MiB"):
            fragcov.export_coverage(big, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o", n_jobs=n_jobs)
    assert not (tmp_path / "o").exists()


def test_a_long_comment_line_is_still_a_comment(tmp_path):
    text = gzip.decompress(FRAGMENTS.read_bytes())
    long = tmp_path / "long-comment.tsv"
    long.write_bytes(b"#" + b"x" * (3 << 20) + b"\n" + text)
    a = quiet(fragcov.export_coverage, long, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "a",
              suffix=".bedgraph", bin_size=100)
    b = quiet(fragcov.export_coverage, FRAGMENTS, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "b",
              suffix=".bedgraph", bin_size=100)
    assert file_bytes(a) == file_bytes(b)


# ---- BGZF damage ----------------------------------------------------------------------------

def bgzf_blocks(data: bytes) -> list[bytes]:
    """The blocks of bgzip_bytes(data) (BSIZE read from each header), the EOF block last."""
    raw = bgzip_bytes(data)
    out, i = [], 0
    while i < len(raw):
        bsize = struct.unpack_from("<H", raw, i + 16)[0]
        out.append(raw[i:i + bsize + 1])
        i += bsize + 1
    return out


def test_a_bgzf_block_claiming_more_than_64_kib_is_corrupt(tmp_path):
    text = gzip.decompress(FRAGMENTS.read_bytes())
    blocks = bgzf_blocks(text)
    b = bytearray(blocks[1])
    b[-4:] = struct.pack("<I", 0xFFFFFFF0)  # ISIZE: 4 GB of text in one block
    bad = tmp_path / "bad.tsv.gz"
    bad.write_bytes(blocks[0] + bytes(b) + b"".join(blocks[2:]))
    for n_jobs in (1, 2):
        with pytest.raises(ValueError, match=r"bad\.tsv\.gz: the BGZF block at byte \d+ claims 4294967280 bytes"):
            fragcov.export_coverage(bad, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "o", n_jobs=n_jobs)
    assert not (tmp_path / "o").exists()


def test_bgzf_without_its_eof_marker_warns_naming_the_file(tmp_path):
    text = gzip.decompress(FRAGMENTS.read_bytes())
    whole = tmp_path / "whole.tsv.gz"
    whole.write_bytes(bgzip_bytes(text))
    cut = tmp_path / "cut.tsv.gz"
    cut.write_bytes(bgzip_bytes(text)[:-len(EOF_BLOCK)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = fragcov.export_coverage(cut, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "a", bin_size=100,
                                    suffix=".bedgraph")
    eof = [str(w.message) for w in caught if "end-of-file marker" in str(w.message)]
    assert len(eof) == 1 and "cut.tsv.gz" in eof[0] and "truncated" in eof[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = fragcov.export_coverage(whole, demo_groups(), chrom_sizes=SIZES, out_dir=tmp_path / "b", bin_size=100,
                                    suffix=".bedgraph")
    assert not [w for w in caught if "end-of-file marker" in str(w.message)]
    assert file_bytes(a) == file_bytes(b)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fragcov.import_fragments(cut, SIZES, min_num_fragments=0)
    assert [w for w in caught if "end-of-file marker" in str(w.message) and "cut.tsv.gz" in str(w.message)]


# ---- threads ------------------------------------------------------------------------------

def _max_threads_while(cmd: list[str], cpus: str) -> int:
    """Runs cmd on the given CPUs and returns the most threads seen in it (sampled: a sample never
    counts threads that do not exist, so the bound checked below cannot fail by timing)."""
    with subprocess.Popen(["taskset", "-c", cpus, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as p:
        most = 0
        while p.poll() is None:
            try:
                most = max(most, len(os.listdir(f"/proc/{p.pid}/task")))
            except FileNotFoundError:
                break
        assert p.wait() == 0, p.stderr.read()
    return most


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.exists("/usr/bin/taskset"),
                    reason="taskset and /proc")
def test_n_jobs_1000_on_one_processor_starts_a_handful_of_threads(tmp_path):
    big = tmp_path / "big.tsv.gz"
    big.write_bytes(bgzip_bytes(gzip.decompress(FRAGMENTS.read_bytes()) * 6))
    code = ("import warnings, fragcov; warnings.simplefilter('ignore'); "
            f"fragcov.export_coverage({str(big)!r}, {str(DEMO / 'groups.tsv')!r}, chrom_sizes={str(SIZES)!r}, "
            f"out_dir={str(tmp_path / 'o')!r}, n_jobs=1000, smooth_base=50)")
    most = _max_threads_while([sys.executable, "-c", code], "0")
    # the interpreter, the library's (OpenBLAS, tqdm) and ours: one binning, one writing, one reader,
    # one BGZF worker at a time; never hundreds
    assert most < 40, most
