"""Admin commands: `flask --app api.app refresh KEY...`, `warm --prefix P`, `stats`, `tasks`.

`refresh` and `warm` do the work in this process by default (no consumer needed) with the jobs'
storage retry policy; `--enqueue` queues a job instead and prints its id.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import with_appcontext

import jobs
from jobs import operations
from jobs.status import store_for

from . import monitoring
from .http import context
from .keys import InvalidKey, validate_key, validate_prefix
from .storage.variants import InvalidVariant, parse_width
from .vocabulary import TaskStatus


def register(app: Flask) -> None:
    for command in (refresh_command, warm_command, stats_command, tasks_command):
        app.cli.add_command(command)


def _job_retry_policy() -> None:
    """This process only runs admin work: be as patient with storage as a worker is."""
    settings, storage = context.settings(), context.storage()
    storage.retries = settings.job_storage_retries
    storage.backoff = settings.job_storage_backoff_seconds


def _enqueue(task) -> str:
    return jobs.enqueue(task, context.services())


@click.command("refresh")
@with_appcontext
@click.argument("keys", nargs=-1, required=True)
@click.option("--enqueue", is_flag=True, help="Queue a job for the workers instead of refreshing here.")
def refresh_command(keys: tuple[str, ...], enqueue: bool) -> None:
    """Revalidate KEY... with storage and store fresh metadata. Exits 1 if any key failed."""
    allowed = context.settings().allowed_key_prefixes
    for key in keys:
        try:
            validate_key(key, allowed)
        except InvalidKey as error:
            raise click.BadParameter(f"{key!r}: {error.message}", param_hint="KEYS") from None
    unique = list(dict.fromkeys(keys))
    if enqueue:
        task = jobs.tasks.refresh.s(unique[0]) if len(unique) == 1 else jobs.tasks.batch_refresh.s(unique)
        click.echo(f"queued {task.name} {_enqueue(task)} ({len(unique)} keys)")
        return
    _job_retry_policy()
    cache = context.url_cache()
    outcomes = operations.refresh_keys(cache, unique, allowed)
    cache.flush()
    failed = 0
    for key in unique:
        outcome = outcomes[key]
        if outcome == "refreshed":
            click.echo(f"refreshed  {key}")
        else:
            failed += 1
            click.echo(f"failed     {key}: {operations.reason(outcome, context.storage().retries)}", err=True)
    if failed:
        raise click.exceptions.Exit(1)


@click.command("warm")
@with_appcontext
@click.option("--prefix", required=True, help="Key prefix to load ('' for every key).")
@click.option("--enqueue", is_flag=True, help="Queue a job for the workers instead of warming here.")
@click.option("--widths", default="", help="Also render variants at these widths, e.g. 320,640 (local store).")
def warm_command(prefix: str, enqueue: bool, widths: str) -> None:
    """Load every key under --prefix into the cache from the listing, with a progress bar."""
    try:
        validate_prefix(prefix)
        ladder = [w for w in (parse_width(part, "--widths") for part in widths.split(",") if part.strip()) if w]
    except InvalidKey as error:
        raise click.BadParameter(error.message, param_hint="--prefix") from None
    except InvalidVariant as error:
        raise click.BadParameter(error.message, param_hint="--widths") from None
    if enqueue:
        task = jobs.tasks.warm.s(prefix, ladder) if ladder else jobs.tasks.warm.s(prefix)
        click.echo(f"queued warm {_enqueue(task)}")
        return
    _job_retry_policy()
    storage, cache = context.storage(), context.url_cache()
    allowed = context.settings().allowed_key_prefixes
    total = operations.count_keys(storage, prefix)
    label = f"warming {prefix or '(all keys)'}"
    warmed = skipped = listed = rendered = 0
    with _progress(total, label) as advance:
        for page in storage.pages(prefix, limit=operations.WARM_PAGE_SIZE):
            seeded, refused = operations.seed_page(cache, page.items, allowed)
            rendered += operations.prerender(cache, storage, [i.key for i in page.items], ladder)
            warmed, skipped, listed = warmed + seeded, skipped + refused, listed + len(page.items)
            advance(len(page.items), listed)
    cache.flush()
    click.echo(
        f"warmed {warmed} keys"
        + (f", {rendered} variants ready" if ladder else "")
        + (f", skipped {skipped} not allowed" if skipped else "")
    )


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal; one `done/total` line per step otherwise (logs, CI)."""
    if sys.stdout.isatty():
        with click.progressbar(length=total, label=label, show_pos=True, show_percent=True) as bar:
            yield lambda step, done: bar.update(step)
    else:
        click.echo(label)
        yield lambda step, done: click.echo(f"  {done}/{total}")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@click.command("stats")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as GET /api/v1/monitoring/stats.")
def stats_command(as_json: bool) -> None:
    """Cache hit rates, storage calls, queue, workers and alerts."""
    data = monitoring.collect_stats(context.url_cache(), context.settings(), jobs.queue_state())
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    c = data["cache"]
    for tier in ("l1", "l2", "overall"):
        t = c[tier]
        click.echo(f"{tier:<8} hit rate {_rate(t['hit_rate']):>7}  hits {t['hits']:>10}  misses {t['misses']:>10}")
    click.echo(f"signs {c['signs']}  storage calls {c['storage_calls']}  storage errors {c['storage_errors']}")
    click.echo(f"refresh succeeded {data['refresh']['succeeded']}  failed {data['refresh']['failed']}")
    q = data["queue"]
    click.echo(f"queue pending {q['pending']}  scheduled {q['scheduled']}  workers alive {len(data['workers'])}")
    click.echo(f"task failure rate {_rate(data['tasks']['failure_rate'])}  degraded {data['degraded']}")
    for alert in data["alerts"]:
        click.echo(f"ALERT {alert['level']}: {alert['message']}")


def _when(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


@click.command("tasks")
@with_appcontext
@click.option("--status", type=click.Choice([status.value for status in TaskStatus]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as GET /api/v1/tasks.")
def tasks_command(status: str | None, limit: int, as_json: bool) -> None:
    """Recent background tasks, newest first."""
    items = store_for(context.services()).list(status, limit)
    if as_json:
        click.echo(json.dumps({"items": items}, indent=2))
        return
    if not items:
        click.echo("no tasks")
        return
    for item in items:
        progress = item["progress"]
        shown = ""
        if progress:
            shown = (
                f"{progress['done']}+{progress['failed']}/{progress['total'] if progress['total'] is not None else '?'}"
            )
        line = f"{item['task_id']}  {item['name']:<13} {item['status']:<9} {_when(item['enqueued_at'])}  {shown}"
        if item["error"]:
            line += f"  {item['error']}"
        click.echo(line)
