"""Downloads the source distributions NAME==VERSION ... from PyPI into DEST, checking
each file's sha256 against the index (scripts/build_deps.sh). Not `pip download`: pip
prepares an sdist's metadata by running its build, and zstandard's build needs a C
compiler, which the route without root (scripts/no_root.sh) may not have yet.

    python scripts/pypi_sdist.py DEST zstandard==0.25.0 deflate==0.9.0
"""
from __future__ import annotations

import hashlib
import json
import sys
import urllib.parse
import urllib.request
from pathlib import Path


def download(spec: str, dest: Path) -> Path:
    """The sdist of NAME==VERSION, through PyPI's simple index (PEP 691 JSON), as pip finds it."""
    name, version = spec.split("==")
    index = f"https://pypi.org/simple/{name}/"
    request = urllib.request.Request(index, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    files = json.load(urllib.request.urlopen(request, timeout=60))["files"]
    names = (f"{name}-{version}.tar.gz", f"{name.replace('-', '_')}-{version}.tar.gz")
    wanted = [f for f in files if f["filename"] in names]
    if not wanted:
        raise SystemExit(f"error: PyPI has no sdist of {spec}")
    sdist = wanted[0]
    data = urllib.request.urlopen(urllib.parse.urljoin(index, sdist["url"]), timeout=300).read()
    if hashlib.sha256(data).hexdigest() != sdist["hashes"]["sha256"]:
        raise SystemExit(f"error: {sdist['filename']}: sha256 differs from PyPI's")
    path = dest / sdist["filename"]
    path.write_bytes(data)
    return path


if __name__ == "__main__":
    dest = Path(sys.argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    for spec in sys.argv[2:]:
        download(spec, dest)
