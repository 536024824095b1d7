"""fragcov: fast grouped coverage tracks from single-cell ATAC-seq fragments."""
from ._core import __version__
from ._export import export_coverage
from ._compare import compare_groups
from ._profile import Profiles, profile
from ._export_fragments import export_fragments
from ._settings import set_quiet
from ._notices import FragcovWarning
from ._genomes import resolve_chrom_sizes

from ._import import import_fragments
from ._read import read

from . import ex, pp, pl, datasets, genome  # noqa: E402  (SnapATAC2-style namespaces)

__all__ = ["export_coverage", "compare_groups", "profile", "Profiles", "pl", "export_fragments", "import_fragments",
           "read", "ex", "pp", "datasets", "genome", "set_quiet", "resolve_chrom_sizes", "FragcovWarning",
           "__version__"]
