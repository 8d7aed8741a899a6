import threading
import time

import pytest
import redis

from api.app import create_app
from api.redis_keys import ACCESS_KEY, INDEX_KEY, STATS_KEY
from api.storage import ObjectNotFound, StorageUnavailable

from .conftest import IMAGES, write_images

KEY = "gallery/red.png"


@pytest.fixture
def cache(app):
    return app.extensions["url_cache"]


class CommandCounter:
    """Counts commands as Redis itself does (INFO commandstats), minus our own bookkeeping."""

    def __init__(self, url: str) -> None:
        self.admin = redis.Redis.from_url(url)
        self.admin.ping()  # connect now, so the handshake is not counted

    def reset(self) -> None:
        self.admin.config_resetstat()

    def counts(self) -> dict[str, int]:
        info = self.admin.info("commandstats")
        counts = {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in info.items()}
        return {name: n for name, n in counts.items() if not name.startswith(("config", "info"))}


def test_miss_then_l2_then_l1(cache, storage, settings, clock):
    first = cache.resolve(KEY)
    assert storage.calls["head"] == 1
    assert first.size == len(IMAGES[KEY]) and first.content_type == "image/png"
    assert cache.resolve(KEY) == first  # L1
    other_process = create_app(settings, clock=clock, storage=storage).extensions["url_cache"]
    assert other_process.resolve(KEY) == first  # L2, no storage call
    assert storage.calls["head"] == 1
    counts = cache.stats.drain() + other_process.stats.drain()
    assert counts["l1_hits"] == 1 and counts["l2_hits"] == 1 and counts["l2_misses"] == 1


def test_every_url_handed_out_has_min_remaining(cache, settings, clock):
    for _ in range(40):
        resolved = cache.resolve(KEY)
        assert resolved.expires_at - clock() >= settings.url_min_remaining_seconds
        assert resolved.refresh_at > clock()
        clock.advance(337)


def test_urls_are_identical_across_processes_with_and_without_redis(settings, make_settings, clock, storage):
    with_redis = create_app(settings, clock=clock, storage=storage).extensions["url_cache"]
    without_redis = create_app(make_settings(redis_url=None), clock=clock, storage=storage).extensions["url_cache"]
    a = with_redis.resolve(KEY)
    clock.advance(1)
    b = without_redis.resolve(KEY)
    assert a.url == b.url and a.expires_at == b.expires_at


def test_a_new_url_after_rollover_and_the_old_one_still_valid(cache, clock, settings):
    first = cache.resolve(KEY)
    clock.now = first.refresh_at - 1
    assert cache.resolve(KEY).url == first.url
    clock.now = first.refresh_at
    second = cache.resolve(KEY)
    assert second.url != first.url
    assert first.expires_at - clock() >= settings.url_min_remaining_seconds - 1


def test_batch_of_500_cached_keys_is_one_redis_round_trip(make_settings, data_dir, clock, storage, redis_url):
    keys = [f"bulk/{i:03d}.png" for i in range(500)]
    write_images(data_dir / "images", {k: b"x" for k in keys})
    settings = make_settings()
    warm = create_app(settings, clock=clock, storage=storage).extensions["url_cache"]
    found, errors = warm.resolve_many(keys)
    assert len(found) == 500 and not errors
    cold_l1 = create_app(settings, clock=clock, storage=storage).extensions["url_cache"]
    cold_l1.ping()  # open its pooled connection, as any serving process already has
    heads_before = storage.calls["head"]
    counter = CommandCounter(redis_url)
    counter.reset()
    found, errors = cold_l1.resolve_many(keys)
    assert len(found) == 500 and not errors
    assert counter.counts() == {"mget": 1}
    assert storage.calls["head"] == heads_before


def test_concurrent_misses_make_one_storage_call(cache, storage):
    storage.delay = 0.2
    barrier = threading.Barrier(8)
    results = []

    def resolve():
        barrier.wait()
        results.append(cache.resolve(KEY).url)

    threads = [threading.Thread(target=resolve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert storage.calls["head"] == 1


def test_missing_key_is_cached_briefly(cache, storage, clock, settings):
    for _ in range(3):
        with pytest.raises(ObjectNotFound):
            cache.resolve("gallery/missing.png")
    assert storage.calls["head"] == 1
    clock.advance(settings.negative_ttl_seconds + 1)
    with pytest.raises(ObjectNotFound):
        cache.resolve("gallery/missing.png")
    assert storage.calls["head"] == 2


def test_a_missing_key_fails_alone_in_a_batch(cache):
    found, errors = cache.resolve_many([KEY, "gallery/missing.png", "gallery/green.jpg"])
    assert set(found) == {KEY, "gallery/green.jpg"}
    assert isinstance(errors["gallery/missing.png"], ObjectNotFound)


def test_lapsed_entry_keeps_serving_when_storage_is_down(cache, storage, clock, settings, redis_url):
    first = cache.resolve(KEY)
    clock.advance(settings.cache_ttl_seconds + 1)
    storage.fail_with = [StorageUnavailable("down")] * (settings.storage_retries + 1)
    again = cache.resolve(KEY, refresh=True)
    assert again.etag == first.etag
    assert storage.calls["head"] == 1 + settings.storage_retries + 1
    cache.flush()
    assert redis.Redis.from_url(redis_url).hget(STATS_KEY, "stale_served") == b"1"


def test_transient_errors_are_retried_before_giving_up(cache, storage, settings):
    storage.fail_with = [StorageUnavailable("blip"), StorageUnavailable("blip")]
    assert cache.resolve(KEY).key == KEY
    assert storage.calls["head"] == 3
    storage.fail_with = [StorageUnavailable("down")] * 10
    with pytest.raises(StorageUnavailable):
        cache.resolve("gallery/green.jpg")


def test_listing_seeds_metadata(app, client, storage):
    assert client.get("/api/v1/images?prefix=gallery/").status_code == 200
    heads = storage.calls["head"]
    response = client.post("/api/v1/urls", json={"keys": list(k for k in IMAGES if k.startswith("gallery/"))})
    assert len(response.json["items"]) == 3
    assert storage.calls["head"] == heads == 0


def test_access_times_and_counters_are_written_in_batches(cache, clock, redis_url, settings):
    client = redis.Redis.from_url(redis_url)
    cache.resolve(KEY)
    cache.resolve(KEY)
    assert client.zscore(ACCESS_KEY, KEY) is None  # buffered, not written per request
    clock.advance(settings.access_flush_seconds)
    cache.resolve("gallery/green.jpg")
    assert client.zscore(ACCESS_KEY, KEY) == clock() - settings.access_flush_seconds
    assert int(client.hget(STATS_KEY, "l1_hits")) == 1
    assert client.zscore(INDEX_KEY, KEY) == clock() - settings.access_flush_seconds + settings.cache_ttl_seconds


def test_due_keys_are_split_into_hot_and_cold(cache, clock, settings):
    cache.resolve_many([KEY, "gallery/green.jpg"])  # both lapse at now + ttl
    clock.advance(settings.cache_ttl_seconds - settings.prerefresh_lead_seconds + 1)
    cache.resolve(KEY)  # still fresh, and now recently accessed
    cache.flush()
    hot, cold = cache.due_keys(clock(), settings.prerefresh_lead_seconds, settings.hot_horizon_seconds)
    assert hot == [KEY] and cold == ["gallery/green.jpg"]
    clock.advance(settings.hot_horizon_seconds + 1)
    hot, cold = cache.due_keys(clock(), settings.prerefresh_lead_seconds, settings.hot_horizon_seconds)
    assert hot == [] and sorted(cold) == ["gallery/green.jpg", KEY]


def test_revalidate_refreshes_and_detects_deleted_objects(cache, storage, data_dir):
    cache.resolve(KEY)
    (data_dir / "images" / KEY).unlink()
    outcomes = cache.revalidate_many([KEY, "gallery/green.jpg"])
    assert outcomes == {KEY: "missing", "gallery/green.jpg": "refreshed"}
    with pytest.raises(ObjectNotFound):
        cache.resolve(KEY)


def test_invalidate_by_key_and_prefix(cache, storage):
    cache.resolve_many(list(IMAGES))
    assert cache.invalidate(key=KEY) == 1
    assert cache.invalidate(prefix="gallery/") == 2
    cache.resolve(KEY)
    assert storage.calls["head"] == len(IMAGES) + 1


def test_cached_values_are_json(cache, redis_url):
    cache.resolve(KEY)
    raw = redis.Redis.from_url(redis_url).get("iuc:url:" + KEY)
    assert raw.startswith(b"{") and b'"e":' in raw


def test_l1_honours_a_negative_ttl_shorter_than_its_own(make_settings, clock, storage, data_dir):
    cache = create_app(make_settings(negative_ttl_seconds=5, l1_ttl_seconds=60), clock=clock, storage=storage)
    cache = cache.extensions["url_cache"]
    with pytest.raises(ObjectNotFound):
        cache.resolve("gallery/late.png")
    write_images(data_dir / "images", {"gallery/late.png": b"now here"})
    clock.advance(6)
    assert cache.resolve("gallery/late.png").size == len(b"now here")


def test_flusher_writes_buffered_access_times_without_more_traffic(make_settings, clock, storage, redis_url):
    app = create_app(make_settings(access_flush_seconds=0.05), clock=clock, storage=storage)
    cache = app.extensions["url_cache"]
    cache.resolve(KEY)
    client = redis.Redis.from_url(redis_url)
    assert client.zscore(ACCESS_KEY, KEY) is None
    thread = cache.start_flusher()
    clock.advance(1)  # the interval has passed; no request follows
    deadline = time.monotonic() + 5
    while client.zscore(ACCESS_KEY, KEY) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.zscore(ACCESS_KEY, KEY) == clock() - 1
    cache.close()
    thread.join(2)
    assert not thread.is_alive()


def test_a_url_is_signed_once_per_window_and_counted(cache, clock, redis_url):
    keys = [KEY, "gallery/green.jpg", "gallery/blue.webp"]
    first, _ = cache.resolve_many(keys)
    cache.resolve_many(keys)
    cache.resolve(KEY)
    cache.flush()
    assert redis.Redis.from_url(redis_url).hget(STATS_KEY, "signs") == b"3"
    clock.now = max(r.refresh_at for r in first.values())  # every window has rolled over
    again, _ = cache.resolve_many(keys)
    assert all(again[k].url != first[k].url for k in keys)
    cache.flush()
    assert redis.Redis.from_url(redis_url).hget(STATS_KEY, "signs") == b"6"
