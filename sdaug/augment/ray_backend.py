"""Augment jobs on a Ray cluster: one job spread over many GPUs, CPU slots or machines.

Imported only when a job runs with ``--backend ray`` (``import sdaug.augment.jobs`` never
imports ray). Ray does the scheduling, the object store and fault detection; this module only
decides what each worker makes and records what comes back.

- :class:`RayJobRunner` is a :class:`~sdaug.augment.jobs.JobRunner` whose batches run on Ray
  workers instead of in this process: same controls (``start``, ``stop``, ``status``), same
  job lock, same final states. Without an address it starts a local Ray instance
  (``ray.init(num_cpus=...)``); with ``auto`` or ``HOST:PORT`` it joins a running cluster
  (``ray start --head`` on one machine, ``ray start --address=HOST:PORT`` on the others).
- Workers are long-lived actors (:class:`VariantWorker`): one per GPU (``num_gpus=1``) for
  the diffusion engine, one per CPU slot otherwise. Each keeps its own
  :class:`~sdaug.engine.manager.PipelineManager`, so a model loads once per worker and job.
  They end with the job, so an idle app holds no CPU or GPU slot of the cluster.
- The driver is the only writer: it puts each source image's file bytes into the object store
  (workers need no access to the project folder), workers return encoded variants
  (:class:`~sdaug.augment.making.MadeVariant`), and the driver writes the files and records the
  rows (:meth:`Project.record_variants`: one transaction for all results at hand, all or
  nothing per variant). Batches are the in-process runner's batches and seeds are per item,
  so every variant is byte-identical to the in-process one.
- Faults: a batch whose worker died (``kill -9``, node lost) or failed is retried item by item
  on whichever worker is free; the worker gets no more work until it answers again (Ray
  restarts a killed actor up to 4 times). An item that failed twice in a run is marked failed,
  both tries counted in its stored attempts (so the next run, or ``retry_failed``, treats it
  as the in-process runner does: see :data:`~sdaug.augment.jobs.MAX_ITEM_ATTEMPTS`), and the
  job goes on. A source the driver cannot read (missing, too large) fails its own items
  before any worker sees it. An error about the model stops the job, as in process. Items are
  only marked done by the driver's transaction, so a killed driver loses nothing: running
  again resumes the pending items.
- The CLIP semantic check (``JobSpec.semantic_model``) runs in the workers, with the classes
  the driver sends (:class:`~sdaug.augment.making.VariantOptions`), like the file format.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image

from sdaug.augment.jobs import _SOURCE_CACHE, JobRunner, VariantCallback, batch_window, next_batch
from sdaug.augment.making import (
    JOB_ERRORS,
    MadeVariant,
    Render,
    VariantOptions,
    WorkItem,
    decode_source,
    describe_source,
    make_variants,
    read_source,
)
from sdaug.augment.presets import Preset
from sdaug.dataset.store import Box, ImageRecord, JobItem, Project
from sdaug.errors import InputError, Phrase, failure, line_of, record
from sdaug.settings import Settings

try:
    import ray
    from ray.exceptions import ActorUnavailableError, RayError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise InputError("ray.missing") from exc

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # an item whose batch failed this many times is marked failed
IN_FLIGHT_PER_WORKER = 3  # batches queued at each worker, so none waits for the driver
RAY_CLASSIC_BATCH = 64  # classic items per Ray task (the classic effect works item by item)
CONNECT_TIMEOUT_S = 5.0
_SOURCE_REFS = 512  # source images the driver keeps in the object store


@dataclass(frozen=True)
class SourceRef:
    """A source image as the driver sends it: its file's bytes in the object store (wrapped in a
    list, so the worker fetches them only when it has not decoded that source yet), its boxes,
    its record (to check the decoded size) and its name for messages."""

    data: list
    boxes: tuple[Box, ...]
    record: ImageRecord
    where: str


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address`` (``auto`` or ``HOST:PORT``), or start a local Ray
    instance with ``num_cpus`` CPU slots (default: every core). Does nothing when this process
    is already connected."""
    if ray.is_initialized():
        return
    if address and address != "auto":
        check_reachable(address)
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)  # "local": a new instance, even beside a `ray start` one
    except ConnectionError as exc:
        raise InputError("ray.connect", address=address, reason=str(exc).rstrip(".")) from exc


def check_reachable(address: str) -> None:
    """Raise ``ValueError`` unless ``HOST:PORT`` (or ``ray://HOST:PORT``) answers within a few
    seconds: Ray itself keeps retrying an unreachable address for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError("ray.address", address=address)
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise InputError("ray.unreachable", address=address, reason=exc.strerror or str(exc)) from None


@ray.remote(concurrency_groups={"control": 1}, max_restarts=4, max_task_retries=0)
class VariantWorker:
    """A long-lived worker: makes the variants of the batches the driver sends it.

    :meth:`cancel` runs in its own concurrency group, so it reaches the worker while
    :meth:`make` is busy (the diffusion engine then stops within one step).
    """

    def __init__(self, engine: str, model: str, settings: Settings | None, render: Render | None) -> None:
        self.engine, self.model, self.settings, self.render = engine, model, settings, render
        self.manager: object = None
        self.cancelled = threading.Event()
        self.sources: OrderedDict[int, Image.Image] = OrderedDict()

    @ray.method(concurrency_group="control")
    def pid(self) -> int:
        return os.getpid()

    @ray.method(concurrency_group="control")
    def cancel(self) -> None:
        self.cancelled.set()

    def make(self, preset: Preset, items: Sequence[JobItem], sources: dict[int, SourceRef],
             options: VariantOptions) -> list[MadeVariant]:
        """The variants of ``items``; ``sources`` maps a source id to its :class:`SourceRef`.
        Every failure comes back as a :class:`MadeVariant` with an error, never as an exception,
        except an error about the model (it stops the job)."""
        # 1. Decode the sources (kept for the next batches: items come preset by preset).
        work, made = [], []
        for item in items:
            source = sources[item.source_image_id]
            try:
                work.append(WorkItem(item, self._source(item.source_image_id, source), source.boxes, source.where))
            except ValueError as exc:
                made.append(MadeVariant(item, None, error=record(failure(exc, source.where))))
        # 2. Make them, as the in-process runner does.
        try:
            made += make_variants(self.engine, preset, work, model=self.model, manager=self._manager,
                                  cancel=self.cancelled, render=self.render, options=options)
        except JOB_ERRORS:
            raise
        except Exception as exc:  # the driver decides: retry elsewhere, or mark failed
            logger.exception("batch of %d item(s) failed", len(work))
            made += [MadeVariant(one.item, None, error=record(failure(exc))) for one in work]
        return made

    def _source(self, image_id: int, source: SourceRef) -> Image.Image:
        if image_id not in self.sources:
            self.sources[image_id] = decode_source(ray.get(source.data[0]), source.record, source.where)
            if len(self.sources) > _SOURCE_CACHE:
                self.sources.popitem(last=False)
        self.sources.move_to_end(image_id)
        return self.sources[image_id]

    def _manager(self) -> object:
        if self.manager is None:
            from sdaug.engine.manager import PipelineManager

            self.manager = PipelineManager(self.settings or Settings.from_env())
        return self.manager


class RayJobRunner(JobRunner):
    """Runs a job's batches on Ray workers; this process records every result.

    ``address``: ``None`` starts a local Ray instance (``num_cpus`` slots), ``auto`` or
    ``HOST:PORT`` joins a cluster. ``workers``: how many workers (default: one per GPU for the
    diffusion engine when the cluster has GPUs, else one per CPU slot). ``render`` replaces
    the classic effect (benchmarks).
    """

    backend = "ray"

    def __init__(self, project: Project, job_id: int, settings: Settings | None = None, manager: object = None,
                 on_variant: VariantCallback | None = None, *, address: str | None = None,
                 workers: int | None = None, num_cpus: int | None = None, render: Render | None = None) -> None:
        super().__init__(project, job_id, settings=settings, manager=manager, on_variant=on_variant)
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise InputError("value.whole_min", field="workers", low=1, value=workers)
        self.address, self.workers, self.num_cpus, self.render = address or None, workers, num_cpus, render
        self.actors: list = []
        self.retried = 0  # items run again after a failed attempt (this run)
        self._source_refs: OrderedDict[int, SourceRef] = OrderedDict()

    def start(self, retry_failed: bool = False) -> None:
        connect(self.address, self.num_cpus)  # a bad address is reported here, before the thread starts
        super().start(retry_failed)

    def worker_pids(self) -> list[int]:
        """The process id of each worker (tests kill them)."""
        return ray.get([actor.pid.remote() for actor in self.actors])

    # Work ---------------------------------------------------------------------------------
    def _work(self, presets: dict[str, Preset]) -> None:
        # 1. Ray, the batches (the in-process runner's, so results are identical) and the workers.
        connect(self.address, self.num_cpus)
        workers = self._worker_count()
        queue = deque(self._plan(workers))
        if not queue:
            return
        self._start_workers(min(workers, len(queue)))
        options = self._options()
        attempts: Counter[int] = Counter()
        in_flight: dict[object, tuple[int, list[JobItem]]] = {}  # batch running -> (worker, items)
        probes: dict[object, int] = {}  # a worker whose batch failed gets no work until it answers
        usable = set(range(len(self.actors)))
        cancelled = False
        # The driver records in a thread of its own, so this loop never waits for the disk;
        # whatever arrives while it records is recorded next, in one transaction.
        recorder = ThreadPoolExecutor(1, thread_name_prefix="sdaug-record")
        recording: Future | None = None
        backlog: list[tuple[int, MadeVariant]] = []
        try:
            while queue or in_flight:
                # 2. Keep every worker busy; on Stop, cancel what runs and wait for it.
                if self._stop.is_set() and not cancelled:
                    for actor in self.actors:
                        actor.cancel.remote()
                    cancelled = True
                if cancelled and not in_flight:
                    break
                if not cancelled:
                    self._submit(queue, in_flight, usable, presets, options)
                if not in_flight and not probes:
                    if queue:
                        raise InputError("ray.workers_gone")
                    break  # the last batches' sources could not be read (their items failed): nothing runs

                # 3. Everything that has come back: failed batches are retried item by item (a
                #    worker that died is asked whether Ray restarted it); results go to the
                #    recorder.
                waiting = [*in_flight, *probes]
                ready, _ = ray.wait(waiting, num_returns=1, timeout=0.5)
                if ready:
                    ready, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
                made: list[tuple[int, MadeVariant]] = []
                for ref in ready:
                    if ref in probes:
                        index = probes.pop(ref)
                        try:
                            ray.get(ref)
                            usable.add(index)
                        except ActorUnavailableError:  # still restarting: ask again
                            probes[self.actors[index].pid.remote()] = index
                        except RayError:
                            logger.warning("Ray worker w%d is gone for good", index + 1)
                        continue
                    index, batch = in_flight.pop(ref)
                    try:
                        results = ray.get(ref)
                    except RayError as exc:
                        cause = getattr(exc, "cause", None)
                        if isinstance(cause, JOB_ERRORS):
                            raise cause from exc  # the model, not the worker: the job stops
                        if index in usable:
                            logger.warning("Ray worker w%d failed (%s); its items run again", index + 1,
                                           type(exc).__name__)
                            usable.discard(index)
                            probes[self.actors[index].pid.remote()] = index
                        self._retry(batch, record(Phrase("job.worker_failed", kind=type(exc).__name__)), attempts,
                                    queue, cancelled)
                        continue
                    made += [(index, one) for one in results]
                    returned = {one.item.id for one in results}
                    if not cancelled:  # items a cancelled batch did not reach stay pending
                        queue.extendleft([item] for item in reversed(batch) if item.id not in returned)
                backlog += self._triage(made, attempts, queue, cancelled)
                if backlog and (recording is None or recording.done()):
                    if recording is not None:
                        recording.result()  # an error while recording ends the job here
                    recording, backlog = recorder.submit(self._record, backlog), []
            if recording is not None:
                recording.result()
            self._record(backlog)
        finally:
            # 4. The workers end, so their CPU or GPU slots are free for other jobs on the cluster.
            recorder.shutdown(wait=True)
            for actor in self.actors:
                ray.kill(actor)
            self.actors = []
            self._source_refs.clear()

    def _plan(self, workers: int) -> list[list[JobItem]]:
        """All pending items as batches: each one :func:`next_batch` of the next window of
        pending items, exactly as the in-process runner takes them (classic: smaller windows
        for a small job, so that every worker gets some)."""
        engine, batch_size = self.spec.engine, self.spec.batch_size
        pending = self.project.pending_items(self.job_id)
        if engine == "classic":
            size = max(1, min(RAY_CLASSIC_BATCH, len(pending) // (workers * IN_FLIGHT_PER_WORKER)))
        else:
            size = batch_window(engine, batch_size)
        rest, window, batches = deque(pending), [], []
        while rest or window:
            while rest and len(window) < size:
                window.append(rest.popleft())
            batch = next_batch(window, engine, batch_size, self._size)
            batches.append(batch)
            taken = {item.id for item in batch}
            window = [item for item in window if item.id not in taken]
        return batches

    def _worker_count(self) -> int:
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        if self.workers is not None:
            return self.workers
        return gpus if self.spec.engine == "diffusion" and gpus else cpus

    def _start_workers(self, count: int) -> None:
        gpus = self.spec.engine == "diffusion" and ray.cluster_resources().get("GPU", 0) >= 1
        options = {"num_gpus": 1, "num_cpus": 0} if gpus else {"num_cpus": 1}
        self.actors = [VariantWorker.options(**options).remote(self.spec.engine, self.spec.model, self.settings,
                                                               self.render) for _ in range(count)]
        self._workers = {f"w{index + 1}": 0 for index in range(count)}
        logger.info("job %d: %d Ray worker(s) (%s)", self.job_id, count, "one GPU each" if gpus else "one CPU each")

    def _submit(self, queue: deque, in_flight: dict, alive: set[int], presets: dict[str, Preset],
                options: VariantOptions) -> None:
        load = Counter(index for index, _ in in_flight.values())
        while queue and alive:
            index = min(alive, key=lambda i: (load[i], i))  # the least busy worker
            if load[index] >= IN_FLIGHT_PER_WORKER:
                return
            batch, sources = self._with_sources(queue.popleft())
            if batch:
                ref = self.actors[index].make.remote(presets[batch[0].preset], batch, sources, options)
                in_flight[ref] = (index, batch)
                load[index] += 1

    def _with_sources(self, batch: list[JobItem]) -> tuple[list[JobItem], dict[int, SourceRef]]:
        """The batch's items whose source can be read (the others are marked failed, with the
        in-process runner's message naming the file) and their sources for the worker."""
        sources, readable = {}, []
        for item in batch:
            try:
                sources[item.source_image_id] = self._source_ref(item.source_image_id)
            except ValueError as exc:
                self._fail(item, exc)
                continue
            readable.append(item)
        return readable, sources

    def _source_ref(self, image_id: int) -> SourceRef:
        """The source's :class:`SourceRef` (its file put in the object store once)."""
        if image_id not in self._source_refs:
            record = self.project.get_image(image_id)
            data = read_source(self.project, record)
            self._source_refs[image_id] = SourceRef([ray.put(data)], tuple(self.project.boxes(image_id)), record,
                                                    describe_source(self.project, record))
            if len(self._source_refs) > _SOURCE_REFS:
                self._source_refs.popitem(last=False)
        self._source_refs.move_to_end(image_id)
        return self._source_refs[image_id]

    def _retry(self, batch: Sequence[JobItem], error: str, attempts: Counter[int], queue: deque,
               cancelled: bool) -> None:
        """Count a failed attempt for each item: retried alone, or marked failed after the second
        (both attempts counted in the item's stored attempts)."""
        for item in batch:
            attempts[item.id] += 1
            if attempts[item.id] >= MAX_ATTEMPTS:
                self._fail(item, Phrase("job.failed_times", count=attempts[item.id], error=line_of(error)),
                           attempts[item.id])
            elif not cancelled:
                queue.append([item])
                self.retried += 1

    def _triage(self, made: list[tuple[int, MadeVariant]], attempts: Counter[int], queue: deque,
                cancelled: bool) -> list[tuple[int, MadeVariant]]:
        """Items a worker could not make go back to the queue (or are failed); returns the others."""
        for _, one in made:
            if one.error is not None:
                self._retry([one.item], one.error, attempts, queue, cancelled)
        return [(index, one) for index, one in made if one.error is None]

    def _record(self, made: list[tuple[int, MadeVariant]]) -> None:
        """Record made variants (one transaction) and count them per worker."""
        if not made:
            return
        recorded = {one.item.id for one in self._record_made([one for _, one in made])}
        counts = dict(self._workers)  # a new dict: status() may be reading the old one
        for index, one in made:
            if one.item.id in recorded:
                counts[f"w{index + 1}"] += 1
        self._workers = counts
