"""fragcov.pl.tracks (docs/spec.md section 15), rendered headless."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import fragcov
from fragcov.demo import DEMO
from helpers import read_track

REGION = "chr21:11,900,000-11,960,000"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("tracks")
    return fragcov.export_coverage(DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", bin_size=100,
                                   normalization="CPM", out_dir=out, chrom_sizes=DEMO / "chrom.sizes", n_jobs=1)


def _window_max(path):
    rec = read_track(path, ["chr21", "chr22", "chrM"])
    sel = (rec.chrom == "chr21") & (rec.end > 11_900_000) & (rec.start < 11_960_000)
    return float(rec.value[sel].max())


def _track_axes(fig):
    return [ax for ax in fig.axes if ax.get_label().startswith("track:")]


def test_rows_scale_and_genes(exported, tmp_path):
    fig = fragcov.pl.tracks(exported, REGION, genes=DEMO / "genes.gtf", output=tmp_path / "f.png")
    rows = _track_axes(fig)
    assert [ax.get_label()[6:] for ax in rows] == list(exported)
    assert len(fig.axes) == len(exported) + 2  # + genes + coordinates
    top = max(_window_max(p) for p in exported.values())
    for ax in rows:
        assert ax.get_ylim()[1] == pytest.approx(top, rel=0, abs=0)
        assert any(t.get_text().startswith("[0-") for t in ax.texts)
    genes = [ax for ax in fig.axes if ax.get_label() == "genes"][0]
    names = {t.get_text() for t in genes.texts}
    assert {"MONO1", "TCF8X", "NAIVE1"} <= names
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_per_track_y(exported):
    fig = fragcov.pl.tracks(exported, REGION, shared_y=False)
    for ax, path in zip(_track_axes(fig), exported.values()):
        assert ax.get_ylim()[1] == _window_max(path)


def test_folder_gene_region_and_formats(exported, tmp_path):
    folder = Path(next(iter(exported.values()))).parent
    fig = fragcov.pl.tracks(folder, "naive1", genes=DEMO / "genes.gtf", output=tmp_path / "f.svg")
    assert len(_track_axes(fig)) == 3
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    fragcov.pl.tracks(exported, REGION, output=tmp_path / "f.pdf")
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="figure format"):
        fragcov.pl.tracks(exported, REGION, output=tmp_path / "f.jpg")
    with pytest.raises(ValueError, match="not in the annotation"):
        fragcov.pl.tracks(exported, "NOSUCH", genes=DEMO / "genes.gtf")
    with pytest.raises(ValueError, match="is not 'chrom:start-end'"):
        fragcov.pl.tracks(exported, "chr21-100")


def test_on_the_fly_from_fragments_equals_export(exported):
    fig = fragcov.pl.tracks(DEMO / "fragments.tsv.gz", REGION, groupby=DEMO / "groups.tsv",
                            chrom_sizes=DEMO / "chrom.sizes", bin_size=100)
    top = max(_window_max(p) for p in exported.values())
    assert np.float32(_track_axes(fig)[0].get_ylim()[1]) == np.float32(top)


def test_cli(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "fig.png"
    r = subprocess.run([sys.executable, "-m", "fragcov", "plot", str(DEMO / "fragments.tsv.gz"), "--groups",
                        str(DEMO / "groups.tsv"), "--chrom-sizes", str(DEMO / "chrom.sizes"), "--region", "MONO1",
                        "--genes", str(DEMO / "genes.gtf"), "--per-track-y", "--output", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1000


def test_readme_figure_command(tmp_path):
    """The README's `fragcov plot` command (which made docs/tracks.png) runs as written from the repository."""
    import re
    import shlex
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    block = re.search(r"```bash\n(fragcov plot python/fragcov/data/demo/.*?)```", (repo / "README.md").read_text(),
                      flags=re.S).group(1)
    args = shlex.split(re.sub(r"\\\n\s*", " ", block))[1:]
    args[args.index("--output") + 1] = str(tmp_path / "tracks.png")
    r = subprocess.run([sys.executable, "-m", "fragcov", *args], cwd=repo, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "tracks.png").stat().st_size > 10_000
