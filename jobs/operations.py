"""The work behind the jobs, free of Huey: shared by the tasks and the `flask` CLI commands."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from api.cache.url_cache import UrlCache
from api.keys import InvalidKey, validate_key
from api.storage import Capability, ObjectInfo, Storage, StorageError
from api.storage.variants import VariantRequest
from api.vocabulary import ErrorCode

WARM_PAGE_SIZE = 500
# A warm renders what browsers that take AVIF and WebP get for `f=auto` (Chromium, Firefox, Safari).
MODERN_ACCEPT = "image/avif,image/webp,*/*"
LISTING_DONE = "$end"  # resume point of a warm whose listing is complete

REASONS: dict[str, str] = {
    ErrorCode.NOT_FOUND: "not_found: the object does not exist in storage",
    ErrorCode.ACCESS_DENIED: "access_denied: storage refused access to the object",
}
STORAGE_ERRORS: list[type[StorageError]] = [StorageError, *StorageError.__subclasses__()]
STORAGE_CODES = {cls.code for cls in STORAGE_ERRORS}


class TaskFailed(Exception):
    """A task failed for a reason worth showing as is (no retry will help)."""

    clear_reason = True


def reason(outcome: str, retries: int) -> str:
    """Why refreshing a key failed, for people."""
    if outcome in REASONS:
        return REASONS[outcome]
    if outcome == ErrorCode.STORAGE_UNAVAILABLE:
        return (
            f"storage_unavailable: storage still failed after {retries} retries; the cached URL, if any, keeps serving"
        )
    if outcome in STORAGE_CODES:
        return f"{outcome}: storage failed"
    return f"{outcome}: the key is not valid, storage was not asked"


def chunks(items: Sequence[str], size: int, start: int = 0) -> Iterator[tuple[int, Sequence[str]]]:
    for offset in range(start, len(items), size):
        yield offset, items[offset : offset + size]


def refresh_keys(cache: UrlCache, keys: Iterable[str], allowed_prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    """Revalidate keys with storage (concurrently, through the cache's bounded pool).

    Returns key -> "refreshed" or the error code (`not_found`, `access_denied`,
    `storage_unavailable`, or why the key is invalid, as the API names them); the outcome
    counters feed monitoring. A key that fails keeps its old entry, so a still-valid URL keeps
    serving. Keys are validated again here: whatever put them on the queue, a bad key never
    reaches storage.
    """
    outcomes: dict[str, str] = {}
    valid = []
    for key in dict.fromkeys(keys):
        try:
            valid.append(validate_key(key, allowed_prefixes))
        except InvalidKey as error:
            outcomes[key] = error.code
    for key, outcome in cache.revalidate_many(valid).items():
        outcomes[key] = "not_found" if outcome == "missing" else outcome
    ok = sum(1 for outcome in outcomes.values() if outcome == "refreshed")
    cache.stats.incr("refresh_succeeded", ok)
    cache.stats.incr("refresh_failed", len(outcomes) - ok)
    return outcomes


def seed_page(cache: UrlCache, items: Iterable[ObjectInfo], allowed_prefixes: tuple[str, ...]) -> tuple[int, int]:
    """Store the metadata a listing returned; returns (seeded, skipped) where skipped keys are
    ones the API would refuse (unsafe names, outside ALLOWED_KEY_PREFIXES)."""
    good = []
    skipped = 0
    for info in items:
        try:
            validate_key(info.key, allowed_prefixes)
        except InvalidKey:
            skipped += 1
            continue
        good.append(info)
    cache.seed(good)
    return len(good), skipped


def count_keys(storage: Storage, prefix: str) -> int:
    """How many objects a warm of `prefix` will list (one listing pass)."""
    return sum(len(page.items) for page in storage.pages(prefix, limit=WARM_PAGE_SIZE))


def prerender(cache: UrlCache, storage: Storage, keys: Iterable[str], widths: Sequence[int]) -> int:
    """Render the `f=auto` variants of `keys` at `widths` ahead of the first page that shows
    them (stores that render variants themselves); returns how many were rendered or already
    there. Objects that are not images are skipped."""
    if not widths or Capability.VARIANT_BYTES not in storage.capabilities:
        return 0
    done = 0
    for key in keys:
        for width in widths:
            variant = cache.variant_of(key, (VariantRequest(width, "auto"), MODERN_ACCEPT))
            if variant is None or variant.original:
                continue
            try:
                storage.open_variant(key, variant, None).close()
            except StorageError:
                break  # not an image (415/422) or gone: no other width will do better
            done += 1
    return done
