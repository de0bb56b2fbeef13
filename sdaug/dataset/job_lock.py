"""One driver per job: an OS file lock in the project folder (``.locks/job-<id>.lock``).

Two processes (or two runners in one process) that run the same job would both compute every
item; the second one to start is refused with a message naming the holder (process id, host,
start time, written beside the lock in ``job-<id>.owner``). The operating system releases the
lock when its process ends, even when it is killed with ``kill -9``, so a crashed run never
leaves a stale lock behind. Uses the ``filelock`` package (``flock`` on POSIX, ``msvcrt``
on Windows).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

from filelock import FileLock, Timeout

from sdaug.errors import InputError
from sdaug.prompts.metadata import write_atomic

LOCKS_DIR = ".locks"


class JobLock:
    """Exclusive right to run one job of a project. :meth:`acquire` raises ``ValueError`` when
    another runner holds it; :meth:`release` may be called from any thread."""

    def __init__(self, folder: Path, job_id: int) -> None:
        self.job_id = job_id
        locks = Path(folder) / LOCKS_DIR
        locks.mkdir(parents=True, exist_ok=True)
        self.path = locks / f"job-{job_id}.lock"
        self.owner_path = locks / f"job-{job_id}.owner"
        self._lock = FileLock(self.path, timeout=0, thread_local=False)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def acquire(self) -> None:
        """Take the lock now or raise ``ValueError`` saying who holds it (this lock too)."""
        try:
            if self.held:
                raise Timeout(str(self.path))
            self._lock.acquire()
        except Timeout:
            raise self.busy() from None
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        try:
            write_atomic(self.owner_path, lambda handle: handle.write(json.dumps(owner).encode()))
        except OSError:  # it only names the holder in messages: a full disk is reported by the run itself
            with contextlib.suppress(OSError):
                self.owner_path.unlink()  # never name an earlier holder

    def release(self) -> None:
        if self.held:
            self._lock.release(force=True)

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def busy(self) -> InputError:
        """The refusal naming who holds the lock (``process 123 on host1 since 07:20:03 UTC``), as
        far as the owner file tells."""
        try:
            owner = json.loads(self.owner_path.read_text())
            since = time.strftime("%H:%M:%S UTC", time.gmtime(float(owner["since"])))
            return InputError("job.running", job=self.job_id, pid=owner["pid"], host=owner["host"], since=since)
        except (OSError, ValueError, KeyError, TypeError):
            return InputError("job.running_elsewhere", job=self.job_id)
