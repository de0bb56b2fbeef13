"""Auto-label figures: a tiny RT-DETR fine-tuned on synthetic shapes, on the CPU.

    python tests/bench/bench_autolabel.py [--images 200] [--epochs 20] [--threshold 0.5]

200 images of coloured shapes in three classes (``sdaug.autolabel.shapes``), 160 to train and
40 held out. Prints the held-out mAP@0.5 of the untrained and the fine-tuned detector
(pycocotools' COCOeval), the training time, and how many boxes a person would have to draw on
the held-out images without proposals and with them at ``--threshold`` (a ground-truth box
counts as proposed when a proposal of its class overlaps it with IoU >= 0.5; wrong proposals are
counted as boxes to delete). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sdaug.autolabel.shapes import CLASSES, shapes_image
from sdaug.engine.finetune import Example, TrainedDetector, build_detector, evaluate, train


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def hand_work(detector: TrainedDetector, examples: list[Example], threshold: float) -> tuple[int, int, int]:
    """(boxes in all, boxes still to draw by hand, wrong proposals to delete)."""
    total = to_draw = to_delete = 0
    found = detector.propose([e.image for e in examples], threshold=threshold)
    for example, proposals in zip(examples, found, strict=True):
        used: set[int] = set()
        for box, label in zip(example.boxes, example.labels, strict=True):
            total += 1
            match = next((i for i, p in enumerate(proposals.boxes)
                          if i not in used and p.class_index == label and iou(p.box, box) >= 0.5), None)
            if match is None:
                to_draw += 1
            else:
                used.add(match)
        to_delete += len(proposals.boxes) - len(used)
    return total, to_draw, to_delete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    data = [Example(*shapes_image(i)) for i in range(args.images)]
    cut = args.images * 4 // 5
    train_set, val_set = data[:cut], data[cut:]
    model = build_detector("tiny", CLASSES)
    before = evaluate(model, val_set, 128)["map50"]
    started = time.perf_counter()
    train(model, train_set, Path(tempfile.mkdtemp()), epochs=args.epochs, image_size=128)
    seconds = time.perf_counter() - started
    after = evaluate(model, val_set, 128)["map50"]
    print(f"shapes: {len(train_set)} training / {len(val_set)} held-out images, 3 classes, tiny RT-DETR")
    print(f"  held-out mAP@0.5: untrained {before:.3f}, fine-tuned {after:.3f} "
          f"({args.epochs} epochs in {seconds:.0f} s on the CPU)")
    total, to_draw, to_delete = hand_work(TrainedDetector(model, 128, "bench"), val_set, args.threshold)
    print(f"  boxes to draw by hand on the held-out images: {total} without proposals, {to_draw} with "
          f"proposals at threshold {args.threshold:g} (plus {to_delete} wrong proposals to delete)")


if __name__ == "__main__":
    main()
