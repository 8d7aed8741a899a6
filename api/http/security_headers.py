"""Security headers on every response: a strict Content-Security-Policy, nosniff, a referrer
policy, and HSTS when the request came over https.

HTML pages (the SPA, `/docs`) may run only scripts of this origin, plus inline scripts whose
SHA-256 is in the policy: the hashes are taken from the page itself, so Swagger UI's small
bootstrap keeps working and an injected script does not. Styles may be inline (Element Plus and
Swagger UI set `style` attributes; styles cannot run code). Images may come from this origin,
the storage's (or CDN's) origin, and `data:`/`blob:` for placeholders. Every other response
(JSON, image bytes) gets `default-src 'none'` with `sandbox`: an SVG from the bucket opened on
its own cannot run a script in this origin.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'; sandbox"
HSTS = "max-age=31536000"
COMMON = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"))
STRICT_TRANSPORT = (("Strict-Transport-Security", HSTS),)


def _script_hashes(html: bytes) -> list[str]:
    hashes = []
    for body in INLINE_SCRIPT.findall(html):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        hashes.append(f"'sha256-{digest}'")
    return hashes


def page_policy(image_origin: str, html: bytes) -> str:
    """The policy of one HTML page, allowing exactly its own inline scripts."""
    images = " ".join(filter(None, ["'self'", image_origin, "data:", "blob:"]))
    scripts = " ".join(["'self'", *_script_hashes(html)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            f"connect-src 'self' {image_origin}".rstrip(),
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask, image_origin: str) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        # One pass over the few headers a response has: `Headers.setdefault` raises and catches
        # a KeyError per absent name, a cost on every request of the hot paths.
        present = {name.lower() for name, _ in headers}
        defaults = STRICT_TRANSPORT + COMMON if request.is_secure else COMMON
        headers.extend((name, value) for name, value in defaults if name.lower() not in present)
        if response.mimetype == "text/html" and response.status_code in (200, 304):  # 304 updates the cached headers
            # A page streamed from a file (the SPA's index.html) is read by nobody here: it has
            # no inline script, so its policy allows none.
            html = b"" if response.direct_passthrough else response.get_data()
            headers["Content-Security-Policy"] = page_policy(image_origin, html)
        elif "content-security-policy" not in present:
            headers["Content-Security-Policy"] = NOT_A_PAGE
        return response
