"""Infotext stored in image files: PNG ``parameters`` text chunk, JPEG/WebP EXIF UserComment.

Pillow reads and writes both containers; this module only adds the EXIF UserComment encoding
(an 8-byte charset prefix, then the text), which Pillow leaves to the caller. A1111 writes
``UNICODE\\0`` + UTF-16 big-endian (piexif's convention); some tools write little-endian, so
reading guesses the byte order when there is no byte-order mark.

:func:`write_atomic` names its temporary files ``.tmp-<pid>-<name>.*`` after the writing process,
so that :func:`temp_file_is_orphaned` can tell the leftovers of a killed writer (its process is
gone; psutil checks) from a file another process is writing right now.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import psutil
from PIL import ExifTags, Image, PngImagePlugin, UnidentifiedImageError

from sdaug.errors import InputError
from sdaug.limits import check_infotext, check_pixels

PNG_KEY = "parameters"
_UNICODE_PREFIX = b"UNICODE\0"
_ASCII_PREFIX = b"ASCII\0\0\0"
_JIS_PREFIX = b"JIS\0\0\0\0\0"
_UNDEFINED_PREFIX = b"\0" * 8
TEMP_PREFIX = ".tmp-"
_TEMP_OWNER = re.compile(r"^\.tmp-(\d+)-")


def read_infotext(source: str | Path | Image.Image) -> str | None:
    """The infotext of an image file or opened image, or ``None`` when it has none.

    An infotext longer than ``max_infotext_chars`` (:mod:`sdaug.limits`) is refused with a
    ``ValueError``; so is a PNG whose text chunks pass Pillow's own memory limits.
    """
    if isinstance(source, Image.Image):
        return _checked(_infotext_of(source), "the image")
    path = Path(source)
    if not path.is_file():
        raise InputError("image.not_found", path=path)
    try:
        with Image.open(path) as image:
            return _checked(_infotext_of(image), path.name)
    except (UnidentifiedImageError, OSError) as error:
        raise InputError("image.cannot_read", path=path, reason=str(error)) from error
    except ValueError as error:
        if isinstance(error, InputError):
            raise
        # Pillow: "Decompressed data too large" / "Too much memory used in text chunks".
        raise InputError("image.cannot_read", path=path, reason=str(error)) from error


def _checked(text: str | None, where: str) -> str | None:
    return None if text is None else check_infotext(text, where)


def save_png(image: Image.Image, path: str | Path, infotext: str) -> Path:
    """Write ``image`` as PNG with ``infotext`` in its ``parameters`` chunk; return the path.

    The file is written next to ``path`` under a temporary name and then moved into place, so a
    crash never leaves a half-written image at ``path``.
    """
    path = Path(path)
    data = encode_png(image, infotext)
    write_atomic(path, lambda handle: handle.write(data))
    return path


def encode_png(image: Image.Image, infotext: str) -> bytes:
    """The PNG file of ``image`` with ``infotext`` in its ``parameters`` chunk, as bytes."""
    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_KEY, infotext)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def exif_with_infotext(infotext: str) -> bytes:
    """EXIF bytes holding ``infotext`` as UserComment, for ``image.save(..., exif=...)``."""
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = _UNICODE_PREFIX + infotext.encode(
        "utf-16-be"
    )
    return exif.tobytes()


def decode_user_comment(data: bytes | str) -> str:
    """Decode an EXIF UserComment value (charset prefix + text)."""
    if isinstance(data, str):
        return data.rstrip("\0")
    prefix, body = data[:8], data[8:]
    if prefix == _UNICODE_PREFIX:
        text = body.decode(_utf16_codec(body), errors="replace")
    elif prefix in (_ASCII_PREFIX, _UNDEFINED_PREFIX, _JIS_PREFIX):
        text = body.decode("utf-8", errors="replace")
    else:
        text = data.decode("utf-8", errors="replace")
    return text.rstrip("\0")


def _infotext_of(image: Image.Image) -> str | None:
    # 1. PNG text chunks (a chunk after the image data is only read with the pixels).
    text = image.info.get(PNG_KEY)
    if text is None and image.format == "PNG":
        check_pixels(image.size, getattr(image, "filename", "") or "the image")  # loading decodes every pixel
        image.load()
        text = image.info.get(PNG_KEY)
    if isinstance(text, str):
        return text
    # 2. EXIF UserComment (JPEG, WebP, and PNGs written by other tools).
    comment = image.getexif().get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.UserComment)
    if comment:
        return decode_user_comment(comment) or None
    return None


def _utf16_codec(body: bytes) -> str:
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    # Mostly-ASCII text has its zero bytes first in big-endian, second in little-endian.
    zeros_first = body[0::2].count(0)
    zeros_second = body[1::2].count(0)
    return "utf-16-le" if zeros_second > zeros_first else "utf-16-be"


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path`` (named ``.tmp-<pid>-<name>.*``), sync
    it to disk, then move it to ``path``: a crash leaves the old file or the new one, never half of one
    (and at most a temporary file, which :func:`temp_file_is_orphaned` recognises)."""
    temp_name = write_temp(path, write)
    try:
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def write_temp(path: Path, write: Callable[[IO[bytes]], object]) -> str:
    """The first half of :func:`write_atomic`: ``write(handle)`` on a temporary file beside ``path``,
    synced to disk; returns its name. The caller moves it to ``path`` (``os.replace``) or removes it
    (batches of files are written in parallel and moved into place together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{os.getpid()}-{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            exc.filename = str(path)  # a failed write() or fsync() names no file
        raise
    return temp_name


def temp_file_is_orphaned(path: Path) -> bool:
    """True when ``path``, a temporary file of :func:`write_atomic`, has no writer any more: the
    process named in it has ended (killed mid-write), so nobody will move or remove it. A file
    of a live process (this one included) may be being written and is not orphaned. Names
    without a process id (sdaug versions before it was added) count as orphaned."""
    match = _TEMP_OWNER.match(path.name)
    if match is None:
        return True
    pid = int(match[1])
    return pid != os.getpid() and not psutil.pid_exists(pid)
