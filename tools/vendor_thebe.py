"""Install thebe's browser bundle into ``node_modules/thebe`` from the npm registry.

The site serves thebe itself (Live Code makes no request to a CDN). ``npm install thebe`` does not
work: thebe 0.9.3 declares JupyterLab packages that the registry cannot resolve together. Its
``lib/`` folder, however, is a self-contained webpack bundle, so the published tarball is all the
site needs. Version and integrity are pinned in ``package.json`` under ``courseVendored``; the
tarball is fetched with ``npm pack`` and refused unless its SHA-512 matches.

``python3 tools/vendor_thebe.py`` (run by ``make book``) does nothing when the pinned version is
already installed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = ".course-integrity"


class VendorError(RuntimeError):
    pass


def pinned(package_json: Path, name: str) -> tuple[str, str]:
    """(version, integrity) of ``name`` under ``courseVendored`` in ``package.json``."""
    data = json.loads(package_json.read_text(encoding="utf-8"))
    try:
        entry = data["courseVendored"][name]
        return entry["version"], entry["integrity"]
    except (KeyError, TypeError) as err:
        raise VendorError(f"{package_json}: no courseVendored.{name}.version/integrity") from err


def integrity_of(path: Path) -> str:
    """The npm-style ``sha512-<base64>`` integrity string of a file."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def extract(tarball: Path, target: Path) -> None:
    """Unpack an npm tarball (everything sits under ``package/``) into ``target``."""
    if target.exists():
        shutil.rmtree(target)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(tarball) as archive:
        archive.extractall(tmp, filter="data")
        shutil.move(Path(tmp) / "package", target)


def install(name: str, root: Path = ROOT) -> Path:
    version, integrity = pinned(root / "package.json", name)
    target = root / "node_modules" / name
    stamp = target / STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == integrity:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", tmp,
                                 "--json", "--loglevel=error"], capture_output=True, text=True)
        if result.returncode != 0:
            raise VendorError(f"npm pack {name}@{version} failed:\n{result.stderr}")
        tarball = Path(tmp) / json.loads(result.stdout)[0]["filename"]
        actual = integrity_of(tarball)
        if actual != integrity:
            raise VendorError(f"{name}@{version}: integrity {actual} does not match the pin "
                              f"{integrity} in package.json; refusing to install it")
        extract(tarball, target)
    stamp.write_text(integrity + "\n", encoding="utf-8")
    return target


def main() -> int:
    try:
        target = install("thebe")
    except VendorError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"thebe installed in {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
