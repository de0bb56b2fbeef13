"""``sdaug export --project DIR --format yolo|coco|voc --out PATH [--split ...] [--zip] [--image-format ...]``."""

from __future__ import annotations

import argparse

from sdaug.dataset.exporters import export_project, parse_ratios
from sdaug.dataset.projects import project_folder
from sdaug.dataset.store import Project


def run(args: argparse.Namespace) -> int:
    ratios = parse_ratios(args.split) if args.split else None
    with Project.open(project_folder(args.project, args.home), create=False) as project:
        report = export_project(project, args.format, args.out, ratios=ratios, seed=args.seed,
                                zip_output=args.zip, variants_train_only=args.variants_train_only,
                                image_format=args.image_format, jpeg_quality=args.jpeg_quality)
    print(report.summary())
    print(f"done in {report.seconds:.1f} s")
    return 0
