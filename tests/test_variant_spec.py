"""Parsing, snapping and negotiating variants: pure functions."""

from __future__ import annotations

import pytest

from api.storage.variants import InvalidVariant, Variant, VariantRequest, concrete, negotiate, parse_request, snap

LADDER = (64, 128, 256, 320, 480, 640, 1280, 2560)
ALL = frozenset({"avif", "webp", "jpeg", "png"})


@pytest.mark.parametrize(("asked", "step"), [(1, 64), (64, 64), (65, 128), (300, 320), (2000, 2560), (9000, 2560)])
def test_widths_snap_up_to_the_next_step(asked, step):
    assert snap(asked, LADDER) == step


def test_a_known_original_width_caps_the_step():
    assert snap(1200, LADDER, original_width=200) == 256
    assert snap(100, LADDER, original_width=200) == 128


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("image/avif,image/webp,*/*", "avif"),
        ("image/webp,*/*;q=0.8", "webp"),
        ("image/avif;q=0,image/webp", "webp"),
        ("*/*", "jpeg"),
        ("image/*", "jpeg"),
        ("", "jpeg"),
    ],
)
def test_auto_takes_only_formats_the_client_names(accept, chosen):
    assert negotiate("auto", accept, "image/jpeg", ALL) == chosen


def test_auto_skips_what_the_server_cannot_encode():
    assert negotiate("auto", "image/avif,image/webp", "image/png", frozenset({"webp", "png"})) == "webp"
    assert negotiate("auto", "image/avif", "image/gif", frozenset()) == "original"


def test_full_size_in_the_sources_own_format_is_the_original():
    asked = VariantRequest(None, "auto")
    assert concrete(asked, LADDER, "*/*", "image/jpeg", ALL) == Variant(None, "original")
    assert concrete(asked, LADDER, "image/webp", "image/jpeg", ALL) == Variant(None, "webp")


@pytest.mark.parametrize("width", ["abc", "0", "-5", "100000", " ", "1e3", "٣", True])
def test_bad_widths_name_their_field(width):
    with pytest.raises(InvalidVariant) as error:
        parse_request(width, None, names=("width", "format"))
    assert error.value.field == "width" and error.value.message.startswith("width:")


def test_formats_are_a_closed_list():
    assert parse_request(None, "JPG").format == "jpeg"
    with pytest.raises(InvalidVariant) as error:
        parse_request(320, "gif")
    assert error.value.field == "f"
