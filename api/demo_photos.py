"""A deterministic album of photo-like JPEGs (~3000x2000, 1-3 MB each) for the embedded store.

They make the savings of variants visible in the demo and the benchmarks: a grid cell of the
small demo images costs little either way, a real photo does not. Each is a blurred scene of
soft shapes, scaled up and mixed with a grain texture (what makes JPEG files of real photos
large); Pillow only, about 0.2 s each, written once (files present are kept).
"""

from __future__ import annotations

import colorsys
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ALBUM = "demo/photos"
SIZES = [(3000, 2000), (3000, 2000), (2000, 3000), (3200, 1800)]
SKETCH_SCALE = 10  # the scene is drawn at 1/10 size, then scaled up (smooth, like defocus)
GRAIN_TILE = 512


def _colour(rng: random.Random, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(rng.random(), saturation, value)
    return int(r * 255), int(g * 255), int(b * 255)


def _scene(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    width, height = size[0] // SKETCH_SCALE, size[1] // SKETCH_SCALE
    sky = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), _colour(rng, 0.7, 0.35)),
        Image.new("RGB", (width, height), _colour(rng, 0.4, 0.95)),
        sky,
    )
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(rng.randint(25, 60)):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randint(2, max(3, min(width, height) // 4))
        fill = (*_colour(rng, rng.uniform(0.3, 0.9), rng.uniform(0.3, 1.0)), rng.randint(50, 200))
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape((x - r, y - r, x + r, y + r // 2), fill=fill)
    return image.filter(ImageFilter.GaussianBlur(1.2)).resize(size, Image.Resampling.BICUBIC)


def _grain(rng: random.Random) -> Image.Image:
    """A tile of colour noise from the seeded generator (Pillow's effect_noise is not seeded)."""
    side = GRAIN_TILE
    planes = [
        Image.frombytes("L", (side, side), rng.randbytes(side * side)).filter(ImageFilter.GaussianBlur(0.7))
        for _ in range(3)
    ]
    return Image.merge("RGB", planes)


def _textured(scene: Image.Image, grain: Image.Image, amount: float) -> Image.Image:
    texture = Image.new("RGB", scene.size)
    for x in range(0, scene.width, grain.width):
        for y in range(0, scene.height, grain.height):
            texture.paste(grain, (x, y))
    return Image.blend(scene, texture, amount)


def generate_photos(root: Path, count: int = 48, seed: int = 3000) -> int:
    """Write the album under `root/demo/photos/`; returns how many files were written (files
    already there are kept, so a second start costs nothing)."""
    rng = random.Random(seed)
    grain = _grain(rng)
    written = 0
    for index in range(count):
        size = SIZES[index % len(SIZES)]
        photo_rng = random.Random(rng.getrandbits(64))  # each photo the same whatever exists
        amount = 0.22 + 0.24 * photo_rng.random()  # grain decides the file size: ~1-2.5 MB
        path = root / ALBUM / f"photo-{index:03d}.jpg"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        _textured(_scene(photo_rng, size), grain, amount).save(tmp, "JPEG", quality=85)
        tmp.replace(path)
        written += 1
    return written
