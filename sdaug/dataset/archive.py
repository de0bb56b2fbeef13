"""Safe zip extraction for imports.

``zipfile.extractall`` sanitises names silently; an import must instead refuse an archive that
tries to write outside its target, holds links, or would fill the disk, and say so. So this
module checks every entry first and then streams each file out with a byte counter (the sizes
in a zip's directory can lie).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

MAX_EXTRACTED_BYTES = 20 * 1024**3
MAX_ENTRIES = 500_000
# A real image dataset compresses to no less than ~1/100; zip bombs compress to ~1/1000.
MAX_RATIO = 200
_RATIO_MIN_BYTES = 16 * 1024**2


def check_member(info: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's relative path; ``ValueError`` when it is absolute, climbs out or is a link."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"zip entry {info.filename!r} has an absolute path; refusing the archive")
    if ".." in path.parts:
        raise ValueError(f"zip entry {info.filename!r} points outside the archive ('..'); refusing the archive")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValueError(f"zip entry {info.filename!r} is a symbolic link; refusing the archive")
    return path


def extract_zip(archive: str | Path, target: str | Path, *, max_bytes: int = MAX_EXTRACTED_BYTES,
                max_entries: int = MAX_ENTRIES) -> Path:
    """Extract ``archive`` into the folder ``target`` (created), refusing unsafe archives.

    Every entry is checked before anything is written; the total size is checked against the
    directory and again while writing. Returns ``target``.
    """
    archive, target = Path(archive), Path(target)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{archive}: not a readable zip file ({exc})") from exc
    with zf:
        infos = zf.infolist()
        # 1. Check every entry and the announced sizes.
        if len(infos) > max_entries:
            raise ValueError(f"{archive}: {len(infos)} entries, more than the limit of {max_entries}")
        members = [(info, check_member(info)) for info in infos]
        total = sum(info.file_size for info in infos)
        if total > max_bytes:
            raise ValueError(f"{archive}: unpacks to {total / 1024**2:.0f} MB, more than the limit of "
                             f"{max_bytes / 1024**2:.0f} MB")
        for info in infos:
            if info.file_size > _RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise ValueError(f"zip entry {info.filename!r} is compressed {info.file_size // max(info.compress_size, 1)}"
                                 " times; this looks like a zip bomb, refusing the archive")
        # 2. Extract, counting the bytes actually written.
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        written = 0
        for info, rel in members:
            dest = (root / Path(*rel.parts)) if rel.parts else root
            if root != dest and root not in dest.parents:
                raise ValueError(f"zip entry {info.filename!r} would be written outside {root}")
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                while chunk := src.read(1024 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise ValueError(f"{archive}: unpacks to more than the limit of "
                                         f"{max_bytes / 1024**2:.0f} MB")
                    out.write(chunk)
    return target


def make_zip(folder: Path, archive: Path) -> Path:
    """Zip ``folder``'s contents into ``archive`` (written beside it, then renamed)."""
    tmp = archive.with_name(f".tmp-{archive.name}")
    try:
        shutil.make_archive(str(tmp.with_suffix("")), "zip", root_dir=folder)
        tmp.replace(archive)
    finally:
        tmp.unlink(missing_ok=True)
    return archive
