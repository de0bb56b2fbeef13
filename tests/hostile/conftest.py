"""Shared pieces of the hostile-input suite (issue 11).

Every case builds its hostile input at test time (small files), runs sdaug on it the way a
user would (the CLI in a subprocess, under a memory limit and a timeout) or calls the core
directly, and checks three things: the message, that nothing was written outside the project,
and that the project is unchanged (:func:`unchanged`).

Helpers are fixtures (the suite runs with ``--import-mode=importlib``, so test files cannot
import this module):

- ``project_dir``: a closed project with two labelled images (class ``car``).
- ``picture(path, seed=0, size=(64, 48))``: writes a small random picture.
- ``run_cli(*args)``: ``python -m sdaug ...`` in an empty working folder, with an address-space
  limit (``resource.setrlimit``) and a timeout; returns the finished process. Resource cases
  use it. ``cli(*args)`` runs the same ``main`` in this process (same folders, same result
  shape), for the cases that need no limit: it saves the 1-2 s of a process start.
- ``one_line_error(done)``: asserts exit 1 and one ``sdaug: error:`` line, no traceback; returns it.
- Both check that the command changed nothing under ``tmp_path`` but its project, its ``--out``
  target and the data folder.
- ``unchanged(root, project_dir)``: a context manager that snapshots every file under
  ``tmp_path`` (hashes; links and pipes by kind) and the project's database rows, and asserts
  both are the same afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug import limits
from sdaug.cli import main
from sdaug.dataset.importers import import_path
from sdaug.dataset.store import Project

MEMORY_LIMIT = 1536 * 1024**2  # address space of a CLI subprocess (no torch is imported)
TIMEOUT_S = 60


def _save_picture(path: Path, seed: int = 0, size: tuple[int, int] = (64, 48), fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, format=fmt)
    return path


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    source = tmp_path / "good"
    for i in range(2):
        _save_picture(source / "images" / f"g{i}.png", seed=100 + i)
        (source / "labels").mkdir(parents=True, exist_ok=True)
        (source / "labels" / f"g{i}.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    (source / "classes.txt").write_text("car\n")
    with Project.open(tmp_path / "proj") as project:
        report = import_path(project, source, "yolo")
    assert report.images_added == 2 and report.boxes == 2
    return tmp_path / "proj"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture
def run_cli(tmp_path: Path):
    work = tmp_path / "cwd"
    work.mkdir(exist_ok=True)

    def run(*args: object, timeout: float = TIMEOUT_S, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        with _writes_only_where_allowed(tmp_path, args):
            return subprocess.run([sys.executable, "-m", "sdaug", *map(str, args)], cwd=work, capture_output=True,
                                  text=True, timeout=timeout, preexec_fn=_limit_memory,
                                  env={**os.environ, "SDAUG_HOME": str(tmp_path / "home"), **(env or {})})

    return run


@pytest.fixture(autouse=True)
def _fresh_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` configures the process-wide limits; each test starts from the defaults."""
    monkeypatch.setattr(limits, "_active", None)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    work = tmp_path / "cwd"
    work.mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("SDAUG_HOME", str(tmp_path / "home"))

    def run(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(limits, "_active", None)
        with _writes_only_where_allowed(tmp_path, args):
            code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["sdaug", *map(str, args)], code, out, err)

    return run


@contextlib.contextmanager
def _writes_only_where_allowed(tmp_path: Path, args: tuple[object, ...]) -> Iterator[None]:
    """Every CLI run of the suite: nothing under ``tmp_path`` changes but the command's project,
    its ``--out`` target (and ``.zip``) and the data folder."""
    words = [str(a) for a in args]
    allowed = [tmp_path / "home"]
    for flag in ("--project", "--out"):
        if flag in words:
            target = Path(words[words.index(flag) + 1])
            allowed += [target, target.with_name(target.name + ".zip")]
    before = {k: v for k, v in tree_state(tmp_path, allowed).items() if Path(k) not in allowed}
    yield
    after = {k: v for k, v in tree_state(tmp_path, allowed).items() if Path(k) not in allowed}
    assert after == before, f"sdaug {' '.join(words)} wrote outside its project: {set(after) ^ set(before)}"


def tree_state(root: Path, skip: Iterable[Path] = ()) -> dict[str, str]:
    """Every entry under ``root`` (not following links) but the folders ``skip``: a hash for
    files, the kind otherwise."""
    state = {}
    skipped = set(skip)
    for folder, dirs, files in os.walk(root):
        if Path(folder) in skipped:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode):
                state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(mode):
                state[str(path)] = "link to " + os.readlink(path)
            elif not stat.S_ISDIR(mode):
                state[str(path)] = "special"
            else:
                state[str(path)] = "folder"
    return state


def project_state(folder: Path) -> dict[str, object]:
    """The project's database rows (table by table) and its files (not SQLite's -wal/-shm)."""
    files = {k: v for k, v in tree_state(folder).items() if not k.endswith(("-wal", "-shm", ".sqlite"))}
    db = folder / "project.sqlite"
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            rows = {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}
    except sqlite3.DatabaseError:
        rows = {"raw": hashlib.sha256(db.read_bytes()).hexdigest()}
    return {"files": files, "rows": rows}


@contextlib.contextmanager
def _unchanged(root: Path, project: Path | None = None) -> Iterator[None]:
    """Assert that nothing under ``root`` (the inputs, the working folder, the data folder)
    and nothing in ``project`` changed while the block ran."""
    skip = [project] if project is not None else []
    outside = tree_state(root, skip)
    inside = project_state(project) if project is not None else None
    yield
    assert tree_state(root, skip) == outside, "something was written outside the project"
    if project is not None:
        assert project_state(project) == inside, "the project changed"


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    """The CLI failed the expected way: exit 1, one ``sdaug: error:`` line, no traceback."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("sdaug: error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def picture():
    return _save_picture


@pytest.fixture
def unchanged():
    return _unchanged


@pytest.fixture
def one_line_error():
    return _one_line_error


@pytest.fixture(autouse=True)
def _refusals_in_chinese(chinese_refusals: list[BaseException]) -> None:
    """Every refusal of this suite is also checked in Chinese (see ``chinese_refusals``)."""
