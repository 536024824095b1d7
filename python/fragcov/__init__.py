"""fragcov: fast grouped coverage tracks from single-cell ATAC-seq fragments."""
from ._core import __version__
from ._export import export_coverage
from ._settings import set_quiet

try:
    from ._import import import_fragments
except ImportError:  # pragma: no cover - while the importer is being built
    pass

from . import ex, pp  # noqa: E402  (SnapATAC2-style namespaces)

__all__ = ["export_coverage", "import_fragments", "ex", "pp", "set_quiet", "__version__"]
