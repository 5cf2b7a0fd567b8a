"""The page-speed tool (tools/lighthouse.py): its host calibration and its gzip server."""
from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from lighthouse import MIN_PERFORMANCE, calibrated_multiplier, serve, shortfalls  # noqa: E402


def test_the_cpu_slowdown_follows_the_host() -> None:
    assert calibrated_multiplier(1750, {}) == 4.0  # the host the preset is meant for
    assert calibrated_multiplier(2625, {}) == 6.0 and calibrated_multiplier(875, {}) == 2.0
    assert calibrated_multiplier(300, {}) == 1.0  # never faster than the host itself
    assert calibrated_multiplier(300, {"COURSE_LIGHTHOUSE_CPU_MULTIPLIER": "4"}) == 4.0
    with pytest.raises(ValueError, match="COURSE_LIGHTHOUSE_CPU_MULTIPLIER must be a number of at least 1"):
        calibrated_multiplier(300, {"COURSE_LIGHTHOUSE_CPU_MULTIPLIER": "fast"})


def test_gzip_handler_compresses_text_only(tmp_path: Path) -> None:
    """The server compresses text as GitHub Pages does, and sends images as they are."""
    import urllib.request

    (tmp_path / "page.html").write_text("<p>" + "x" * 5000 + "</p>")
    (tmp_path / "image.png").write_bytes(b"\x89PNG" + b"\0" * 5000)
    server, base = serve(tmp_path)
    try:
        def get(name: str) -> tuple[str | None, bytes]:
            request = urllib.request.Request(base + name, headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.headers.get("Content-Encoding"), response.read()

        encoding, body = get("page.html")
        assert encoding == "gzip" and gzip.decompress(body).startswith(b"<p>xxx") and len(body) < 200
        encoding, body = get("image.png")
        assert encoding is None and len(body) == 5004
    finally:
        server.shutdown()


def test_shortfalls_name_the_page_and_the_threshold() -> None:
    def result(page: str, performance: int, transfer: int = 500_000) -> dict:
        return {"page": page, "median": {"performance": performance, "transfer_bytes": transfer},
                "performance_runs": [performance] * 3}
    good = {"home": result("book/intro.html", 95), "lecture": result("lectures/lecture4.html", 91),
            "plotly": result("code/x.html", 85), "lecture-no-plotly": result("lectures/lecture4.html", 91)}
    assert shortfalls(good) == []
    slow = dict(good, lecture=result("lectures/lecture4.html", 81),
                **{"lecture-no-plotly": result("lectures/lecture4.html", 81, 1_200_000)})
    missed = shortfalls(slow)
    assert len(missed) == 2
    assert "lectures/lecture4.html: performance 81" in missed[0] and f"below {MIN_PERFORMANCE['lecture']}" in missed[0]
    assert "1.20 MB on first load" in missed[1]
