"""``sdaug autolabel --project DIR [--detector NAME|PATH] [--threshold T] [--all]``.

A detector proposes boxes for the project's unlabelled images (``--all``: every image). The
proposals are not labels: the images wait in review until a person accepts them, and exports
leave them out. Running the same command again resumes the job; Ctrl-C stops after the current
batch. At the end it lists the images the detector was least sure about: label those first.
"""

from __future__ import annotations

import argparse

from sdaug.autolabel.jobs import AutolabelSpec, create_autolabel_job, run_autolabel
from sdaug.dataset.projects import project_folder
from sdaug.dataset.records import JobProgress
from sdaug.dataset.store import Project
from sdaug.errors import from_record
from sdaug.settings import Settings

SHOW_FIRST = 10


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(home=args.home)
    with Project.open(project_folder(args.project, args.home), create=False) as project:
        spec = AutolabelSpec(detector=args.detector, threshold=args.threshold, only_unlabelled=args.only_unlabelled,
                             batch_size=args.batch_size)
        job = create_autolabel_job(project, spec)
        before = project.job_progress(job.id)
        print(f"job {job.id}: {before.total} images, {before.done} already done; detector {spec.detector}, "
              f"threshold {spec.threshold:g}", flush=True)
        from sdaug.engine.manager import PipelineManager

        progress = run_autolabel(project, job.id, PipelineManager(settings), on_progress=_print_progress)
        proposed = sum(project.proposal_count(item.source_image_id) for item in project.job_items(job.id, "done"))
        print(f"{progress.done} of {progress.total} images done, {progress.failed} failed; {proposed} boxes proposed "
              f"(they wait for a person in the review queue and are left out of exports)")
        for item in project.job_items(job.id, "failed"):
            print(f"  failed: {from_record(item.error, 'en')}")
        order = project.labelling_order(SHOW_FIRST)
        if order:
            print("label these first (the detector is least sure about them): "
                  + ", ".join(f"{project.get_image(i).original_name} ({u:.2f})" if u is not None
                              else project.get_image(i).original_name for i, u in order))
        return 0 if progress.done == progress.total else 1


def _print_progress(progress: JobProgress) -> None:
    print(f"  {progress.done}/{progress.total} images", flush=True)
