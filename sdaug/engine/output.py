"""Save a run's images as PNG files with their infotext, A1111-style: ``00012-712934690.png``.

Each file is written under a temporary name by :func:`sdaug.prompts.metadata.save_png` (atomic)
and then hard-linked to its final name, which fails instead of replacing a file that exists: two
processes saving into one folder never overwrite each other, they take the next number. (Where
the file system has no hard links the name is reserved with an exclusive create first.)
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from sdaug.engine.request import Result
from sdaug.prompts import save_png

_NUMBERED = re.compile(r"^(\d{5,})-")


def save_images(result: Result, out_dir: Path) -> list[Path]:
    """Write every image of ``result`` into ``out_dir`` (created if missing); return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    number = _next_number(out_dir)
    for image, seed, infotext in zip(result.images, result.seeds, result.infotexts, strict=True):
        handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".saving-", suffix=".png")
        os.close(handle)
        try:
            save_png(image, temporary, infotext)
            path = out_dir / f"{number:05d}-{seed}.png"
            while not _claim(temporary, path):
                number += 1
                path = out_dir / f"{number:05d}-{seed}.png"
            number += 1
        finally:
            Path(temporary).unlink(missing_ok=True)
        paths.append(path)
    return paths


def _claim(temporary: str, path: Path) -> bool:
    """Give the finished file ``temporary`` the name ``path`` unless that name is taken."""
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system (FAT, some shares): reserve the name, then move
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        os.replace(temporary, path)
        return True


def _next_number(out_dir: Path) -> int:
    numbers = [int(m.group(1)) for p in out_dir.iterdir() if (m := _NUMBERED.match(p.name))]
    return max(numbers, default=-1) + 1
