"""Image files entering a project: read, EXIF-oriented, encoded and hashed
(:func:`prepare_image`) and boxes mapped from raw to upright pixels (:func:`orient_box`). The store
writes the files with :func:`sdaug.prompts.metadata.write_atomic`.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

from sdaug.dataset.records import PreparedImage
from sdaug.errors import InputError
from sdaug.limits import check_pixels

# Pillow format -> file extension of the stored copy. Formats every trainer reads.
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}


def prepare_image(source: str | Path | bytes, original_name: str | None = None) -> PreparedImage:
    """Read an image, apply its EXIF orientation and return the bytes to store with their hash.

    The image is decoded fully once (an undecodable one is refused with its name) after its
    size was checked against ``max_image_pixels`` (:mod:`sdaug.limits`).

    An image without an EXIF rotation is stored byte for byte; a rotated one is re-encoded
    upright (JPEG quality 95 for JPEG, otherwise its own format). Raises ``ValueError`` for
    files that are not images in a supported format.
    """
    if isinstance(source, bytes):
        data, name = source, original_name or "image"
    else:
        path = Path(source)
        name = original_name or path.name
        if path.exists() and not path.is_file():
            raise InputError("image.not_regular", where=name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError("file.cannot_read", where=path, reason=exc.strerror or str(exc)) from exc

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            if fmt not in IMAGE_FORMATS:
                raise InputError("image.format", where=name, format=fmt or "unknown",
                                 allowed=", ".join(IMAGE_FORMATS))
            raw_size = img.size
            orientation = int(img.getexif().get(ExifTags.Base.Orientation, 1) or 1)
            if orientation not in (1, 2, 3, 4, 5, 6, 7, 8):
                orientation = 1
            # Refuse huge images from the header, then decode the whole file once: a truncated or
            # damaged one fails here, with its name, instead of in a trainer after export. A JPEG
            # stored as it is decodes at 1/8 scale: libjpeg still reads every byte, 3x faster.
            check_pixels(raw_size, name)
            if fmt == "JPEG" and orientation == 1:
                img.draft(img.mode, (max(raw_size[0] // 8, 1), max(raw_size[1] // 8, 1)))
            img.load()
            if orientation != 1:
                upright = ImageOps.exif_transpose(img)
                data = encode(upright, fmt)
            width, height = (raw_size[1], raw_size[0]) if orientation >= 5 else raw_size
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InputError("image.unreadable", where=name, reason=str(exc)) from exc
    if width < 1 or height < 1:
        raise InputError("image.no_pixels", where=name, width=width, height=height)

    return PreparedImage(data=data, sha256=hashlib.sha256(data).hexdigest(), extension=IMAGE_FORMATS[fmt],
                         width=width, height=height, original_name=name, orientation=orientation,
                         raw_size=raw_size)


def orient_box(box: tuple[float, float, float, float], orientation: int,
               raw_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Map an xyxy box drawn on the raw (not EXIF-rotated) pixels onto the upright image."""
    w, h = raw_size
    x1, y1, x2, y2 = box
    # Each orientation as a map of a raw point (x, y) to the upright image.
    maps = {
        1: lambda x, y: (x, y),
        2: lambda x, y: (w - x, y),
        3: lambda x, y: (w - x, h - y),
        4: lambda x, y: (x, h - y),
        5: lambda x, y: (y, x),
        6: lambda x, y: (h - y, x),
        7: lambda x, y: (h - y, w - x),
        8: lambda x, y: (y, w - x),
    }
    (ax, ay), (bx, by) = maps[orientation](x1, y1), maps[orientation](x2, y2)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
    else:
        image.save(buffer, format=fmt)
    return buffer.getvalue()
