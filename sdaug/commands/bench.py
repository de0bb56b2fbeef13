"""``sdaug bench``: throughput of txt2img, img2img and ControlNet img2img against the compute floor.

Prints one table per workload (batch size, images/s, s/image, peak GPU memory, ratio to the
compute floor, ratio to the plain-script baseline); ``--json FILE`` writes every number. On a
CPU use small runs, e.g. ``sdaug bench --size 256 --steps 3 --batch-sizes 1 --repeats 1``.
``--model tiny`` runs at the tiny model's own size and step count, batch sizes 1 and 4, unless
``--size`` / ``--steps`` / ``--batch-sizes`` say otherwise. The benchmark (:mod:`sdaug.bench`) is imported here, when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaug.engine.sources import TINY, TINY_SIZE, TINY_STEPS
from sdaug.settings import Settings

TINY_DEFAULTS = {"size": TINY_SIZE, "steps": TINY_STEPS, "batch_sizes": (1, 4)}


def run(args: argparse.Namespace) -> int:
    from sdaug.bench.report import BenchConfig, write_json

    # The tiny model's own size and steps (and two batch sizes), unless given; other models get
    # BenchConfig's defaults (SD1.5's size and steps).
    given = {"size": args.size, "steps": args.steps,
             "batch_sizes": tuple(_integers(args.batch_sizes, "--batch-sizes")) if args.batch_sizes else None}
    defaults = dict(TINY_DEFAULTS) if args.model == TINY else {}
    defaults.update({key: value for key, value in given.items() if value is not None})
    config = BenchConfig(
        model=args.model,
        workloads=_names(args.workloads),
        repeats=args.repeats,
        baseline=not args.no_baseline,
        low_vram=args.low_vram,
        peak_tflops=args.peak_tflops,
        profile_dir=Path(args.profile) if args.profile else None,
        **defaults,
    )
    config.validate()
    from sdaug.bench.runner import run_bench  # torch loads here, after the options are checked

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
