"""``sdaug import --project DIR --format images|yolo|coco|voc PATH``: add images and labels."""

from __future__ import annotations

import argparse

from sdaug.dataset.importers import import_path
from sdaug.dataset.projects import project_folder
from sdaug.dataset.store import Project

# Problems printed in full; the rest are counted (the whole list is in the log with -v).
MAX_PRINTED = 50


def run(args: argparse.Namespace) -> int:
    with Project.open(project_folder(args.project, args.home)) as project:
        report = import_path(project, args.path, args.format)
    for line in report.problems[:MAX_PRINTED]:
        print(f"problem: {line}")
    if len(report.problems) > MAX_PRINTED:
        print(f"... and {len(report.problems) - MAX_PRINTED} more problems")
    for line in report.duplicate_files[:MAX_PRINTED]:
        print(f"duplicate: {line}")
    print(report.summary())
    return 0 if report.images_added or report.duplicates else 1
