"""Image URL Cache: serve images from private object storage through stable signed URLs.

Layers, each importing only those below it (held by the import contract in pyproject.toml):
the domain (settings, keys, signing windows, storage, cache, services), then `jobs`, then the
HTTP app (`api.app.create_app`, `api.http`) and the CLI (`api.cli`).
"""
