"""How fast the Ray driver records results: a 20,000-item job with a trivial engine.

    python tests/bench/bench_ray.py [--sources 100] [--variants 100] [--cpus 2] [--profile FILE] [--keep DIR]

Makes ``--sources`` small labelled images and runs a classic job (2 presets x ``--variants``
per source: 20,000 items by default) with ``--backend ray`` on a local Ray instance of
``--cpus`` slots. The engine is trivial (a few seed-dependent pixels), so the workers cost
almost nothing and the driver, the only writer, is what is measured. Reports:

- end to end: items recorded per second of the whole run (Ray start not counted);
- driver recording: items per second of the time the driver spent recording (writing the
  files, syncing them to disk, the transactions and its bookkeeping), i.e. how many items/s
  one driver can take from any number of workers;
- the driver's peak memory (max RSS).

``--profile FILE`` writes the driver thread's cProfile (``python -m pstats FILE``). Not
collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import cProfile
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
from PIL import Image

from sdaug.augment.jobs import JobSpec, create_job
from sdaug.augment.presets import Preset
from sdaug.augment.ray_backend import RayJobRunner
from sdaug.dataset.store import Box, ImageFilter, Project

SIZE = 16
PRESETS = ("fog", "night")


def trivial_render(source: Image.Image, preset: Preset, seed: int) -> Image.Image:
    """The source with its first pixels set from the seed: distinct bytes per item, no work."""
    pixels = np.array(source)
    pixels.reshape(-1)[:4] = np.frombuffer(seed.to_bytes(4, "big"), dtype=np.uint8)
    return Image.fromarray(pixels)


def make_project(folder: Path, n_sources: int) -> Project:
    project = Project.open(folder)
    (bin_class,) = project.ensure_classes(["bin"])
    rng = np.random.default_rng(0)
    originals = folder.parent / "originals"
    originals.mkdir(parents=True, exist_ok=True)
    for index in range(n_sources):
        path = originals / f"img{index:05d}.png"
        Image.fromarray(rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)).save(path)
        project.add_image(path, boxes=[Box(bin_class.id, 2, 2, 12, 12)])
    return project


class TimedRunner(RayJobRunner):
    """Adds up the time the driver spends recording what the workers send back."""

    recording_s = 0.0

    def _record(self, *args: object, **kwargs: object) -> None:
        start = time.perf_counter()
        super()._record(*args, **kwargs)
        self.recording_s += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--profile", metavar="FILE", help="write the driver's cProfile here")
    parser.add_argument("--keep", metavar="DIR", help="make the project here and keep it")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sdaug-bench-ray-"))
    project = make_project(folder / "project", args.sources)
    job = create_job(project, JobSpec(presets=PRESETS, variants=args.variants, engine="classic"))
    items = project.job_progress(job.id).total
    ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    runner = TimedRunner(project, job.id, render=trivial_render)
    profile = cProfile.Profile() if args.profile else None

    start = time.perf_counter()
    if profile is not None:
        profile.enable()
    status = runner.run()
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    wall = time.perf_counter() - start

    recorded = project.count_images(ImageFilter(kind="variant"))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"job: {items} items on {args.cpus} Ray CPU slots, {status.state}, {status.done} done, "
          f"{status.failed} failed, {recorded} variants recorded, workers {status.workers}")
    print(f"end to end:        {recorded / wall:8.0f} items/s ({wall:.1f} s)")
    print(f"driver recording:  {recorded / runner.recording_s:8.0f} items/s ({runner.recording_s:.1f} s "
          "writing files, syncing, transactions)")
    print(f"driver peak memory: {rss_mb:7.0f} MB (max RSS)")
    ray.shutdown()


if __name__ == "__main__":
    main()
