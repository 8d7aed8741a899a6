"""数据万象 (Cloud Infinite) rules as the COS test server applies them, with Pillow.

Only what this product signs: `imageInfo` (JSON with width, height, format and size as strings,
as Tencent documents it) and `imageMogr2` with `auto-orient`, `thumbnail/<w>x` (that width,
height in proportion), `thumbnail/<w>x<h>` (fit inside both) and `format/<f>`. A source that is
not an image, or an operation outside that list, gets a 400: clients rely on the status only.
"""

from __future__ import annotations

import io
import json
import re

from PIL import Image, ImageOps

THUMBNAIL = re.compile(r"(\d+)x(\d*)")
FORMATS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}
FORMATS["avif"] = ("AVIF", "image/avif")
OWN_FORMAT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}


class ProcessingError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_rule(name: str) -> bool:
    return name.split("/", 1)[0].lower() in {"imagemogr2", "imageinfo", "imageview2", "imageave", "watermark"}


def apply(rule: str, data: bytes) -> tuple[bytes, str]:
    """The processed bytes and their content type."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ProcessingError(f"the source is not an image: {error}") from None
    operation, _, spec = rule.partition("/")
    if operation == "imageInfo" and not spec:
        info = {"format": OWN_FORMAT.get(image.format or "", "unknown"), "width": str(image.width)}
        info.update(height=str(image.height), size=str(len(data)), frame_count="1")
        return json.dumps(info).encode(), "application/json"
    if operation != "imageMogr2":
        raise ProcessingError(f"operation {operation!r} is not supported here")
    return _mogrify(image, spec.split("/"))


def _mogrify(image: Image.Image, steps: list[str]) -> tuple[bytes, str]:
    target = image.format or "JPEG"
    content_type = Image.MIME.get(target, "application/octet-stream")
    while steps:
        step = steps.pop(0)
        if step == "auto-orient":
            image = ImageOps.exif_transpose(image)
        elif step == "thumbnail" and steps and (size := THUMBNAIL.fullmatch(steps[0])):
            steps.pop(0)
            width, height = int(size[1]), int(size[2] or 0)
            scale = width / image.width if not height else min(width / image.width, height / image.height)
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        elif step == "format" and steps and steps[0] in FORMATS:
            target, content_type = FORMATS[steps.pop(0)]
        else:
            raise ProcessingError(f"imageMogr2 step {step!r} is not supported here")
    if target == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, target)
    return out.getvalue(), content_type
