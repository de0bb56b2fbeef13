"""A1111 file hashes: ``Model hash`` (checkpoints) and ``Lora hashes`` (LoRA files).

- :func:`model_hash`: the first 10 hex digits of the SHA-256 of the whole file.
- :func:`lora_hash`: the first 12 hex digits of the SHA-256 of a ``.safetensors`` file's
  tensor data, i.e. everything after the header (an 8-byte little-endian length, then that
  many bytes of JSON), so that editing the metadata does not change the hash. Other LoRA files
  (``.pt``) hash the whole file, as A1111 does.

:func:`find_local_model` and :func:`match_lora_hashes` find the local files a pasted infotext
names. Files are read in 1 MiB blocks (checkpoints are gigabytes). Hashes are cached in memory per
(path, size, modification time), so matching pasted hashes against a folder is paid once.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from sdaug.errors import InputError

MODEL_HASH_LENGTH = 10
LORA_HASH_LENGTH = 12
_BLOCK = 1 << 20
_HEADER_LENGTH_BYTES = 8
SAFETENSORS = ".safetensors"


def model_hash(path: str | Path) -> str:
    """A1111 ``Model hash`` of a checkpoint file (10 hex digits)."""
    path = _existing_file(path)
    return _sha256(str(path), 0, *_file_key(path))[:MODEL_HASH_LENGTH]


def lora_hash(path: str | Path) -> str:
    """A1111 ``Lora hashes`` entry of a LoRA file (12 hex digits)."""
    path = _existing_file(path)
    offset = _safetensors_data_offset(path) if path.suffix.lower() == SAFETENSORS else 0
    return _sha256(str(path), offset, *_file_key(path))[:LORA_HASH_LENGTH]


def find_local_model(name: str, models_dir: str | Path) -> Path | None:
    """The local ``.safetensors`` checkpoint called ``name`` (its stem) or whose hash is ``name``.

    Stems match exactly first, then ignoring case; a 10-hex-digit ``name`` is also compared with
    the :func:`model_hash` of every checkpoint (only when no stem matches: that reads them all).
    """
    name = name.strip()
    if name.lower().endswith(SAFETENSORS):
        name = name[: -len(SAFETENSORS)]
    files = _local_files(models_dir)
    if not name or not files:
        return None
    for same in (lambda stem: stem == name, lambda stem: stem.lower() == name.lower()):
        found = next((path for path in files if same(path.stem)), None)
        if found is not None:
            return found
    if _is_hash(name, MODEL_HASH_LENGTH):
        return next((path for path in files if model_hash(path) == name.lower()), None)
    return None


def match_lora_hashes(hashes_value: str, loras_dir: str | Path) -> tuple[dict[str, Path], list[str]]:
    """Find the local LoRA files of an infotext ``Lora hashes`` value.

    ``"snowfall: f8324b7af7d9, rain: 0123456789ab"`` -> (``{name: path}`` of the names whose
    hash matches a local ``.safetensors`` file, the names not found). Files whose stem is the
    name are hashed first, the others only when that does not match.
    """
    # 1. Parse "name: hash" entries.
    wanted: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in hashes_value.split(","))):
        name, sep, digest = entry.rpartition(":")
        name, digest = name.strip(), digest.strip().lower()
        if not sep or not name or not _is_hash(digest, LORA_HASH_LENGTH):
            raise InputError("lora.hashes_entry", entry=entry, length=LORA_HASH_LENGTH)
        wanted[name] = digest

    # 2. Match them against local files, same-named files first.
    files = _local_files(loras_dir)
    found: dict[str, Path] = {}
    for name, digest in wanted.items():
        candidates = sorted(files, key=lambda path, name=name: path.stem != name)
        match = next((path for path in candidates if lora_hash(path) == digest), None)
        if match is not None:
            found[name] = match
    return found, [name for name in wanted if name not in found]


def _local_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob(f"*{SAFETENSORS}") if path.is_file())


def _is_hash(text: str, length: int) -> bool:
    return len(text) == length and all(char in "0123456789abcdefABCDEF" for char in text)


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError("file.not_found", path=path)
    return path


def _file_key(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _safetensors_data_offset(path: Path) -> int:
    size = path.stat().st_size
    with path.open("rb") as handle:
        length_bytes = handle.read(_HEADER_LENGTH_BYTES)
    if len(length_bytes) < _HEADER_LENGTH_BYTES:
        raise InputError("safetensors.short", path=path)
    offset = _HEADER_LENGTH_BYTES + int.from_bytes(length_bytes, "little")
    if offset > size:
        raise InputError("safetensors.header", path=path, header=offset - 8, size=size)
    return offset


@functools.lru_cache(maxsize=1024)
def _sha256(path: str, offset: int, size: int, mtime_ns: int) -> str:
    """SHA-256 hex digest of the file from ``offset``; size and mtime only key the cache."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(offset)
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
