"""fragcov: fast grouped coverage tracks from single-cell ATAC-seq fragments."""
import sys as _sys

# Every name below is imported on first use (PEP 562): the modules of the functions pull
# in numpy, pandas, h5py and anndata, which would make `import fragcov` and `fragcov
# --version` take most of a second (docs/spec.md 1.1.1); and importing nothing here keeps
# the console script's first statement close to the interpreter's start, so that a
# Ctrl-C during start-up meets its handler (fragcov._console, spec 10.5).
_LAZY = {
    "__version__": "._core",
    "set_quiet": "._settings",
    "FragcovWarning": "._notices",
    "resolve_chrom_sizes": "._genomes",
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


class _Hdf5Filters:
    """h5py and anndata read the Blosc/zstd datasets of SnapATAC2's and fragcov's .h5ad files once
    hdf5plugin is imported, which `import fragcov` did when it imported everything: now hdf5plugin is
    imported right after h5py, whoever imports h5py (an import hook that removes itself), or at once
    if h5py is loaded already."""

    def find_spec(self, name, path=None, target=None):
        if name != "h5py":
            return None
        _sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec("h5py")
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def exec_then_register(module):
                exec_module(module)
                _register_hdf5_filters()

            spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def _register_hdf5_filters() -> None:
    try:
        import hdf5plugin  # noqa: F401
    except ImportError:  # pragma: no cover  (a dependency of fragcov)
        pass


if "h5py" in _sys.modules:
    _register_hdf5_filters()
else:
    _sys.meta_path.insert(0, _Hdf5Filters())


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
