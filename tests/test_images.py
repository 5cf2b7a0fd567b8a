"""book/_ext/course_book/images.py: PNGs rewritten smaller, never with a pixel changed."""
from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from course_book import images


def png(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()


def plot(mode: str = "RGBA", colours: int = 1000) -> Image.Image:
    """A figure-like picture: white background, lines in up to ``colours`` colours."""
    image = Image.new(mode, (300, 200), "white")
    draw = ImageDraw.Draw(image)
    rng = random.Random(0)
    for i in range(120):
        colour = (i * 7919 % colours) % 256, (i * 104729 % colours) // 256 % 256, i % 256
        draw.line([(rng.randrange(300), rng.randrange(200)), (rng.randrange(300), rng.randrange(200))],
                  fill=colour[:3] + ((255,) if mode == "RGBA" else ()), width=2)
    return image


def test_an_opaque_rgba_plot_loses_its_alpha_channel_and_nothing_else() -> None:
    original = png(plot("RGBA"), compress_level=6)
    smaller = images.smaller_png(original)
    assert smaller is not None and len(smaller) < len(original)
    assert pixels(smaller) == pixels(original)
    with Image.open(io.BytesIO(smaller)) as image:
        assert image.mode in ("RGB", "P")


def test_a_picture_of_few_colours_becomes_a_palette_image() -> None:
    image = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(image).rectangle([20, 20, 150, 120], fill=(31, 119, 180))
    ImageDraw.Draw(image).ellipse([160, 40, 280, 180], fill=(255, 127, 14))
    original = png(image)
    smaller = images.smaller_png(original)
    assert smaller is not None and pixels(smaller) == pixels(original)
    with Image.open(io.BytesIO(smaller)) as again:
        assert again.mode == "P"


def test_transparency_is_kept() -> None:
    image = plot("RGBA")
    image.putpixel((0, 0), (0, 0, 0, 0))
    image.putpixel((1, 0), (200, 10, 10, 128))
    original = png(image, compress_level=1)
    smaller = images.smaller_png(original)
    assert smaller is not None and pixels(smaller) == pixels(original)


def test_noise_is_left_as_it_is() -> None:
    rng = random.Random(1)
    noise = Image.frombytes("RGB", (64, 64), bytes(rng.randrange(256) for _ in range(64 * 64 * 3)))
    assert images.smaller_png(png(noise, optimize=True)) is None


def test_not_a_png_is_left_alone() -> None:
    buffer = io.BytesIO()
    plot("RGB").save(buffer, "JPEG")
    assert images.smaller_png(buffer.getvalue()) is None


def test_the_site_images_are_rewritten_once_and_then_come_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, cache = tmp_path / "_images", tmp_path / "cache"
    (site / "sub").mkdir(parents=True)
    original = png(plot("RGBA"), compress_level=6)
    (site / "a.png").write_bytes(original)
    (site / "sub" / "b.png").write_bytes(original)
    (site / "c.jpg").write_bytes(b"not touched")
    before, after = images.optimize_pngs(site, cache)
    assert before == 2 * len(original) and after < before
    optimized = (site / "a.png").read_bytes()
    assert (site / "sub" / "b.png").read_bytes() == optimized and pixels(optimized) == pixels(original)
    assert (site / "c.jpg").read_bytes() == b"not touched"

    # The next build copies the original again: the result comes back from the cache.
    (site / "a.png").write_bytes(original)
    monkeypatch.setattr(images, "smaller_png", lambda data: pytest.fail("recomputed"))
    assert images.optimize_pngs(site, cache) == (len(original) + len(optimized), 2 * len(optimized))
    assert (site / "a.png").read_bytes() == optimized


def test_an_unreadable_png_stays_as_it_is(tmp_path: Path) -> None:
    site = tmp_path / "_images"
    site.mkdir()
    (site / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert images.optimize_pngs(site, tmp_path / "cache") == (15, 15)
    assert (site / "broken.png").read_bytes() == b"\x89PNG\r\n\x1a\n broken"
