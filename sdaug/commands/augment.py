"""``sdaug augment --project DIR --preset NAME [--preset NAME ...] --variants N [--engine ...]``.

Running the same command again resumes the same job (its key is a hash of the options that
change what is made), on either backend, and tries its failed images again, up to a limit of
tries per image; ``--retry-failed`` tries them again past the limit. ``--backend ray [--address
auto|HOST:PORT]`` runs the batches on Ray workers (:mod:`sdaug.augment.ray_backend`).
``--status`` prints the progress of every job of the project. Ctrl-C stops after the current
image; nothing finished is lost. A second run of a job that is running is refused. On a
terminal the progress is a bar (tqdm) with images/s, ETA and per-worker counts; otherwise one
line every 2 seconds. The exit status is 0 only when every image of the job was made.
"""

from __future__ import annotations

import argparse
import sys

from sdaug.augment.jobs import (
    MAX_ITEM_ATTEMPTS,
    JobRunner,
    JobSpec,
    JobStatus,
    create_job,
    failure_lines,
    format_duration,
    job_report,
    new_runner,
    status_of,
)
from sdaug.augment.presets import load_all_presets
from sdaug.dataset.projects import project_folder
from sdaug.dataset.store import Project
from sdaug.settings import Settings

PRINT_EVERY_S = 2.0


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(home=args.home)
    with Project.open(project_folder(args.project, args.home), create=False) as project:
        if args.status:
            return _print_status(project)
        if not args.preset:
            known = ", ".join(sorted(load_all_presets(settings)))
            raise ValueError(f"give at least one --preset NAME; known presets: {known}")

        # 1. Create the job, or find it again (resume).
        spec = JobSpec(presets=tuple(args.preset), variants=args.variants, engine=args.engine,
                       model=(args.model or "") if args.engine == "diffusion" else "", split=args.split,
                       status=args.status_filter, class_name=args.class_filter, batch_size=args.batch_size,
                       semantic_model=args.semantic_check)
        job = create_job(project, spec, settings)
        runner = new_runner(project, job.id, settings=settings, backend=args.backend,
                            address=args.address or settings.ray_address, workers=args.workers)
        before = runner.status()
        verb = "resuming" if before.done or before.failed else "starting"
        where = f", backend {runner.backend}" if runner.backend != "in-process" else ""
        print(f"job {job.id}: {verb}, {before.total} variants ({', '.join(spec.presets)} × {spec.variants} "
              f"per source, engine {spec.engine}{where}), {before.done} already done"
              + (f", {before.failed} failed before" if before.failed else ""), flush=True)

        # 2. Run it in the background and show progress until it ends or Ctrl-C.
        runner.start(retry_failed=args.retry_failed)  # another run of this job: ValueError (one line, exit 1)
        try:
            _follow(runner)
        except KeyboardInterrupt:
            print("stopping after the current image ...", flush=True)
            runner.stop(wait=True)
            print(f"stopped: {runner.status().line()}; run the same command again to resume")
            return 130

        # 3. Final report.
        status = runner.status()
        _print_job(project, status)
        if status.error:
            print(f"error: {status.error}")
            print("fix it and run the same command again to resume")
            return 1
        return 0 if status.state == "done" else 1


def _follow(runner: JobRunner) -> None:
    """Progress until the run ends: a bar on a terminal, else a line every few seconds."""
    if not sys.stdout.isatty():
        while not runner.join(timeout=PRINT_EVERY_S):
            print(runner.status().line(), flush=True)
        return
    from tqdm import tqdm

    status = runner.status()
    with tqdm(total=status.total, initial=status.done + status.failed, unit="img", dynamic_ncols=True,
              file=sys.stdout, smoothing=0.1) as bar:
        while not runner.join(timeout=0.5):
            status = runner.status()
            bar.update(status.done + status.failed - bar.n)
            extra = [f"{status.failed} failed"] if status.failed else []
            if status.workers:
                extra.append(" ".join(f"{name}:{count}" for name, count in status.workers.items()))
            if status.message:
                extra.append(status.message)
            bar.set_postfix_str(", ".join(extra), refresh=False)
        status = runner.status()
        bar.update(status.done + status.failed - bar.n)


def _print_status(project: Project) -> int:
    jobs = project.jobs("augment")
    if not jobs:
        print("no augmentation jobs in this project yet")
        return 0
    for job in jobs:
        spec = JobSpec.from_config(job.config)
        print(f"job {job.id} [{job.state}]: {', '.join(spec.presets)} × {spec.variants}, engine {spec.engine}"
              f"{', model ' + spec.model if spec.model else ''}")
        _print_job(project, status_of(project, job.id))
    return 0


def _print_job(project: Project, status: JobStatus) -> None:
    print(f"{status.state}: {status.line()}"
          + (f" in {format_duration(status.elapsed_s)}" if status.elapsed_s else ""))
    rows = job_report(project, status.job_id)
    width = max(len("preset"), *(len(r.preset) for r in rows))
    print(f"  {'preset':<{width}}  {'total':>6} {'done':>6} {'failed':>6} {'passed':>6} {'review':>6}  pass rate")
    for r in rows:
        rate = f"{100 * r.pass_rate:.0f}%" if r.pass_rate is not None else "-"
        print(f"  {r.preset:<{width}}  {r.total:>6} {r.done:>6} {r.failed:>6} {r.passed:>6} {r.review:>6}  {rate:>9}")
    if status.failed:
        print(f"  failed images ({status.failed}):")
        for line in failure_lines(project, status.job_id):
            print(f"    {line}")
        if status.failed > status.gave_up:
            print("  run the same command again to try them again")
        if status.gave_up:
            print(f"  {status.gave_up} failed {MAX_ITEM_ATTEMPTS} times; fix them and run the same command "
                  "with --retry-failed to try them again")
