"""Monitoring: stats across processes, alerts at their thresholds, the per-minute series."""

from __future__ import annotations

import pytest

import jobs
from api.app import create_app
from api.embedded_redis import free_port
from api.monitoring import minute
from jobs import heartbeat, tasks

from .jobs_fixtures import AUTH, running_consumer, wait_for

A, B = "gallery/red.png", "gallery/green.jpg"


def stats(client) -> dict:
    response = client.get("/api/v1/monitoring/stats", headers=AUTH)
    assert response.status_code == 200
    return response.json


def test_stats_add_up_every_process_and_rate_each_tier(app, client, settings, clock):
    client.get(f"/api/v1/urls/{A}")  # L1 miss, L2 miss: storage
    client.get(f"/api/v1/urls/{A}")  # L1 hit
    client.get(f"/api/v1/urls/{B}")  # L1 miss, L2 miss: storage
    other = create_app(settings, clock=clock)  # a second worker process: its own L1
    other.test_client().get(f"/api/v1/urls/{A}")  # L1 miss, L2 hit
    other.extensions["url_cache"].flush()
    other.extensions["url_cache"].close()
    body = stats(client)
    assert body["cache"] == {
        "l1": {"hits": 1, "misses": 3, "hit_rate": 0.25},
        "l2": {"hits": 1, "misses": 2, "hit_rate": 0.3333},
        "overall": {"hits": 2, "misses": 2, "hit_rate": 0.5},  # lookups served without storage
        "signs": body["cache"]["signs"],
        "storage_calls": 2,
        "storage_errors": 0,
    }
    assert body["cache"]["signs"] >= 2
    assert body["queue"] == {"pending": 0, "scheduled": 0}
    assert body["workers"] == [] and body["degraded"] is False
    assert body["tasks"]["failure_rate"] is None and body["refresh"] == {"succeeded": 0, "failed": 0}
    assert body["generated_at"] == clock()
    assert body["alerts"] == []  # 4 lookups: below ALERT_MIN_SAMPLES, so no hit-rate alert yet


def test_rates_are_null_without_traffic(client):
    body = stats(client)
    assert [body["cache"][t]["hit_rate"] for t in ("l1", "l2", "overall")] == [None, None, None]


def test_alerts_fire_at_their_thresholds(make_settings, clock):
    settings = make_settings(alert_queue_depth=2, alert_min_samples=4, alert_hit_rate=0.8)
    app = create_app(settings, clock=clock)
    client = app.test_client()
    for key in (A, B, "gallery/blue.webp", A):  # 1 hit of 4 lookups
        client.get(f"/api/v1/urls/{key}")
    for key in (A, B, A):
        jobs.huey.enqueue(tasks.refresh.s(key))
    alerts = {a["code"]: a for a in stats(client)["alerts"]}
    assert alerts["hit_rate"] == {"code": "hit_rate", "level": "warning", "value": 0.25, "threshold": 0.8,
                                  "message": alerts["hit_rate"]["message"]}  # fmt: skip
    assert alerts["queue_depth"]["value"] == 3 and alerts["queue_depth"]["threshold"] == 2
    assert alerts["no_workers"]["level"] == "critical"
    assert set(alerts) == {"hit_rate", "queue_depth", "no_workers"}
    clock.advance(settings.alert_window_minutes * 60)  # the window moved on: the rate alert clears
    assert "hit_rate" not in {a["code"] for a in stats(client)["alerts"]}
    app.extensions["url_cache"].close()


def test_task_failure_rate_and_refresh_outcomes(make_japp):
    jclient = make_japp(alert_min_samples=2).test_client()
    ids = [
        jclient.post("/api/v1/tasks/refresh", json={"image_key": key}, headers=AUTH).json["task_id"]
        for key in (A, "gallery/missing.png")
    ]
    with running_consumer():
        for task_id in ids:
            wait_for(lambda t=task_id: jclient.get(f"/api/v1/tasks/{t}", headers=AUTH).json["finished_at"])
        body = stats(jclient)
    assert body["refresh"] == {"succeeded": 1, "failed": 1}
    assert body["tasks"] == {"succeeded": 1, "failed": 1, "failure_rate": 0.5}
    alert = next(a for a in body["alerts"] if a["code"] == "task_failure_rate")
    assert alert["value"] == 0.5 and alert["threshold"] == 0.05
    assert [w["id"] for w in body["workers"]] == [heartbeat.worker_id()]


def test_degraded_when_redis_is_away(make_settings, clock):
    app = create_app(
        make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout_seconds=0.05), clock=clock
    )
    body = stats(app.test_client())
    assert body["degraded"] is True
    assert body["queue"] == {"pending": None, "scheduled": None}
    assert {a["code"] for a in body["alerts"]} == {"degraded", "queue_unreachable"}
    app.extensions["url_cache"].close()


# -- time series -----------------------------------------------------------------------------
def series(client, minutes=None) -> list[dict]:
    url = "/api/v1/monitoring/timeseries" + (f"?minutes={minutes}" if minutes else "")
    response = client.get(url, headers=AUTH)
    assert response.status_code == 200, response.json
    return response.json["points"]


def test_series_has_one_point_per_minute_with_traffic_and_queue_depth(japp, jclient, clock):
    jclient.get(f"/api/v1/urls/{A}")
    jclient.get(f"/api/v1/urls/{A}")
    japp.extensions["url_cache"].flush()
    for key in (A, B):
        jobs.huey.enqueue(tasks.refresh.s(key))
    heartbeat.beat()  # what every worker's heartbeat does
    clock.advance(120)
    jclient.get(f"/api/v1/urls/{A}")  # L1 entry expired, L2 still fresh
    japp.extensions["url_cache"].flush()
    points = series(jclient, 5)
    assert [p["t"] for p in points] == [minute(clock()) - 60 * i for i in range(4, -1, -1)]
    assert points[2] == {"t": minute(clock()) - 120, "hits": 1, "misses": 1, "errors": 0, "queue_depth": 2}
    assert points[3] == {"t": minute(clock()) - 60, "hits": 0, "misses": 0, "errors": 0, "queue_depth": None}
    assert points[4] == {"t": minute(clock()), "hits": 1, "misses": 0, "errors": 0, "queue_depth": None}
    assert len(series(jclient)) == 60


def test_queue_depth_is_sampled_by_running_workers(japp, jclient, clock):
    bucket = f"iuc:series:{minute(clock())}"
    assert japp.extensions["redis"].hget(bucket, "queue_depth") is None
    with running_consumer():
        wait_for(lambda: japp.extensions["redis"].hget(bucket, "queue_depth") is not None)
    assert series(jclient, 1)[0]["queue_depth"] == 0


@pytest.mark.parametrize("minutes", ["0", "1441", "x"])
def test_series_length_is_validated(jclient, minutes):
    response = jclient.get(f"/api/v1/monitoring/timeseries?minutes={minutes}", headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["code"] == "validation_error"


def test_a_full_day_is_available(jclient):
    assert len(series(jclient, 1440)) == 1440
