"""``sdaug bench``: throughput of txt2img, img2img and ControlNet img2img against the compute floor.

Prints one table per workload (batch size, images/s, s/image, peak GPU memory, ratio to the
compute floor, ratio to the plain-script baseline); ``--json FILE`` writes every number. On a
CPU use small runs, e.g. ``sdaug bench --size 256 --steps 3 --batch-sizes 1 --repeats 1``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaug.settings import Settings


def run(args: argparse.Namespace) -> int:
    from sdaug.engine.bench import BenchConfig, run_bench, write_json

    config = BenchConfig(
        model=args.model,
        workloads=_names(args.workloads),
        batch_sizes=tuple(_integers(args.batch_sizes, "--batch-sizes")),
        size=args.size,
        steps=args.steps,
        repeats=args.repeats,
        baseline=not args.no_baseline,
        low_vram=args.low_vram,
        peak_tflops=args.peak_tflops,
        profile_dir=Path(args.profile) if args.profile else None,
    )
    config.validate()
    report = run_bench(config, Settings.from_env())
    print(report.tables())
    if args.json:
        print(f"wrote {write_json(report, Path(args.json))}")
    return 0


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _integers(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in _names(text)]
    except ValueError:
        raise ValueError(f"{option} takes whole numbers separated by commas, like 1,4,16; got {text!r}") from None
