"""Infotext in image files, A1111 hashes and finding local files by name or hash."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import ExifTags, Image
from safetensors.numpy import save_file

from sdaug.prompts import (
    exif_with_infotext,
    find_local_model,
    lora_hash,
    match_lora_hashes,
    model_hash,
    read_infotext,
    save_png,
)
from sdaug.prompts.metadata import decode_user_comment, temp_file_is_orphaned, write_atomic

INFOTEXT = '雪, (snow:1.2)\nNegative prompt: blur\nSteps: 4, Seed: 1, Size: 64x64, Note: "a, b"'


def _image():
    return Image.new("RGB", (64, 64), (10, 20, 30))


def test_png_round_trip(tmp_path):
    path = save_png(_image(), tmp_path / "out.png", INFOTEXT)
    assert path == tmp_path / "out.png"
    assert read_infotext(path) == INFOTEXT
    assert read_infotext(str(path)) == INFOTEXT
    with Image.open(path) as image:
        assert read_infotext(image) == INFOTEXT
        assert image.size == (64, 64)
        assert image.getpixel((0, 0)) == (10, 20, 30)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left


def test_save_png_replaces_atomically_and_cleans_up_on_error(tmp_path):
    path = save_png(_image(), tmp_path / "out.png", "first")
    save_png(_image(), path, "second")
    assert read_infotext(path) == "second"
    with pytest.raises(OSError):
        save_png(Image.new("CMYK", (8, 8)), path, "bad mode for PNG")
    assert read_infotext(path) == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_temp_files_name_their_writer_and_are_orphaned_once_it_has_ended(tmp_path):
    seen = []
    write_atomic(tmp_path / "a.png", lambda handle: seen.extend(p.name for p in tmp_path.iterdir()))
    assert len(seen) == 1 and seen[0].startswith(f".tmp-{os.getpid()}-a.png.")
    assert not temp_file_is_orphaned(tmp_path / seen[0])  # this process is alive: it may be writing
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert temp_file_is_orphaned(tmp_path / f".tmp-{int(ended.stdout)}-a.png.x1.tmp")
    assert temp_file_is_orphaned(tmp_path / ".tmp-a.png.x1.tmp")  # no writer named: an older sdaug's


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_exif_round_trip(tmp_path, fmt):
    path = tmp_path / f"out.{fmt.lower()}"
    _image().save(path, format=fmt, exif=exif_with_infotext(INFOTEXT))
    assert read_infotext(path) == INFOTEXT


def test_no_infotext(tmp_path):
    _image().save(tmp_path / "a.png")
    _image().save(tmp_path / "a.jpg")
    assert read_infotext(tmp_path / "a.png") is None
    assert read_infotext(tmp_path / "a.jpg") is None
    assert read_infotext(_image()) is None


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_infotext(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="cannot read"):
        read_infotext(tmp_path / "text.png")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"UNICODE\0" + "雪 snow".encode("utf-16-be"), "雪 snow"),
        (b"UNICODE\0" + "雪 snow".encode("utf-16-le"), "雪 snow"),
        (b"UNICODE\0" + "snow".encode("utf-16"), "snow"),  # with byte-order mark
        (b"ASCII\0\0\0snow\0", "snow"),
        (b"\0" * 8 + "雪".encode(), "雪"),
        (b"snow without prefix", "snow without prefix"),
        ("already text", "already text"),
    ],
)
def test_decode_user_comment(data, text):
    assert decode_user_comment(data) == text


def test_exif_bytes_hold_unicode_user_comment():
    exif = Image.Exif()
    exif.load(exif_with_infotext("abc"))
    comment = exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment]
    assert comment == b"UNICODE\0" + "abc".encode("utf-16-be")


def _write_lora(path, value=1.0, metadata=None):
    save_file({"w": np.full((4, 4), value, dtype=np.float32)}, str(path), metadata=metadata)
    return path


def test_lora_hash_is_sha256_of_data_after_header(tmp_path):
    path = _write_lora(tmp_path / "snow.safetensors")
    raw = path.read_bytes()
    header_length = int.from_bytes(raw[:8], "little")
    expected = hashlib.sha256(raw[8 + header_length :]).hexdigest()[:12]
    assert lora_hash(path) == expected
    assert len(expected) == 12
    # Metadata lives in the header: changing it keeps the hash.
    other = _write_lora(tmp_path / "other.safetensors", metadata={"name": "renamed"})
    assert lora_hash(other) == expected
    assert lora_hash(_write_lora(tmp_path / "rain.safetensors", value=2.0)) != expected


def test_model_hash_is_sha256_of_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(bytes(range(256)) * 5000)  # more than one read block
    assert model_hash(path) == hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    # The cache notices a changed file.
    path.write_bytes(b"changed")
    assert model_hash(path) == hashlib.sha256(b"changed").hexdigest()[:10]


def test_hash_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        model_hash(tmp_path / "missing.safetensors")
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\1\2")
    with pytest.raises(ValueError, match="not a safetensors"):
        lora_hash(short)
    lying = tmp_path / "lying.safetensors"
    lying.write_bytes((10_000).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="header length"):
        lora_hash(lying)


def test_lora_hash_of_other_formats_is_whole_file(tmp_path):
    path = tmp_path / "old.pt"
    path.write_bytes(b"pickle bytes")
    assert lora_hash(path) == hashlib.sha256(b"pickle bytes").hexdigest()[:12]


def test_match_lora_hashes(tmp_path):
    (tmp_path / "sub").mkdir()
    snow = _write_lora(tmp_path / "sub" / "snowfall_v2.safetensors", value=1.0)
    rain = _write_lora(tmp_path / "rain.safetensors", value=2.0)
    value = f"snowfall: {lora_hash(snow)}, rain: {lora_hash(rain).upper()}, fog: 0123456789ab"
    found, missing = match_lora_hashes(value, tmp_path)
    assert found == {"snowfall": snow, "rain": rain}
    assert missing == ["fog"]
    assert match_lora_hashes("", tmp_path) == ({}, [])
    assert match_lora_hashes("fog: 0123456789ab", tmp_path / "nowhere") == ({}, ["fog"])


@pytest.mark.parametrize("value", ["snowfall", "snowfall: xyz", ": 0123456789ab", "a: 0123456789abc"])
def test_match_lora_hashes_rejects_bad_entries(tmp_path, value):
    with pytest.raises(ValueError, match="Lora hashes"):
        match_lora_hashes(value, tmp_path)


def test_find_local_model(tmp_path):
    model = tmp_path / "sd15" / "Realistic.safetensors"
    model.parent.mkdir()
    model.write_bytes(b"weights")
    (tmp_path / "notes.txt").write_text("x")
    digest = hashlib.sha256(b"weights").hexdigest()[:10]
    assert find_local_model("Realistic", tmp_path) == model
    assert find_local_model("realistic", tmp_path) == model
    assert find_local_model("Realistic.safetensors", tmp_path) == model
    assert find_local_model(digest, tmp_path) == model
    assert find_local_model(digest.upper(), tmp_path) == model
    assert find_local_model("0123456789", tmp_path) is None
    assert find_local_model("other", tmp_path) is None
    assert find_local_model("", tmp_path) is None
    assert find_local_model("Realistic", tmp_path / "nowhere") is None


def test_write_atomic_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "data.bin"
    write_atomic(path, lambda handle: handle.write(b"old"))

    def broken(handle) -> None:
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, broken)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]  # no temp file left
