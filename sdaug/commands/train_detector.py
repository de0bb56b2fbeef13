"""``sdaug train-detector --project P [--epochs N] [--base HUB_ID|tiny] [--name NAME]``.

Fine-tunes RT-DETR on the project's labelled images of the train split, prints each epoch and
the held-out mAP on the val split, and keeps the model in ``<project>/detectors/<name>``. Run the
same command again to resume after Ctrl-C or a crash; use it with
``sdaug autolabel --detector trained:NAME``.
"""

from __future__ import annotations

import argparse

from sdaug.autolabel.train import TrainSpec, train_detector
from sdaug.dataset.projects import project_folder
from sdaug.dataset.store import Project
from sdaug.settings import Settings


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(home=args.home)
    spec = TrainSpec(name=args.name, base=args.base, epochs=args.epochs, batch_size=args.batch_size,
                     image_size=args.image_size, learning_rate=args.learning_rate)
    with Project.open(project_folder(args.project, args.home), create=False) as project:
        from sdaug.engine.manager import PipelineManager

        result = train_detector(project, spec, PipelineManager(settings), on_epoch=_print_epoch)
    print(f"detector {spec.name}: {result.epochs} epochs on {result.train_images} images; held-out mAP@0.5 "
          f"{result.map50:.3f}, mAP@0.5:0.95 {result.map:.3f} on {result.val_images} val images; saved in "
          f"{result.folder}")
    print(f"use it: sdaug autolabel --project {args.project} --detector trained:{spec.name}")
    return 0


def _print_epoch(report: object) -> None:
    print(f"  epoch {report.epoch}/{report.epochs}: loss {report.loss:.3f} ({report.seconds:.1f} s)",  # type: ignore[attr-defined]
          flush=True)
