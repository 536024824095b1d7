"""SnapATAC2-style namespace: ``fragcov.ex.export_coverage``."""
from ._export import export_coverage

__all__ = ["export_coverage"]
