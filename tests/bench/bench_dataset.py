"""Dataset speed: import and export a synthetic YOLO dataset, and time the annotator's queries.

    python tests/bench/bench_dataset.py [--images 10000] [--boxes 5] [--keep DIR]

Makes ``--images`` small distinct PNGs with ``--boxes`` boxes each (10,000 x 5 = 50,000 boxes
by default), imports them as YOLO, exports YOLO, COCO and VOC, and times a page of the image
list, an image switch (get image + its boxes + neighbours + position, what the annotator asks
for), an autosave (``set_boxes``) and the statistics. Not collected by pytest (no ``test_`` prefix).
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
from PIL import Image

from sdaug.dataset.exporters import export_project
from sdaug.dataset.importers import import_path
from sdaug.dataset.stats import project_stats
from sdaug.dataset.store import Box, ImageFilter, Project

SIZE = (64, 48)


def make_yolo(root: Path, n_images: int, boxes_per_image: int) -> None:
    """A YOLO dataset of ``n_images`` distinct noise PNGs, 90% train and 10% val."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    (root / "data.yaml").write_text("names: [bin not full, bin overflowing, garbage]\n")
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
    for i in range(n_images):
        split = "val" if i % 10 == 0 else "train"
        pixels = rng.integers(0, 255, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / split / f"img{i:05d}.png", compress_level=1)
        lines = []
        for _ in range(boxes_per_image):
            w, h = rng.uniform(0.05, 0.4, 2)
            cx, cy = rng.uniform(w / 2, 1 - w / 2), rng.uniform(h / 2, 1 - h / 2)
            lines.append(f"{rng.integers(0, 3)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
        (root / "labels" / split / f"img{i:05d}.txt").write_text("".join(lines))


def timed(label: str, fn: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = fn()
    print(f"{label:<42} {time.perf_counter() - start:8.2f} s")
    return result


def per_call_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and worst time of one call, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--boxes", type=int, default=5, help="boxes per image")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"{args.images} images x {args.boxes} boxes in {work}")
        timed("make synthetic YOLO dataset (not counted)", lambda: make_yolo(work / "src", args.images, args.boxes))
        project = Project.open(work / "project")
        report = timed("import yolo", lambda: import_path(project, work / "src", "yolo"))
        print(f"  {report.summary().splitlines()[0]}")
        for fmt in ("yolo", "coco", "voc"):
            timed(f"export {fmt}", lambda fmt=fmt: export_project(project, fmt, work / f"export-{fmt}"))
        timed("project_stats", lambda: project_stats(project))
        bench_annotator(project)
        project.close()


def bench_annotator(project: Project) -> None:
    ids = project.image_ids()
    rng = random.Random(0)
    labelled = ImageFilter(status="labelled", split="train")
    some_class = project.classes()[1].id

    def page() -> None:
        project.list_images(rng.randrange(0, len(ids) - 50), 50, labelled)

    def switch() -> None:
        image_id = rng.choice(ids)
        project.get_image(image_id)
        project.boxes(image_id)
        project.next_image(image_id, labelled)
        project.previous_image(image_id, labelled)
        project.image_index(image_id, labelled)
        project.count_images(labelled)

    def class_filter_page() -> None:
        project.list_images(0, 50, ImageFilter(class_id=some_class))

    def autosave() -> None:
        image_id = rng.choice(ids)
        boxes = project.boxes(image_id)
        project.set_boxes(image_id, [*boxes[:-1], Box(boxes[0].class_id, 1, 1, 20, 20)] if boxes else [])

    for label, fn in (("list_images page of 50 (filtered)", page), ("image switch (image+boxes+nav+count)", switch),
                      ("list_images page, class filter", class_filter_page), ("autosave set_boxes", autosave)):
        median, worst = per_call_ms(fn, 200)
        print(f"{label:<42} median {median:7.2f} ms, worst {worst:7.2f} ms")


if __name__ == "__main__":
    main()
