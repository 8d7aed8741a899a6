"""`flask --app api.app` admin commands: refresh, warm (with a progress bar), stats, tasks."""

from __future__ import annotations

import json

import jobs

from .conftest import IMAGES


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def l2(app, key):
    return app.extensions["url_cache"].shared.read([key]).get(key)


def test_refresh_revalidates_keys_here_and_reports_each(app, storage, clock):
    result = run(app, "refresh", "gallery/red.png", "gallery/green.jpg")
    assert result.exit_code == 0, result.output
    assert "refreshed  gallery/red.png" in result.output and "refreshed  gallery/green.jpg" in result.output
    assert storage.calls["head"] == 2
    assert l2(app, "gallery/red.png").validated_at == clock()


def test_refresh_exits_1_with_the_reason_when_a_key_fails(app):
    result = run(app, "refresh", "gallery/red.png", "gallery/missing.png")
    assert result.exit_code == 1
    assert "failed     gallery/missing.png: not_found" in result.output


def test_refresh_rejects_bad_keys_before_storage(app, storage):
    result = run(app, "refresh", "../etc/passwd")
    assert result.exit_code == 2 and "key must not contain '.' or '..' segments" in result.output
    assert storage.total == 0


def test_refresh_can_enqueue_instead(app):
    result = run(app, "refresh", "--enqueue", "gallery/red.png", "gallery/green.jpg")
    assert result.exit_code == 0 and result.output.startswith("queued batch_refresh ")
    assert jobs.huey.pending_count() == 1
    listing = run(app, "tasks", "--json")
    items = json.loads(listing.output)["items"]
    assert [(t["name"], t["status"], t["progress"]["total"]) for t in items] == [("batch_refresh", "queued", 2)]
    assert "batch_refresh queued" in run(app, "tasks").output


def test_warm_shows_progress_and_loads_the_prefix_from_the_listing(app, storage):
    result = run(app, "warm", "--prefix", "gallery/")
    assert result.exit_code == 0, result.output
    assert "warming gallery/" in result.output and "3/3" in result.output
    assert result.output.rstrip().endswith("warmed 3 keys")
    assert storage.calls["head"] == 0  # the listing carried the metadata
    assert all(l2(app, key) for key in IMAGES if key.startswith("gallery/"))


def test_stats_prints_rates_and_json(app, client):
    client.get("/api/v1/urls/gallery/red.png")
    client.get("/api/v1/urls/gallery/red.png")
    human = run(app, "stats")
    assert human.exit_code == 0 and "l1       hit rate   50.0%" in human.output
    data = json.loads(run(app, "stats", "--json").output)
    assert data["cache"]["l1"] == {"hits": 1, "misses": 1, "hit_rate": 0.5}


def test_tasks_with_nothing_to_show(app):
    assert run(app, "tasks").output.strip() == "no tasks"
