"""Storage contract tests, written once and run against every adapter.

A test module subclasses `StorageContract` and provides the `make_storage` fixture: a factory
`make_storage(objects: dict[str, bytes]) -> Storage` whose store holds exactly `objects`.
"""

from __future__ import annotations

import pytest

from api.storage import ObjectNotFound, RangeNotSatisfiable

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
OBJECTS = {
    "gallery/a.png": PNG,
    "gallery/b.jpg": b"\xff\xd8\xff" + b"b" * 1000,
    "gallery/sub/c.webp": b"RIFF" + b"c" * 500,
    "other/d.png": b"d" * 10,
    "空 间/图片 (1).png": b"unicode" * 3,
}


class StorageContract:
    @pytest.fixture
    def storage(self, make_storage):
        return make_storage(OBJECTS)

    def test_head_reports_size_type_and_etag(self, storage):
        info = storage.head("gallery/a.png")
        assert info.key == "gallery/a.png"
        assert info.size == len(PNG)
        assert info.content_type == "image/png"
        assert info.etag and info.etag == storage.head("gallery/a.png").etag
        assert info.last_modified > 0

    def test_head_of_unicode_key(self, storage):
        assert storage.head("空 间/图片 (1).png").size == len(OBJECTS["空 间/图片 (1).png"])

    def test_head_missing_raises_not_found(self, storage):
        with pytest.raises(ObjectNotFound):
            storage.head("gallery/missing.png")

    def test_open_streams_whole_object(self, storage):
        stream = storage.open("gallery/a.png")
        try:
            assert b"".join(stream.chunks) == PNG
            assert stream.length == len(PNG)
            assert stream.byte_range is None
        finally:
            stream.close()

    def test_open_range_returns_exact_bytes(self, storage):
        stream = storage.open("gallery/a.png", (10, 99))
        try:
            assert b"".join(stream.chunks) == PNG[10:100]
            assert stream.byte_range == (10, 99)
            assert stream.length == 90
        finally:
            stream.close()

    def test_open_open_ended_range(self, storage):
        stream = storage.open("gallery/a.png", (len(PNG) - 5, None))
        try:
            assert b"".join(stream.chunks) == PNG[-5:]
        finally:
            stream.close()

    def test_open_range_past_end_is_not_satisfiable(self, storage):
        with pytest.raises(RangeNotSatisfiable):
            storage.open("gallery/a.png", (len(PNG) + 10, None))

    def test_open_missing_raises_not_found(self, storage):
        with pytest.raises(ObjectNotFound):
            storage.open("nope.png")

    def test_list_pages_through_prefix_in_key_order(self, storage):
        seen, cursor = [], None
        while True:
            page = storage.list("gallery/", cursor, limit=2)
            assert len(page.items) <= 2
            seen += [item.key for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == ["gallery/a.png", "gallery/b.jpg", "gallery/sub/c.webp"]

    def test_list_items_carry_metadata(self, storage):
        page = storage.list("other/", None, limit=10)
        assert [(i.key, i.size, i.content_type) for i in page.items] == [("other/d.png", 10, "image/png")]
        assert page.items[0].etag

    def test_list_of_empty_prefix_is_empty(self, storage):
        page = storage.list("nothing-here/", None, limit=10)
        assert page.items == [] and page.next_cursor is None

    def test_sign_is_deterministic(self, storage):
        url = storage.sign("gallery/a.png", 1_700_000_000, 1_700_007_200)
        assert url == storage.sign("gallery/a.png", 1_700_000_000, 1_700_007_200)
        assert url != storage.sign("gallery/a.png", 1_700_003_600, 1_700_010_800)
        assert url != storage.sign("gallery/b.jpg", 1_700_000_000, 1_700_007_200)

    def test_owns_its_signed_urls_only(self, storage):
        assert storage.owns_url(storage.sign("gallery/a.png", 1_700_000_000, 1_700_007_200))
        assert not storage.owns_url("https://evil.example.com/objects/gallery/a.png")
