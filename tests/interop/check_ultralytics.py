"""Check that an sdaug YOLO export trains in Ultralytics as it is: one CPU epoch, offline.

Run it in an environment where Ultralytics (and so torchvision) is installed, never in sdaug's
own venv (torchvision must not share it with sdaug's CPU torch)::

    python3 -m venv ~/venv-ultra
    ~/venv-ultra/bin/pip install torch==2.14.1 torchvision==0.29.1 ultralytics
    ~/venv-ultra/bin/python tests/interop/check_ultralytics.py EXPORT_FOLDER_OR_ZIP

A zip is unpacked into a temporary folder first (so the check also proves that the export works
away from where it was written). The model is built from ``yolov8n.yaml`` (no weights are
downloaded, ``pretrained=False``); the AMP check only runs on CUDA; Ultralytics' font download
(Arial.ttf, or Arial.Unicode.ttf for non-ASCII class names, fetched by its dataset check) is
avoided by putting a local TrueType font under those names in a private ``YOLO_CONFIG_DIR``.

Exit status 0 only when every image and label file of the export was found by Ultralytics'
own dataset scan (none missing or corrupt, every box counted), the class names match
``data.yaml`` and validation ran over every val image. Prints one line per check.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def _offline_config(config_dir: Path) -> None:
    """Private Ultralytics settings folder with local fonts; no network use (set before import)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        shutil.copyfile(font, config_dir / name)
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    os.environ["YOLO_OFFLINE"] = "1"


def _expected(root: Path, split: str) -> tuple[int, int, int]:
    """(images, empty label files, boxes) of one split, counted from the files themselves."""
    images = [p for p in (root / "images" / split).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    empty = boxes = 0
    for image in images:
        label = root / "labels" / split / f"{image.stem}.txt"
        lines = [line for line in label.read_text(encoding="utf-8").splitlines() if line.strip()]
        empty += not lines
        boxes += len(lines)
    return len(images), empty, boxes


def check(export: Path, work: Path, imgsz: int) -> list[str]:
    """Train one epoch on ``export`` (folder with data.yaml); the failed checks, or an empty list."""
    import yaml
    from ultralytics import YOLO
    from ultralytics.data.utils import load_dataset_cache_file

    data_yaml = export / "data.yaml"
    declared = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    # 1. Train one epoch on the CPU from the yaml config (no weights), validating at the end.
    model = YOLO("yolov8n.yaml")
    try:
        model.train(data=str(data_yaml), epochs=1, imgsz=imgsz, batch=4, device="cpu", workers=0,
                    pretrained=False, amp=False, plots=False, val=True, project=str(work), name="run",
                    exist_ok=True, verbose=False, seed=0, deterministic=True)
    except Exception as exc:  # any failure to train is the answer, printed as one line
        print(f"FAIL training: {type(exc).__name__}: {exc}")
        return [f"training failed: {exc}"]
    trainer = model.trainer
    failures = []
    # 2. Ultralytics' own dataset scan: every image found with its label, none corrupt.
    splits = {"train": "train", "val": "val" if (export / "images" / "val").is_dir() else "train"}
    for split, folder in splits.items():
        n_images, n_empty, n_boxes = _expected(export, folder)
        cache = load_dataset_cache_file(export / "labels" / f"{folder}.cache")
        found, missing, empty, corrupt, total = cache["results"]
        boxes = sum(len(label["cls"]) for label in cache["labels"])
        line = (f"{split}: {found}/{n_images} labels found, {missing} missing, {empty} empty "
                f"(expected {n_empty}), {corrupt} corrupt, {boxes}/{n_boxes} boxes")
        ok = (found, missing, empty, corrupt, total, boxes) == (n_images, 0, n_empty, 0, n_images, n_boxes)
        print(("ok   " if ok else "FAIL ") + line)
        if not ok:
            failures.append(line)
    # 3. Class names as data.yaml declares them.
    names = declared["names"]
    expected_names = dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    ok = trainer.data["names"] == expected_names and trainer.data["nc"] == len(expected_names)
    print(("ok   " if ok else "FAIL ") + f"classes: {trainer.data['names']}")
    if not ok:
        failures.append(f"class names {trainer.data['names']} != {expected_names}")
    # 4. Validation ran over every val image and produced metrics.
    n_val = _expected(export, splits["val"])[0]
    seen = getattr(trainer.validator, "seen", 0) if trainer.validator is not None else 0
    has_metrics = any(key.startswith("metrics/mAP50") for key in (trainer.metrics or {}))
    ok = seen == n_val and has_metrics
    print(("ok   " if ok else "FAIL ") + f"validation: {seen}/{n_val} images, metrics {sorted(trainer.metrics or {})}")
    if not ok:
        failures.append(f"validation saw {seen} of {n_val} images (metrics: {has_metrics})")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="sdaug YOLO export: folder or .zip")
    parser.add_argument("--imgsz", type=int, default=64, help="training image size (small is fast)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="check-ultralytics-") as tmp:
        tmp_path = Path(tmp)
        _offline_config(tmp_path / "config")
        export = args.export.resolve()
        if export.is_file() and export.suffix == ".zip":
            with zipfile.ZipFile(export) as zf:
                zf.extractall(tmp_path / "unzipped")
            export = tmp_path / "unzipped"
        else:  # copied, so the label caches Ultralytics writes stay out of the export
            export = Path(shutil.copytree(export, tmp_path / "copy"))
        if not (export / "data.yaml").is_file():
            print(f"FAIL {args.export}: no data.yaml at the top (not a YOLO export?)")
            return 1
        failures = check(export, tmp_path / "runs", args.imgsz)
    print("PASS" if not failures else f"FAILED: {len(failures)} check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
