"""One error path (issue 11 item 4): the failures a user meets while the disk, the database or
a file goes wrong under sdaug become ONE line and exit 1 (the traceback only with ``-v``),
lose nothing, and write nothing outside the project.

Disk full and read-only disks are simulated in-process (a patched ``fsync``/``mkstemp``/
``copyfile`` raising the ``OSError`` the kernel would); a corrupt database, a deleted image
and a locked database are real.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import string

import pytest

from sdaug import errors
from sdaug.cli import main
from sdaug.dataset import store
from sdaug.prompts import metadata


def _fail_with(code: int):
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


def _cli(capsys, *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("sdaug: error:")]
    assert len(lines) == (1 if code else 0), err
    return code, lines[0] if lines else ""


@pytest.mark.parametrize(("code", "message"), [
    (errno.ENOSPC, "The disk is full (writing {images}"),
    (errno.EROFS, "Cannot write {images}"),
])
def test_disk_full_or_read_only_during_import(tmp_path, project_dir, picture, unchanged, capsys, monkeypatch,
                                              code, message):
    picture(tmp_path / "new" / "n.png", seed=7)
    monkeypatch.setattr(metadata.os, "fsync", _fail_with(code))
    with unchanged(tmp_path, project_dir):
        result, line = _cli(capsys, "import", "--project", project_dir, "--format", "images", tmp_path / "new")
    assert result == 1
    assert message.format(images=project_dir / "images") in line, line
    assert not [p for p in (project_dir / "images").iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize(("code", "message"), [
    (errno.ENOSPC, "The disk is full (writing {out})"),
    (errno.EROFS, "Cannot write {out}: the disk is read-only"),
])
def test_disk_full_or_read_only_during_export(tmp_path, project_dir, unchanged, capsys, monkeypatch, code, message):
    monkeypatch.setattr("sdaug.dataset.common.shutil.copyfile", _fail_with(code))
    out = tmp_path / "export"
    with unchanged(tmp_path, project_dir):
        result, line = _cli(capsys, "export", "--project", project_dir, "--format", "coco", "--out", out,
                              "--image-format", "keep")  # copies the stored files
    assert result == 1 and message.format(out=out) in line, line


def test_disk_full_during_augment_keeps_what_was_made(tmp_path, project_dir, capsys, monkeypatch):
    monkeypatch.setattr(metadata.os, "fsync", _fail_with(errno.ENOSPC))
    args = ["augment", "--project", project_dir, "--preset", "drizzle", "--engine", "classic"]
    assert main([str(a) for a in args]) == 1
    out = capsys.readouterr().out
    assert "error: The disk is full (writing" in out and "run the same command again to resume" in out
    assert not [p for p in (project_dir / "images").iterdir() if p.name.startswith(".tmp-")]
    monkeypatch.undo()  # space again: the same command finishes the job
    assert main([str(a) for a in args]) == 0
    with store.Project.open(project_dir, create=False) as project:
        assert project.count_images() == 4


def test_image_deleted_behind_sdaugs_back(tmp_path, project_dir, cli, unchanged, one_line_error):
    victim = next((project_dir / "images").iterdir())
    victim.unlink()
    with unchanged(tmp_path, project_dir):
        done = cli("export", "--project", project_dir, "--format", "yolo", "--out", tmp_path / "out")
    line = one_line_error(done)
    assert f"{victim} does not exist (was it moved or deleted while sdaug was running?)" in line, line


@pytest.mark.parametrize("command", [["stats"], ["import", "--format", "images", "photos"]])
def test_corrupt_database(tmp_path, project_dir, picture, run_cli, unchanged, one_line_error, command):
    picture(tmp_path / "photos" / "a.png")
    (project_dir / "project.sqlite").write_bytes(b"this is not a database " * 200)
    args = [command[0], "--project", project_dir, *[tmp_path / c if c == "photos" else c for c in command[1:]]]
    with unchanged(tmp_path, project_dir):
        done = run_cli(*args)
    line = one_line_error(done)
    assert f"The project database ({project_dir}) is damaged or not a database (file is not a database)" in line
    # -v adds the traceback (in the log), still ending with the same line.
    verbose = run_cli("-v", *args)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr and line in verbose.stderr


def test_database_locked_past_the_timeout(tmp_path, project_dir, picture, unchanged, capsys, monkeypatch):
    picture(tmp_path / "photos" / "a.png", seed=5)
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(project_dir / "project.sqlite", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another program writing, for longer than sdaug waits
    try:
        with unchanged(tmp_path, project_dir):
            result, line = _cli(capsys, "import", "--project", project_dir, "--format", "images",
                                tmp_path / "photos")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result == 1
    assert f"The project database ({project_dir}) is busy: another sdaug program is writing to it" in line


def test_memory_error_from_an_input_is_one_line(tmp_path, capsys, monkeypatch):
    def explode(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("sdaug.dataset.importers.import_path", explode)
    monkeypatch.setattr("sdaug.commands.import_.import_path", explode, raising=False)
    (tmp_path / "photos").mkdir()
    result, line = _cli(capsys, "import", "--project", tmp_path / "p", "--format", "images", tmp_path / "photos")
    assert result == 1 and "Ran out of memory on this input" in line


def test_a_bug_says_so_and_asks_for_the_traceback(tmp_path, capsys, monkeypatch):
    def bug(*args: object, **kwargs: object) -> None:
        raise TypeError("unsupported operand")

    monkeypatch.setattr("sdaug.commands.import_.import_path", bug, raising=False)
    (tmp_path / "photos").mkdir()
    result, line = _cli(capsys, "import", "--project", tmp_path / "p", "--format", "images", tmp_path / "photos")
    assert result == 1
    assert "Unexpected error (TypeError: unsupported operand). This is a bug in sdaug: run the command " \
           "again with -v" in line


def test_a_working_export_writes_only_its_target(tmp_path, project_dir, cli):
    """An export that works writes only its target (the control for the failure cases above)."""
    before = set(tmp_path.iterdir())
    done = cli("export", "--project", project_dir, "--format", "voc", "--out", tmp_path / "voc")
    assert done.returncode == 0, done.stderr
    assert set(tmp_path.iterdir()) - before == {tmp_path / "voc"}
    shutil.rmtree(tmp_path / "voc")


def test_every_message_has_both_languages_with_the_same_fields():
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name} - {"option_upper"}

    for key, (en, zh) in errors.MESSAGES.items():
        assert fields(en) == fields(zh), key
        literal = "".join(text for text, *_ in string.Formatter().parse(zh))
        assert any("\u4e00" <= c <= "\u9fff" for c in zh) or not any(c.isalpha() for c in literal), key
    error = errors.InputError("limit.prompt_chars", field="prompt", count=20_000_000, limit=10_000,
                              option="max_prompt_chars")
    assert errors.describe(error, "zh").startswith("提示词长 20000000 个字符，超过上限 10000")
    assert errors.describe(OSError(errno.ENOSPC, "No space left on device", "/x/y.png"), "zh") == \
        "磁盘已满（写入 /x/y.png 时）。请释放空间或改用其他磁盘上的文件夹，然后重新运行；未保留写了一半的文件。"
