"""The site's PNG images made smaller without changing a pixel.

Matplotlib writes RGBA PNGs at zlib's default level, even for a figure without a transparent pixel.
After each build the PNGs in ``_images`` are rewritten, when that makes them smaller, as:

- RGB when every pixel is opaque, and grey when every pixel is grey too;
- a palette image when the picture has at most 256 colours (diagrams, segmentation maps);
- with zlib's best compression and Pillow's filter search (``optimize``).

Every candidate is decoded again and compared with the original pixel for pixel; a file is replaced
only by an identical picture. Sphinx copies the original over the result on each build, so the
results are kept in ``_build/.png-cache`` under the SHA-256 of the original and reused.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

CACHE = ".png-cache"


def _pixels(image) -> bytes:  # noqa: ANN001 - a PIL image
    return image.convert("RGBA").tobytes()


def smaller_png(data: bytes) -> bytes | None:
    """The same picture as the PNG ``data`` in fewer bytes, or None when no candidate is smaller."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as original:
        if original.format != "PNG" or getattr(original, "is_animated", False):
            return None
        original.load()
        reference = _pixels(original)
        image = original
        if image.mode in ("RGBA", "LA") and image.getextrema()[-1][0] == 255:
            image = image.convert("RGB" if image.mode == "RGBA" else "L")
        candidates = [image]
        if image.mode == "RGB":
            red, green, blue = image.split()
            if red.tobytes() == green.tobytes() == blue.tobytes():
                candidates.append(red)  # a grey picture
        if image.mode in ("RGB", "RGBA") and image.getcolors(256) is not None:
            candidates.append(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
                              if image.mode == "RGB" else image.quantize(256, method=Image.Quantize.FASTOCTREE))
        best: bytes | None = None
        for candidate in candidates:
            buffer = io.BytesIO()
            candidate.save(buffer, "PNG", optimize=True)
            encoded = buffer.getvalue()
            if len(encoded) >= len(data) or (best is not None and len(encoded) >= len(best)):
                continue
            with Image.open(io.BytesIO(encoded)) as again:
                if _pixels(again) == reference:
                    best = encoded
        return best


def optimize_pngs(images: Path, cache: Path) -> tuple[int, int]:
    """Rewrite the PNGs of ``images`` (see the module docstring); return the bytes before and after."""
    before = after = 0
    cache.mkdir(parents=True, exist_ok=True)
    for path in sorted(images.rglob("*.png")):
        data = path.read_bytes()
        before += len(data)
        key = cache / f"{hashlib.sha256(data).hexdigest()}.png"
        if key.is_file():
            result = key.read_bytes()
        else:
            try:
                result = smaller_png(data) or data
            except Exception as error:  # noqa: BLE001 - a PNG Pillow cannot read stays as it is
                logger.info("course_book: %s left as it is (%s)", path.name, error)
                result = data
            key.write_bytes(result)
            # An already optimized file (a build that did not copy the original again) is a hit too.
            (cache / f"{hashlib.sha256(result).hexdigest()}.png").write_bytes(result)
        if result != data:
            path.write_bytes(result)
        after += len(result)
    return before, after


def write_smaller_pngs(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or not app.config.course_optimize_png:
        return
    images = Path(app.outdir) / "_images"
    if images.is_dir():
        before, after = optimize_pngs(images, Path(app.outdir).parent / CACHE)
        logger.info("course_book: PNG images %.0f KB -> %.0f KB", before / 1e3, after / 1e3)


def setup(app: Sphinx) -> None:
    app.add_config_value("course_optimize_png", True, "html", [bool])
    app.connect("build-finished", write_smaller_pngs)
