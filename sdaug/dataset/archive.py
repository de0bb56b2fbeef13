"""Safe zip extraction for imports.

``zipfile.extractall`` sanitises names silently; an import must instead refuse an archive that
tries to write outside its target, holds links, or would fill the disk, and say so. So this
module checks every entry first (paths, links, encryption, compression method, depth, file and
folder clashes, sizes and compression ratios against :mod:`sdaug.limits`) and then streams each
file out with a byte counter (the sizes in a zip's directory can lie).
"""

from __future__ import annotations

import lzma
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from sdaug import limits
from sdaug.errors import InputError, Phrase

# Compression methods Python's zipfile reads (Deflate64, used by Windows for big files, is not one).
_READABLE = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
             zipfile.ZIP_LZMA: "lzma"}
# Entries smaller than this are not ratio-checked one by one (a tiny text file may compress 1000x);
# the archive as a whole is.
_RATIO_MIN_BYTES = 1024**2


THE_ARCHIVE = Phrase("where.archive")  # names an archive in messages when its file name is not known


def check_member(info: zipfile.ZipInfo, where: str | Phrase = THE_ARCHIVE) -> PurePosixPath:
    """The entry's relative path; ``ValueError`` when it is absolute, climbs out, is a link, is
    encrypted, uses a compression Python cannot read, or is nested too deep."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InputError("zip.absolute", member=info.filename)
    if ".." in path.parts:
        raise InputError("zip.dotdot", member=info.filename)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InputError("zip.symlink", member=info.filename)
    member = _short(info.filename)
    if info.flag_bits & 0x1:
        raise InputError("zip.encrypted", where=where, member=member)
    if info.compress_type not in _READABLE:
        raise InputError("zip.compression", where=where, member=member, method=f"method {info.compress_type}")
    depth, limit = len(path.parts), limits.active().max_path_depth
    if depth > limit:
        raise InputError("limit.path_depth", where=where, member=member, depth=depth, limit=limit)
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in path.parts):
        raise InputError("zip.name_too_long", where=where, member=member)
    return path


def check_archive(infos: list[zipfile.ZipInfo], archive_bytes: int, where: str) -> list[PurePosixPath]:
    """Check every entry and the sizes the archive announces, before anything is written."""
    limit = limits.active()
    if len(infos) > limit.max_zip_members:
        raise InputError("limit.zip_members", where=where, count=len(infos), limit=limit.max_zip_members,
                         option="max_zip_members")
    paths = [check_member(info, where) for info in infos]
    # A name that is a file and also the folder of another entry cannot be extracted.
    files = {p for p, info in zip(paths, infos, strict=True) if not info.is_dir()}
    for path in paths:
        for parent in path.parents:
            if parent in files:
                raise InputError("zip.clash", where=where, member=_short(str(parent)))
    total = sum(info.file_size for info in infos)
    if total > limit.max_zip_bytes:
        raise InputError("limit.zip_bytes", where=where, size=_gb(total), limit=_gb(limit.max_zip_bytes),
                         option="max_zip_bytes")
    for info in infos:
        if info.file_size > _RATIO_MIN_BYTES and info.file_size > limit.max_zip_ratio * max(info.compress_size, 1):
            raise _ratio_error(where, Phrase("where.entry", member=_short(info.filename)),
                               info.file_size // max(info.compress_size, 1))
    if total > _RATIO_MIN_BYTES and total > limit.max_zip_ratio * max(archive_bytes, 1):
        raise _ratio_error(where, Phrase("where.archive_whole"), total // max(archive_bytes, 1))
    return paths


def extract_zip(archive: str | Path, target: str | Path) -> Path:
    """Extract ``archive`` into the folder ``target`` (created), refusing unsafe archives.

    Every entry is checked before anything is written (:func:`check_archive`); the bytes are
    counted again while writing (a zip's directory can lie). Returns ``target``.
    """
    archive, target = Path(archive), Path(target)
    where = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError("zip.bad", where=where, reason=str(exc)[:200]) from exc
    with zf:
        infos = zf.infolist()
        # 1. Check every entry and the announced sizes.
        paths = check_archive(infos, archive.stat().st_size, where)
        # 2. Extract, counting the bytes actually written.
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        max_bytes, written = limits.active().max_zip_bytes, 0
        for info, rel in zip(infos, paths, strict=True):
            dest = (root / Path(*rel.parts)) if rel.parts else root
            if root != dest and root not in dest.parents:
                raise InputError("zip.outside", member=info.filename, root=root)

            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(dest, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise InputError("limit.zip_bytes", where=where, size=f"more than {_gb(max_bytes)}",
                                             limit=_gb(max_bytes), option="max_zip_bytes")
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as exc:
                raise InputError("zip.damaged", where=where, member=_short(info.filename),
                                 reason=(str(exc) or type(exc).__name__)[:200]) from exc
    return target


def _ratio_error(where: str, member: Phrase, ratio: int) -> InputError:
    return InputError("limit.zip_ratio", where=where, member=member, ratio=ratio,
                      limit=limits.active().max_zip_ratio, option="max_zip_ratio")


def _gb(size: int) -> str:
    return f"{size / 1024**3:.2f} GB" if size >= 1024**3 else f"{size / 1024**2:.1f} MB"


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:40] + "…" + text[-30:])


def make_zip(folder: Path, archive: Path) -> Path:
    """Zip ``folder``'s contents into ``archive`` (written beside it, then renamed)."""
    tmp = archive.with_name(f".tmp-{archive.name}")
    try:
        shutil.make_archive(str(tmp.with_suffix("")), "zip", root_dir=folder)
        tmp.replace(archive)
    finally:
        tmp.unlink(missing_ok=True)
    return archive
