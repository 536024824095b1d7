"""Built-in genomes as objects, like ``snapatac2.genome``: ``fragcov.genome.hg38``.

Each is a :class:`Genome` whose ``chrom_sizes`` is ``{chromosome: length}`` (UCSC's primary
assembly: autosomes, X, Y, M, in SnapATAC2's order). A Genome, SnapATAC2's
``snapatac2.genome.hg38`` or the name ``"hg38"`` all work as ``chrom_sizes``.

Examples
--------
>>> import fragcov
>>> fragcov.genome.hg38.chrom_sizes["chr21"]
46709983
>>> fragcov.genome.GRCh38 is fragcov.genome.hg38
True
"""
from __future__ import annotations

__all__ = ["Genome", "hg38", "GRCh38", "hg19", "GRCh37", "mm10", "GRCm38", "mm39", "GRCm39"]


class Genome:
    """A built-in genome: its ``name`` and ``chrom_sizes`` (``{chromosome: length}``, read when
    first used from the table shipped with fragcov).

    Pass it wherever ``chrom_sizes`` is taken (``import_fragments``, ``export_coverage`` of a
    fragment file, ``resolve_chrom_sizes``), as SnapATAC2's genome objects are.

    Examples
    --------
    >>> import fragcov
    >>> g = fragcov.genome.mm10
    >>> g.name, len(g.chrom_sizes)
    ('mm10', 22)
    """

    def __init__(self, name: str):
        self.name = name
        self._sizes: dict[str, int] | None = None

    @property
    def chrom_sizes(self) -> dict[str, int]:
        if self._sizes is None:
            from ._genomes import resolve_chrom_sizes

            self._sizes = dict(resolve_chrom_sizes(self.name))
        return dict(self._sizes)

    def __repr__(self) -> str:
        return f"fragcov.genome.{self.name}"


hg38 = GRCh38 = Genome("hg38")
hg19 = GRCh37 = Genome("hg19")
mm10 = GRCm38 = Genome("mm10")
mm39 = GRCm39 = Genome("mm39")
