"""Deterministic demo images for the embedded store: varied sizes, formats and colours, plus
an album of large photo-like JPEGs (`demo_photos`)."""

from __future__ import annotations

import colorsys
import random
from pathlib import Path

from PIL import Image, ImageDraw

from .demo_photos import generate_photos

ALBUMS = {
    "landscapes": [(960, 540), (800, 450), (1024, 576), (720, 405)],
    "portraits": [(480, 720), (400, 600), (540, 810)],
    "squares": [(512, 512), (600, 600), (384, 384)],
    "panoramas": [(1200, 400), (900, 300)],
}
FORMATS = [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")]


def _render(rng: random.Random, size: tuple[int, int], index: int) -> Image.Image:
    width, height = size
    hue = rng.random()
    top = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.55, 0.95))
    bottom = tuple(int(c * 255) for c in colorsys.hsv_to_rgb((hue + 0.15) % 1, 0.8, 0.45))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), gradient)
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(rng.randint(3, 9)):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(min(size) // 12, min(size) // 3)
        colour = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(rng.random(), 0.6, 1.0)) + (rng.randint(60, 160),)
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    draw.text((16, height - 28), f"#{index:03d}  {width}x{height}", fill=(255, 255, 255, 230))
    return image


def generate(root: Path, count: int = 240, seed: int = 2024) -> int:
    """Write `count` images under `root/demo/<album>/`; returns how many were written."""
    rng = random.Random(seed)
    albums = list(ALBUMS)
    for index in range(count):
        album = albums[index % len(albums)]
        size = rng.choice(ALBUMS[album])
        extension, fmt = FORMATS[index % len(FORMATS)]
        path = root / "demo" / album / f"image-{index:03d}.{extension}"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        _render(rng, size, index).save(tmp, fmt, quality=82)
        tmp.replace(path)
    return count


def ensure_demo_images(root: Path, count: int = 240, photos: int = 48) -> int:
    """Generate demo images into an empty store, and the photo album into a demo store that
    lacks it (stores made before it existed); returns how many files were written. A store
    with other content is never written to."""
    root.mkdir(parents=True, exist_ok=True)
    written = 0
    if not any(p for p in root.rglob("*") if p.is_file()):
        written = generate(root, count)
    if (root / "demo").is_dir() and photos:
        written += generate_photos(root, photos)
    return written
