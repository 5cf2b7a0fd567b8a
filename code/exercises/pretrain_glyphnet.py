"""Pre-train GlyphNet, the small "someone else's network" of Exercise 1.

No pre-trained weights can be downloaded when this course is built, so we make our own: a small
convolutional network trained on a large synthetic source task, then frozen in a file that the
exercise loads exactly as one would load a torchvision or Hugging Face checkpoint.

Source task
    Classify 16x16 grayscale images of the 36 printed characters 0-9 and A-Z. Each character is
    rendered from the fonts that ship with matplotlib (DejaVu Sans, Sans Mono and Serif, STIX
    General and five Computer Modern faces, 21 files in all) as a 32x32 master image, white ink on a
    black background. Every training image is a fresh random distortion of a master: thicker or
    thinner strokes, rotation, scaling, stretching, slant, shift, a smooth elastic wobble,
    downsampling to 16x16, blur, contrast and Gaussian noise. The data set is therefore as large as
    we want (192,000 images, none seen twice, during the default 1,500 steps) and needs no download.

Output
    ``glyphnet.pt`` next to this script (about 185 KB), a dictionary with
    ``state_dict`` (the weights), ``config`` (the constructor arguments of ``GlyphNet``) and
    ``preprocessing`` (what an input must look like: image size, ink polarity, value range, resize
    mode, normalization mean/std and the class names in output order), plus ``metrics``.

Run it with ``python pretrain_glyphnet.py`` (about 85 s of CPU time on one core). It is seeded and
deterministic: rerunning it with the same library versions reproduces the file's weights.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D
from sklearn.datasets import load_digits
from torch import nn

CLASSES: list[str] = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
FONT_FILES: list[str] = [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf",
]
IMAGE_SIZE = 16   # side of the network's input, in pixels
MASTER_SIZE = 32  # side of the rendered master glyphs; distortions are applied at this resolution
SEED = 0


class GlyphNet(nn.Module):
    """A small CNN: five 3x3 conv-BN-ReLU layers, three poolings, then dropout and a linear head.

    ``features(x)`` maps a batch of shape (B, 1, 16, 16) to (B, 16 * width) feature vectors
    (4 * width channels on a 2x2 grid); ``head`` (dropout then a linear layer) maps those to one
    logit per class.
    """

    def __init__(self, n_classes: int = 36, width: int = 16, dropout: float = 0.3) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(
            *block(1, width), *block(width, width), nn.MaxPool2d(2),              # 16x16 -> 8x8
            *block(width, 2 * width), *block(2 * width, 2 * width), nn.MaxPool2d(2),  # 8x8 -> 4x4
            *block(2 * width, 4 * width), nn.AvgPool2d(2), nn.Flatten(),          # 4x4 -> 2x2 -> vector
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(16 * width, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def render_masters(size: int = MASTER_SIZE, fill: float = 0.8) -> torch.Tensor:
    """Render every (font, character) pair as a white-on-black image of shape (size, size).

    The glyph outline comes from ``TextPath``; it is centred and scaled so that its longer side
    spans ``fill * size`` pixels (aspect ratio kept), then rasterized with antialiasing by Agg.
    Returns a float tensor of shape (n_fonts, n_classes, size, size) with values in [0, 1].
    """
    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fig = Figure(figsize=(1, 1), dpi=size)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, size)
    ax.set_ylim(0, size)
    ax.axis("off")
    masters = np.zeros((len(FONT_FILES), len(CLASSES), size, size), dtype=np.float32)
    for f, font_file in enumerate(FONT_FILES):
        prop = FontProperties(fname=str(font_dir / font_file))
        for c, char in enumerate(CLASSES):
            path = TextPath((0, 0), char, size=10, prop=prop)
            box = path.get_extents()
            scale = fill * size / max(box.width, box.height)
            to_canvas = (Affine2D().translate(-box.x0 - box.width / 2, -box.y0 - box.height / 2)
                         .scale(scale).translate(size / 2, size / 2))
            for patch in list(ax.patches):
                patch.remove()
            ax.add_patch(PathPatch(to_canvas.transform_path(path), facecolor="black", edgecolor="none"))
            canvas.draw()
            masters[f, c] = 1.0 - np.asarray(canvas.buffer_rgba())[..., 0] / 255.0
    return torch.from_numpy(masters)


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def sample_batch(masters: torch.Tensor, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` random distorted glyphs; returns images (n, 1, 16, 16) in [0, 1] and labels (n,)."""
    n_fonts, n_classes = masters.shape[:2]
    fonts = torch.randint(n_fonts, (n,), generator=gen)
    labels = torch.randint(n_classes, (n,), generator=gen)
    x = masters[fonts, labels].unsqueeze(1)                                   # (n, 1, 32, 32)

    # Stroke width, one of four with equal odds: thinner (the average of the image and its erosion,
    # so that hairlines fade but survive), unchanged, thicker and much thicker (dilation by one or two
    # master pixels).
    stroke = torch.randint(4, (n,), generator=gen).view(n, 1, 1, 1)
    thin = 0.5 * (x - F.max_pool2d(-x, 3, stride=1, padding=1))
    thick = F.max_pool2d(x, 3, stride=1, padding=1)
    thicker = F.max_pool2d(x, 5, stride=1, padding=2)
    x = torch.where(stroke == 0, thin, torch.where(stroke == 1, x, torch.where(stroke == 2, thick, thicker)))

    # Random affine map from output to input coordinates (affine_grid works in [-1, 1] units).
    angle = _uniform(n, -15, 15, gen) * torch.pi / 180
    zoom = _uniform(n, 0.8, 1.3, gen)
    aspect = _uniform(n, 0.8, 1.2, gen)
    slant = _uniform(n, -0.3, 0.3, gen)
    shift = _uniform(2 * n, -0.12, 0.12, gen).view(n, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotation = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    shear = torch.zeros(n, 2, 2)
    shear[:, 0, 0], shear[:, 0, 1], shear[:, 1, 1] = 1.0, slant, 1.0
    stretch = torch.diag_embed(torch.stack([1 / (zoom * aspect), aspect / zoom], 1))
    theta = torch.cat([rotation @ shear @ stretch, shift.unsqueeze(2)], 2)    # (n, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)            # (n, 32, 32, 2)
    # Elastic distortion, a crude imitation of handwriting: a smooth random displacement field, drawn
    # on a 4x4 grid and upsampled, wobbles the strokes locally (Simard et al., 2003).
    side = x.shape[-1]
    field = torch.randn(n, 2, 4, 4, generator=gen) * _uniform(n, 0.0, 0.12, gen).view(n, 1, 1, 1)
    field = F.interpolate(field, size=(side, side), mode="bicubic", align_corners=True)
    grid = grid + field.permute(0, 2, 3, 1)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # Down to the network's resolution by averaging 2x2 blocks, then blur (a random mix of the image
    # and two passes of a 3x3 binomial filter), contrast and noise.
    x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="area")
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :] / 16).view(1, 1, 3, 3)
    blurred = F.conv2d(F.conv2d(x, kernel, padding=1), kernel, padding=1)
    alpha = torch.rand(n, 1, 1, 1, generator=gen)
    x = (1 - alpha) * x + alpha * blurred
    x = x * _uniform(n, 0.6, 1.0, gen).view(n, 1, 1, 1)
    x = x + _uniform(n, 0.0, 0.08, gen).view(n, 1, 1, 1) * torch.randn(x.shape, generator=gen)
    return x.clamp(0.0, 1.0), labels


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_classes: int | None = None) -> float:
    """Top-1 accuracy in eval mode; with ``n_classes``, only the first n_classes logits compete."""
    model.eval()
    logits = model(x)
    if n_classes is not None:
        logits = logits[:, :n_classes]
    return (logits.argmax(1) == y).float().mean().item()


def train(steps: int = 1500, batch_size: int = 128, lr: float = 4e-3, seed: int = SEED,
          out: Path = Path(__file__).with_name("glyphnet.pt")) -> None:
    """Train GlyphNet on freshly sampled batches and save the checkpoint to ``out``."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # small convolutions: one thread is faster than two that wait on each other
    start = time.time()
    masters = render_masters()
    print(f"rendered {masters.shape[0]} fonts x {masters.shape[1]} characters in {time.time() - start:.1f} s")

    gen = torch.Generator().manual_seed(seed)
    stats_x, _ = sample_batch(masters, 20_000, torch.Generator().manual_seed(seed + 1))
    mean, std = round(stats_x.mean().item(), 4), round(stats_x.std().item(), 4)
    test_x, test_y = sample_batch(masters, 10_000, torch.Generator().manual_seed(seed + 2))
    test_x = (test_x - mean) / std

    digits = load_digits()
    digit_x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    digit_x = F.interpolate(digit_x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    digit_x, digit_y = (digit_x - mean) / std, torch.tensor(digits.target)

    config = {"n_classes": len(CLASSES), "width": 16, "dropout": 0.3}
    model = GlyphNet(**config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.15)
    for step in range(1, steps + 1):
        model.train()
        x, y = sample_batch(masters, batch_size, gen)
        loss = F.cross_entropy(model((x - mean) / std), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 250 == 0 or step == steps:
            print(f"step {step:5d}  loss {loss.item():.3f}  source test acc {accuracy(model, test_x, test_y):.3f}"
                  f"  ({time.time() - start:.0f} s)")

    metrics = {
        "source_test_accuracy": round(accuracy(model, test_x, test_y), 4),
        # Zero-shot on sklearn's handwritten digits, letting only the ten digit logits compete.
        "load_digits_zero_shot_accuracy": round(accuracy(model, digit_x, digit_y, n_classes=10), 4),
    }
    print(metrics)
    checkpoint = {
        "state_dict": model.state_dict(),
        "config": config,
        "preprocessing": {
            "image_size": IMAGE_SIZE,
            "channels": 1,
            "ink": "white ink on a black background",
            "value_range": [0.0, 1.0],
            "resize": "area averaging (torch.nn.functional.interpolate(mode='area')) when shrinking",
            "mean": mean,
            "std": std,
            "classes": CLASSES,
        },
        "metrics": metrics,
    }
    torch.save(checkpoint, out)
    print(f"saved {out} ({out.stat().st_size / 1024:.0f} KB) in {time.time() - start:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("glyphnet.pt"))
    args = parser.parse_args()
    train(steps=args.steps, out=args.out)
