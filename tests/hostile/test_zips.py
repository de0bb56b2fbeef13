"""Hostile zip archives given to ``sdaug import``: bombs, damaged, encrypted, Deflate64, a name
that is both a file and a folder, a 2,000-level path. Each is refused with one line before
anything is extracted, nothing is written outside the project and the project is unchanged."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _patch_headers(path: Path, local_offset: int, central_offset: int, value: bytes) -> None:
    """Overwrite a field of every local and central header (to craft what zipfile cannot write)."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = data.find(signature)
        while start != -1:
            data[start + offset:start + offset + len(value)] = value
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def _png(picture, tmp_path: Path) -> bytes:
    return picture(tmp_path / "src" / "a.png").read_bytes()


def _bomb(path: Path) -> Path:
    """100 entries of 1 MB of zeros each: ~100 kB that unpack to 100 MB (each under the per-entry floor)."""
    return _zip(path, {f"images/{i}.bin": bytes(1_000_000) for i in range(100)})


def _encrypted(path: Path, png: bytes) -> Path:
    _zip(path, {"images/a.png": png}, zipfile.ZIP_STORED)
    _patch_headers(path, 6, 8, b"\x01\x00")  # general purpose flag bit 0: encrypted
    return path


def _deflate64(path: Path, png: bytes) -> Path:
    _zip(path, {"images/a.png": png}, zipfile.ZIP_STORED)
    _patch_headers(path, 8, 10, b"\x09\x00")  # compression method 9: Deflate64
    return path


def _bad_crc(path: Path, png: bytes) -> Path:
    _zip(path, {"images/a.png": png}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[30 + len("images/a.png") + 100] ^= 0xFF  # a byte of the stored file data
    path.write_bytes(bytes(data))
    return path


CASES = {
    "bomb": (lambda path, png: _bomb(path),
             "bomb.zip: the archive as a whole is compressed"),
    "bad_crc": (_bad_crc, "bad_crc.zip: the entry 'images/a.png' is damaged (Bad CRC-32"),
    "encrypted": (_encrypted, "encrypted.zip: the entry 'images/a.png' is encrypted (password-protected)"),
    "deflate64": (_deflate64, "deflate64.zip: the entry 'images/a.png' uses a compression method Python cannot "
                              "read (method 9"),
    "clash": (lambda path, png: _zip(path, {"images": b"x", "images/a.png": png}),
              "clash.zip: 'images' is both a file and a folder in the archive"),
    "deep": (lambda path, png: _zip(path, {"a/" * 2000 + "a.png": png}),
             "/a/a/a.png' is 2001 folders deep, more than the limit of 32; nothing was extracted"),
    "not_a_zip": (lambda path, png: path.write_bytes(b"PK\x03\x04 this is not really a zip") and path,
                  "not_a_zip.zip: not a readable zip file (File is not a zip file)"),
    "too_many": (lambda path, png: _zip(path, {f"{i}.txt": b"" for i in range(30)}),
                 "too_many.zip: 30 entries, more than the limit of 20"),
}


@pytest.mark.parametrize("case", CASES)
def test_hostile_zip_is_refused_and_changes_nothing(tmp_path, run_cli, cli, project_dir, picture, unchanged,
                                                   one_line_error, case):
    """The bomb runs in a subprocess under the memory limit; the others need none."""
    make, message = CASES[case]
    archive = make(tmp_path / f"{case}.zip", _png(picture, tmp_path))
    env = {"SDAUG_MAX_ZIP_MEMBERS": "20"} if case == "too_many" else None
    with unchanged(tmp_path, project_dir):
        done = (run_cli if case == "bomb" else cli)("import", "--project", project_dir, "--format", "images",
                                                    archive, env=env)
    line = one_line_error(done)
    assert message in line, line
    assert not list(project_dir.glob(".import-*"))  # the extraction folder is gone


def test_zip_bomb_is_refused_without_the_old_16_mib_floor(tmp_path):
    """The ratio of the archive as a whole counts, not only entries over 16 MiB."""
    from sdaug.dataset.archive import extract_zip

    archive = _bomb(tmp_path / "bomb.zip")
    assert archive.stat().st_size < 200_000
    with pytest.raises(ValueError, match="looks like a zip bomb"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_good_zip_still_imports(tmp_path, cli, picture):
    buffer = io.BytesIO(_png(picture, tmp_path))
    archive = _zip(tmp_path / "ok.zip", {"photos/a.png": buffer.getvalue()})
    done = cli("import", "--project", tmp_path / "p", "--format", "images", archive)
    assert done.returncode == 0 and "1 images added" in done.stdout, done.stdout + done.stderr
