"""The pip options that make ``make`` install PyTorch's CPU wheels where PyTorch's CPU index answers.

PyPI's torch for Linux and Windows is the CUDA build: with its nvidia-* and triton wheels a ``.venv``
holds about 6 GB, for a course that runs on a CPU. PyTorch's CPU index serves the same versions
(``2.14.0+cpu`` satisfies the pin ``torch==2.14.0`` and pip prefers it) without them. But an index
that does not answer costs pip several seconds of retries for every package it looks up, so the
index is never passed blindly: it is probed once, with a short timeout, and pip gets it only if it
answered. Otherwise pip uses PyPI alone, after a one-line notice.

    pip install -r requirements.txt $(python tools/torch_index.py)

prints ``--extra-index-url https://download.pytorch.org/whl/cpu`` or nothing; the notice goes to
stderr. ``COURSE_TORCH_INDEX`` overrides the probe: ``cpu`` (pass the index without probing),
``pypi`` (never pass it) or ``auto`` (the default).
"""
from __future__ import annotations

import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_URL = f"{CPU_INDEX}/torch/"
TIMEOUT = 5.0
CHOICES = ("auto", "cpu", "pypi")


def reachable(url: str, timeout: float = TIMEOUT) -> bool:
    """Whether ``url`` answers with a success status within ``timeout`` seconds in all.

    The request runs in a daemon thread so that the name lookup, which ``urlopen``'s timeout does not
    cover, cannot hold ``make`` up either."""
    answered: list[bool] = []

    def probe() -> None:
        try:
            request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "pip"})
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - fixed https URL
                answered.append(200 <= response.status < 400)
        except (OSError, ValueError):  # URLError, HTTPError, timeouts and refused connections
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered and answered[0])


def pip_options(environ: Mapping[str, str], platform: str = sys.platform,
                probe: Callable[[str], bool] = reachable) -> tuple[list[str], str | None]:
    """The pip options, and the notice to print (or None), for this environment."""
    choice = environ.get("COURSE_TORCH_INDEX", "").strip().lower() or "auto"
    if choice not in CHOICES:
        raise SystemExit(f"error: COURSE_TORCH_INDEX must be one of {', '.join(CHOICES)}, "
                         f"got {environ['COURSE_TORCH_INDEX']!r}")
    if choice == "pypi":
        return [], None
    configured = " ".join(environ.get(name, "") for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"))
    if CPU_INDEX in configured:
        return [], None  # pip reads the index from its environment already (GitHub Actions)
    if choice == "cpu":
        return ["--extra-index-url", CPU_INDEX], None
    if platform == "darwin":
        return [], None  # PyPI's macOS torch is the CPU build already
    if probe(PROBE_URL):
        return ["--extra-index-url", CPU_INDEX], f"torch: CPU wheels from {CPU_INDEX}"
    return [], (f"notice: PyTorch's CPU index ({CPU_INDEX}) is not reachable (probed for {TIMEOUT:.0f} s): "
                "torch comes from PyPI, its CUDA build of several GB (COURSE_TORCH_INDEX=cpu insists)")


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    options, notice = pip_options(os.environ)
    if notice:
        print(notice, file=sys.stderr)
    print(" ".join(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
