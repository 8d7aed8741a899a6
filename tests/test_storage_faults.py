"""Filesystem oddities in the local store come out as the storage vocabulary, never a 500 or
a "try again": symlink loops, links to nothing or out of the root, a directory where a file
was expected, names too long, permissions. The listing skips what it cannot read, and /readyz
reports the faults seen."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from api.storage import AccessDenied, ObjectNotFound, StorageError, StorageUnavailable

LOOP, DANGLING, ESCAPE, DIRECTORY = "gallery/loop.png", "gallery/dangling.png", "gallery/escape.png", "gallery/dir.png"
LONG_SEGMENT = "gallery/" + "\u0301" * 150  # 300 bytes: over the 255-byte name limit


@pytest.fixture
def odd_store(storage, tmp_path_factory):
    """The test store plus one of each oddity under gallery/."""
    root: Path = storage.root
    (root / "gallery/loop-b.png").symlink_to(root / LOOP)
    (root / LOOP).symlink_to(root / "gallery/loop-b.png")
    (root / DANGLING).symlink_to(root / "gallery/nothing-here.png")
    outside = tmp_path_factory.mktemp("outside") / "secret.png"
    outside.write_bytes(b"outside the root")
    (root / ESCAPE).symlink_to(outside)
    (root / DIRECTORY).mkdir()
    return storage


def signed_path(storage, key: str, clock) -> str:
    return storage.sign(key, int(clock()), int(clock()) + 3600)


@pytest.mark.parametrize(
    "key, status, code",
    [
        (LOOP, 404, "not_found"),
        (DANGLING, 404, "not_found"),
        (ESCAPE, 403, "access_denied"),
        (DIRECTORY, 404, "not_found"),
    ],
)
def test_every_route_answers_an_oddity_with_its_error(client, odd_store, clock, key, status, code):
    for url in (f"/p/{key}", f"/i/{key}", f"/api/v1/urls/{key}", signed_path(odd_store, key, clock)):
        response = client.get(url)
        assert (response.status_code, response.json["error"]["code"]) == (status, code), url


def test_listing_skips_unreadable_entries_and_never_leaks_outside_the_root(client, odd_store):
    response = client.get("/api/v1/images?prefix=gallery/&limit=200")
    assert response.status_code == 200
    keys = [item["key"] for item in response.json["items"]]
    assert keys == ["gallery/blue.webp", "gallery/green.jpg", "gallery/red.png"]
    page = odd_store.list("gallery/", None, 200)
    assert page.skipped == 4  # loop, its partner, the dangling link and the escape; the directory is not an entry


def test_a_page_of_only_unreadable_entries_still_pages_on(client, odd_store):
    first = client.get("/api/v1/images?prefix=gallery/d&limit=1").json  # gallery/dangling.png, unreadable
    assert first == {"items": [], "next_cursor": None}
    page = client.get("/api/v1/images?prefix=gallery/&limit=2").json  # blue.webp, dangling.png
    assert [i["key"] for i in page["items"]] == ["gallery/blue.webp"]
    assert page["next_cursor"] == DANGLING
    rest = client.get(f"/api/v1/images?prefix=gallery/&limit=200&cursor={page['next_cursor']}").json
    assert [i["key"] for i in rest["items"]] == ["gallery/green.jpg", "gallery/red.png"]


def test_readyz_reports_the_faults_it_has_seen(client, odd_store):
    assert client.get("/readyz").json["checks"]["storage_errors"] == "0"
    assert client.get(f"/p/{LOOP}").status_code == 404
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ok"  # one bad file does not take the node out
    checks = ready.json["checks"]
    assert checks["storage_errors"] == "1" and checks["storage_last_error"] == "symlink_loop"
    client.get("/api/v1/images?prefix=gallery/")
    checks = client.get("/readyz").json["checks"]
    assert int(checks["storage_errors"]) == 5  # and the four entries the listing skipped


def test_a_missing_object_is_not_a_fault(client, odd_store):
    assert client.get("/p/gallery/missing.png").status_code == 404
    assert client.get(f"/p/{DIRECTORY}").status_code == 404
    assert client.get("/readyz").json["checks"]["storage_errors"] == "0"


def test_a_segment_over_the_name_limit_is_permanent_not_transient(odd_store, app):
    """Jobs validate keys without the store's segment limit: the adapter answers 404 at once."""
    odd_store.calls.clear()
    with pytest.raises(ObjectNotFound):
        odd_store.head(LONG_SEGMENT)
    with pytest.raises(ObjectNotFound):
        app.extensions["url_cache"].resolve(LONG_SEGMENT)
    assert odd_store.calls["head"] == 2  # no retries: retrying cannot make the name fit


def test_transient_errors_that_outlast_the_retries_are_faults(odd_store):
    odd_store.fail_with = [StorageUnavailable("down")] * (odd_store.retries + 1)
    with pytest.raises(StorageUnavailable):
        odd_store.head("gallery/red.png")
    assert odd_store.faults.snapshot() == (1, "storage_unavailable")


@pytest.mark.parametrize(
    "error, kind, fault",
    [
        (PermissionError(errno.EACCES, "Permission denied"), AccessDenied, "permission_denied"),
        (PermissionError(errno.EPERM, "Operation not permitted"), AccessDenied, "permission_denied"),
        (OSError(errno.ELOOP, "Too many levels of symbolic links"), ObjectNotFound, "symlink_loop"),
        (OSError(errno.ENAMETOOLONG, "File name too long"), ObjectNotFound, None),
        (OSError(errno.EIO, "Input/output error"), StorageError, "eio"),
    ],
)
def test_filesystem_errors_map_onto_the_vocabulary(odd_store, error, kind, fault):
    """Errors that root (these tests' user) cannot provoke for real, e.g. EACCES, by errno."""
    mapped = odd_store._fs_error("gallery/x.png", error)
    assert type(mapped) is kind and mapped.fault == fault
    assert not isinstance(mapped, StorageUnavailable)  # none of them is worth retrying


def test_cos_faults_reach_readyz_and_missing_objects_do_not(make_settings, clock, cos_server):
    """The same vocabulary from the COS adapter: 404 is no fault, a refusal or an outage is."""
    from api.app import create_app

    from .cos_server import cos_storage_for

    cos_server.put("gallery/a.png", b"\x89PNG\r\n\x1a\n" + b"a" * 64)
    storage = cos_storage_for(cos_server)
    client = create_app(make_settings(rate_limit_enabled=False), clock=clock, storage=storage).test_client()
    long_key = "gallery/" + "\u0301" * 150  # COS names have no 255-byte segment limit: a plain miss
    assert client.get(f"/p/{long_key}").json["error"]["code"] == "not_found"
    assert client.get("/readyz").json["checks"]["storage_errors"] == "0"
    cos_server.inject("gallery/a.png", status=403)
    assert client.get("/p/gallery/a.png").json["error"]["code"] == "access_denied"
    cos_server.inject("gallery/b.png", status=503, times=100)
    assert client.get("/p/gallery/b.png").status_code == 503
    checks = client.get("/readyz").json["checks"]
    assert (checks["storage_errors"], checks["storage_last_error"]) == ("2", "storage_unavailable")
