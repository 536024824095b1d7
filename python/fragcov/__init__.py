"""fragcov: fast grouped coverage tracks from single-cell ATAC-seq fragments."""
from ._core import __version__
from ._settings import set_quiet
from ._notices import FragcovWarning
from ._genomes import resolve_chrom_sizes

# The functions and namespaces below are imported on first use (PEP 562): their
# modules pull in numpy, pandas, h5py and anndata, which would make `import fragcov`
# and `fragcov --version` take most of a second (docs/spec.md 1.1.1).
_LAZY = {
    "export_coverage": "._export",
    "compare_groups": "._compare",
    "profile": "._profile",
    "Profiles": "._profile",
    "export_fragments": "._export_fragments",
    "import_fragments": "._import",
    "read": "._read",
    "ex": ".ex",  # SnapATAC2-style namespaces
    "pp": ".pp",
    "pl": ".pl",
    "datasets": ".datasets",
    "genome": ".genome",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'fragcov' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name], __name__)
    value = module if _LAZY[name] == "." + name else getattr(module, name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["export_coverage", "compare_groups", "profile", "Profiles", "pl", "export_fragments", "import_fragments",
           "read", "ex", "pp", "datasets", "genome", "set_quiet", "resolve_chrom_sizes", "FragcovWarning",
           "__version__"]
