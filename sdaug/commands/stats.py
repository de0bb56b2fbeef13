"""``sdaug stats --project DIR``: counts per split, status, class and condition."""

from __future__ import annotations

import argparse

from sdaug.dataset.projects import project_folder
from sdaug.dataset.stats import project_stats
from sdaug.dataset.store import Project


def run(args: argparse.Namespace) -> int:
    with Project.open(project_folder(args.project, args.home), create=False) as project:
        stats = project_stats(project)
    rows = stats.as_rows()
    width = max(len(f"{group}: {name}") for group, name, _ in rows)
    for group, name, count in rows:
        print(f"{f'{group}: {name}':<{width}}  {count:>8}")
    for tiny in stats.tiny_examples[:10]:
        print(f"tiny box {tiny.box_id} ({tiny.class_name}, {tiny.width:.1f}x{tiny.height:.1f} px) "
              f"on image {tiny.image_id}")
    return 0
