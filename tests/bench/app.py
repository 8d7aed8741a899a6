"""The product app plus the reference routes the benchmarks compare it with.

    gunicorn --config python:api.gunicorn_conf "tests.bench.app:create_bench_app()"

`create_bench_app()` is `api.app.create_app()` unchanged, with three routes added under `/bench/`,
so a reference runs in the same process, under the same gunicorn settings, hooks and logging:

- `/bench/noop/<key>`: the framework floor, a fixed 302 with no cache lookup at all.
- `/bench/naive/<key>`: the straw man, SDK `get_presigned_url` plus a HEAD on every request
  (COS backend only).
- `/bench/baseline`: a page of plain `<img>` tags signed afresh on every load.
- `/bench/plain`: a page of plain `<img src="/i/<key>">` tags (row 14's reference).
"""

from __future__ import annotations

import html
import time
from urllib.parse import quote

from flask import Flask, Response, abort, jsonify, request

from api.app import create_app

# About as long as a local signed URL, so both responses carry the same bytes.
NOOP_LOCATION = "/objects/demo/landscapes/image-000.jpg?exp=1800003600&sig=" + "A" * 43


def create_bench_app() -> Flask:
    app = create_app()
    storage = app.extensions["storage"]

    def noop(key: str):
        return Response(status=302, headers={"Location": NOOP_LOCATION, "Cache-Control": "private, max-age=3600"})

    def naive(key: str):
        if storage.name != "cos":
            abort(404)
        client = storage.client
        head = client.head_object(Bucket=storage.bucket, Key=key)
        url = client.get_presigned_url(Bucket=storage.bucket, Key=key, Method="GET", Expired=7200)
        return jsonify(
            key=key,
            url=url,
            expires_at=int(time.time()) + 7200,
            etag=head.get("ETag", ""),
            content_type=head.get("Content-Type", ""),
            size=int(head.get("Content-Length", 0)),
        )

    def baseline():
        prefix = request.args.get("prefix", "demo/")
        count = int(request.args.get("n", "200"))
        keys, cursor = [], None
        while len(keys) < count:
            page = storage.list(prefix, cursor, min(1000, count - len(keys)))
            keys += [item.key for item in page.items]
            cursor = page.next_cursor
            if not cursor:
                break
        now = int(time.time())
        tags = "\n".join(
            f'<img src="{html.escape(storage.sign(key, now, now + 3600))}" width="240" height="160" alt="">'
            for key in keys
        )
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>baseline</title></head><body>{tags}</body></html>"
        )
        return Response(page, mimetype="text/html", headers={"Cache-Control": "no-store"})

    def plain():
        prefix = request.args.get("prefix", "demo/")
        page = storage.list(prefix, None, min(1000, int(request.args.get("n", "24"))))
        variant = f"?w={int(request.args['w'])}&f=auto" if request.args.get("w") else ""
        tags = "\n".join(
            f'<img src="/i/{html.escape(quote(item.key))}{html.escape(variant)}" alt="">' for item in page.items
        )
        body = f"<!doctype html><html><head><meta charset='utf-8'><title>plain</title></head><body>{tags}</body></html>"
        return Response(body, mimetype="text/html", headers={"Cache-Control": "no-cache"})

    app.add_url_rule("/bench/noop/<path:key>", "bench_noop", noop)
    app.add_url_rule("/bench/plain", "bench_plain", plain)
    app.add_url_rule("/bench/naive/<path:key>", "bench_naive", naive)
    app.add_url_rule("/bench/baseline", "bench_baseline", baseline)
    return app
