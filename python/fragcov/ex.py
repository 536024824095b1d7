"""SnapATAC2-style namespace: ``fragcov.ex.export_coverage``, ``fragcov.ex.export_fragments``."""
from ._export import export_coverage
from ._export_fragments import export_fragments

__all__ = ["export_coverage", "export_fragments"]
