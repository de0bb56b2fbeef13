"""Annotate tab speed: server time of switching images in a 10,000-image project.

    python tests/bench/bench_annotate.py [--images 10000] [--repeats 300] [--keep DIR]

Builds a project of ``--images`` small distinct PNGs (half of them with 3 boxes, 3 classes,
90% train / 10% val), then calls the tab's Python handlers directly, as gradio would: the
handler (:mod:`sdaug.ui.annotate_core`), the rendering of its outcome into component updates
(:func:`sdaug.ui.annotate.render`) and the canvas component's ``postprocess``. Timed: next,
previous, select a row of the image list, next unlabelled, a canvas change (autosave), and
next with a status + class filter. The goal is < 200 ms per switch. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from gradio_image_annotation import image_annotator
from PIL import Image

from sdaug.dataset.store import Box, Project
from sdaug.settings import Settings
from sdaug.ui import annotate
from sdaug.ui import annotate_core as core
from sdaug.ui.context import AppContext

SIZE = (48, 32)
CLASSES = ("bin not full", "bin overflowing", "garbage")


def build_project(folder: Path, n_images: int) -> Project:
    """``n_images`` distinct noise PNGs; every other one labelled with 3 boxes."""
    rng = np.random.default_rng(0)
    project = Project.open(folder / "project")
    class_ids = [c.id for c in project.ensure_classes(CLASSES)]
    source = folder / "source.png"
    for i in range(n_images):
        Image.fromarray(rng.integers(0, 255, (SIZE[1], SIZE[0], 3), dtype=np.uint8)).save(source, compress_level=1)
        boxes = [Box(class_ids[(i + k) % 3], 2 + 4 * k, 2, 12 + 4 * k, 20) for k in range(3)] if i % 2 else []
        project.add_image(source, split="val" if i % 10 == 0 else "train", boxes=boxes, original_name=f"img{i:05d}.png")
    return project


def per_call_ms(fn: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None,
                ) -> tuple[float, float, float]:
    """Median, 95th percentile and worst time of one call (``setup`` runs untimed before each), in ms."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], times[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        project = (Project.open(work / "project") if (work / "project" / "project.sqlite").exists()
                   else build_project(work, args.images))
        print(f"{project.count_images()} images in {work} ({time.perf_counter() - started:.1f} s to build/open)")
        bench(project, work, args.repeats)
        project.close()


def bench(project: Project, work: Path, repeats: int) -> None:
    ctx = AppContext(settings=Settings(home=work / "home"), project=project.folder)
    ctx.add_translations(annotate.STRINGS)
    canvas = image_annotator()
    state = core.AnnotateState()
    core.open_folder(state, str(project.folder))
    ids = project.image_ids()
    rng = random.Random(0)

    def serve(outcome: core.Outcome) -> None:
        """What gradio does after the handler: render the updates, postprocess the canvas value."""
        updates = annotate.render(ctx, project, state, outcome, "en")
        value = updates[1]
        if isinstance(value, dict) and "image" in value:
            canvas.postprocess(value)

    def jump() -> None:
        core.show_image(project, state, rng.choice(ids))

    def next_image() -> None:
        serve(core.go(project, state, +1))

    def previous_image() -> None:
        serve(core.go(project, state, -1))

    def select_row() -> None:
        state.page = rng.randrange(len(ids) // core.PAGE_SIZE)
        serve(core.show_image(project, state, rng.choice(core.page_rows(project, state).rows)[0]))

    def next_unlabelled() -> None:
        serve(core.next_unlabelled(project, state))

    def autosave() -> None:
        value = core.canvas_value(project, state.image_id)
        boxes = [{**b, "scaleFactor": 1.0, "color": "rgb(0, 0, 0)"} for b in value["boxes"]]
        boxes.insert(0, {"xmin": 1, "ymin": 1, "xmax": rng.randint(5, 40), "ymax": 9, "label": "",
                         "scaleFactor": 1.0, "color": "rgb(0, 0, 0)"})
        name = Path(value["image"]).name
        serve(core.canvas_changed(project, state, {"image": {"path": value["image"], "orig_name": name},
                                                   "boxes": boxes}))

    garbage = project.classes()[2].id

    def filtered_next() -> None:
        serve(core.go(project, state, +1))

    def filter_and_jump() -> None:
        core.set_filter(project, state, "labelled", "train", garbage)
        jump()

    print(f"{'handler (+ render + canvas postprocess)':<44} {'median':>8} {'p95':>8} {'worst':>8}  (ms)")
    for label, fn, setup in (
            ("next (D)", next_image, jump), ("previous (A)", previous_image, jump),
            ("select a row of the list", select_row, None), ("next unlabelled (N)", next_unlabelled, jump),
            ("canvas change (autosave)", autosave, jump), ("next, filter labelled+train+class", filtered_next,
                                                            filter_and_jump)):
        median, p95, worst = per_call_ms(fn, repeats, setup)
        print(f"{label:<44} {median:8.2f} {p95:8.2f} {worst:8.2f}")


if __name__ == "__main__":
    main()
