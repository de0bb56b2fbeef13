"""The store under concurrent threads and a process killed with SIGKILL in the middle of edits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from PIL import Image

from sdaug.dataset.store import Box, Project

THREADS = 8
EDITS_PER_THREAD = 25


@pytest.fixture
def project_with_image(tmp_path):
    project = Project.open(tmp_path / "proj")
    project.ensure_classes(["a", "b"])
    path = tmp_path / "img.png"
    Image.new("RGB", (100, 100), (10, 20, 30)).save(path)
    image = project.add_image(path).record
    yield project, image
    project.close()


def test_eight_threads_editing_boxes_lose_no_edit(project_with_image):
    project, image = project_with_image
    class_ids = [c.id for c in project.classes()]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(EDITS_PER_THREAD):
                box = project.add_box(image.id, Box(class_ids[0], n, i, n + 10, i + 10))
                project.update_box(box.id, class_id=class_ids[1], x2=n + 20.0)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    boxes = project.boxes(image.id)
    assert len(boxes) == THREADS * EDITS_PER_THREAD
    assert all(b.class_id == class_ids[1] and b.x2 == b.x1 + 20 for b in boxes)
    assert sorted((b.x1, b.y1) for b in boxes) == sorted(
        (float(n), float(i)) for n in range(THREADS) for i in range(EDITS_PER_THREAD))


_EDITOR = textwrap.dedent("""
    import sys
    from sdaug.dataset.store import Box, Project
    project = Project.open(sys.argv[1])
    image_id, class_id = int(sys.argv[2]), int(sys.argv[3])
    i = 0
    while True:
        box = project.add_box(image_id, Box(class_id, i % 90, 0, i % 90 + 5, 5))
        print(box.id, flush=True)  # printed only after the commit returned
        i += 1
""")


def test_sigkill_mid_edit_loses_no_committed_edit(project_with_image, tmp_path):
    project, image = project_with_image
    class_id = project.classes()[0].id
    proc = subprocess.Popen([sys.executable, "-c", _EDITOR, str(project.folder), str(image.id), str(class_id)],
                            stdout=subprocess.PIPE, text=True)
    committed = []
    try:
        for line in proc.stdout:
            committed.append(int(line))
            if len(committed) >= 200:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with Project.open(project.folder) as reopened:
        assert reopened.read("PRAGMA integrity_check")[0][0] == "ok"
        stored = {b.id for b in reopened.boxes(image.id)}
    assert set(committed) <= stored
    assert len(committed) == 200
