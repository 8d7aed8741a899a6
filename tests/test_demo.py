"""The demo store: small images plus an album of large photo-like JPEGs, all deterministic."""

from __future__ import annotations

import hashlib

from PIL import Image

from api.demo import ensure_demo_images
from api.demo_photos import ALBUM, generate_photos


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_photos_are_large_photo_like_jpegs_and_the_same_every_time(tmp_path):
    assert generate_photos(tmp_path / "a", count=2) == 2
    assert generate_photos(tmp_path / "b", count=2) == 2
    for name in ("photo-000.jpg", "photo-001.jpg"):
        first, second = tmp_path / "a" / ALBUM / name, tmp_path / "b" / ALBUM / name
        assert _digest(first) == _digest(second)
        with Image.open(first) as image:
            assert image.format == "JPEG" and image.size == (3000, 2000)
        assert 1_000_000 <= first.stat().st_size <= 3_000_000


def test_files_present_are_kept(tmp_path):
    generate_photos(tmp_path, count=1)
    assert generate_photos(tmp_path, count=1) == 0


def test_an_empty_store_gets_both_and_a_foreign_store_nothing(tmp_path):
    demo = tmp_path / "demo-store"
    assert ensure_demo_images(demo, count=3, photos=1) == 4
    assert (demo / ALBUM / "photo-000.jpg").exists()
    foreign = tmp_path / "mine"
    (foreign / "x").mkdir(parents=True)
    (foreign / "x" / "a.png").write_bytes(b"x")
    assert ensure_demo_images(foreign, count=3, photos=1) == 0
