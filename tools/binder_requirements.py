"""Write binder/requirements.txt from requirements.txt (same pins, CPU wheels for torch).

Binder builds its image with repo2docker from binder/; it must install exactly what the book is
built with, but take torch and torchvision from PyTorch's CPU index to stay small.
``--check`` reports drift instead of writing (tests/test_environments.py does the same).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# Binder's environment: generated from ../requirements.txt by tools/binder_requirements.py; do not edit.
# Same pins as the book build; torch and torchvision come from PyTorch's CPU wheel index.
--extra-index-url https://download.pytorch.org/whl/cpu
"""


def pins(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", "-"))]


def expected() -> str:
    return HEADER + "\n".join(pins((ROOT / "requirements.txt").read_text(encoding="utf-8"))) + "\n"


def main() -> int:
    target = ROOT / "binder" / "requirements.txt"
    if "--check" in sys.argv:
        ok = target.is_file() and target.read_text(encoding="utf-8") == expected()
        print("binder/requirements.txt is in sync" if ok else "binder/requirements.txt drifted: run make notebooks")
        return 0 if ok else 1
    target.write_text(expected(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
