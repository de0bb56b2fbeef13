"""Augment jobs on a local Ray cluster (``ray.init(num_cpus=2)``, no dashboard; one per module):
results byte-identical to the in-process backend (classic engine; the tiny model under
``-m slow``), Stop and resume, a worker killed with ``kill -9`` mid-job, a driver killed
mid-job, an item that fails twice, two drivers on one job.

Skipped when ray is not installed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from sdaug.augment import presets, ray_backend  # noqa: E402
from sdaug.augment.jobs import MAX_ITEM_ATTEMPTS, JobRunner, JobSpec, create_job  # noqa: E402
from sdaug.augment.ray_backend import RayJobRunner  # noqa: E402
from sdaug.dataset.store import ImageFilter, Project  # noqa: E402
from sdaug.errors import from_record  # noqa: E402
from sdaug.prompts import parse_infotext  # noqa: E402
from sdaug.settings import Settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_augment_jobs import check_variants, make_project, start_until_done, tiny_settings  # noqa: E402, F401


@pytest.fixture(scope="module")
def cluster() -> str:
    """A local Ray instance shared by this module's tests; yields its address."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Classic batches of 2 items, so a job has many batches in flight on every worker."""
    monkeypatch.setattr(ray_backend, "RAY_CLASSIC_BATCH", 2)


def variant_files(project: Project, approx: bool = False) -> dict[tuple[int, str, int], tuple[bytes, str, str, list]]:
    """Every variant by (source index, preset, seed): file bytes, status, infotext and boxes.
    ``approx``: drift scores compare to 1e-6 (OpenCV's float32 filters can differ in the last
    bits between processes; the files themselves compare byte for byte)."""
    sources = {image_id: index for index, image_id in enumerate(project.image_ids(ImageFilter(kind="source")))}
    out = {}
    for variant in project.list_images(0, 10_000, ImageFilter(kind="variant")):
        boxes = [(b.class_id, b.x1, b.y1, b.x2, b.y2, pytest.approx(b.drift, abs=1e-6) if approx else b.drift,
                  b.needs_review)
                 for b in project.boxes(variant.id)]
        out[(sources[variant.source_image_id], variant.preset, variant.seed)] = (
            project.image_path(variant).read_bytes(), variant.status, variant.params, boxes)
    return out


def in_process_reference(folder: Path, spec: JobSpec, n_images: int, settings: Settings | None = None) -> dict:
    project = make_project(folder, n_images=n_images)
    status = JobRunner(project, create_job(project, spec, settings).id, settings=settings).run()
    assert status.state == "done" and status.failed == 0
    return variant_files(project)


def test_classic_job_on_ray_stops_resumes_and_equals_in_process(cluster: str, tmp_path: Path,
                                                                small_batches: None) -> None:
    spec = JobSpec(presets=("fog", "night"), variants=8, engine="classic")
    expected = in_process_reference(tmp_path / "reference", spec, 4)
    project = make_project(tmp_path / "p", n_images=4)
    job = create_job(project, spec)

    # 1. Stop after the first recorded variant: what was made is kept, the rest stays pending.
    runner = RayJobRunner(project, job.id)
    runner.on_variant = lambda item, record, report: runner.stop()
    runner.start()
    assert runner.join(timeout=120)
    stopped = runner.status()
    assert stopped.state == "stopped" and stopped.error is None and 1 <= stopped.done < 64
    assert stopped.done + stopped.pending == 64 and stopped.failed == 0

    # 2. Resume on Ray: every item exactly once, each variant byte for byte the in-process one.
    runner = RayJobRunner(project, job.id)
    status = runner.run()
    assert (status.state, status.done, status.failed, status.error) == ("done", 64, 0, None)
    assert sum(status.workers.values()) == 64 - stopped.done and len(status.workers) == 2
    check_variants(project, job.id, 4, spec.presets, 8)
    assert variant_files(project, approx=True) == expected


@pytest.mark.slow  # ~30 s more: each Ray worker imports torch and builds the tiny pipeline
def test_diffusion_job_on_ray_equals_in_process(cluster: str, tmp_path: Path,
                                                tiny_settings: Settings) -> None:  # noqa: F811
    # The presets exist only in the driver's data folder: workers get them from the driver.
    spec = JobSpec(presets=("test_fog", "test_night"), variants=1, engine="diffusion", model="tiny", batch_size=2)
    expected = in_process_reference(tmp_path / "reference", spec, 3, tiny_settings)
    project = make_project(tmp_path / "p", n_images=3)
    job = create_job(project, spec, tiny_settings)
    status = RayJobRunner(project, job.id, settings=tiny_settings, workers=1).run()
    assert (status.state, status.done, status.failed, status.error) == ("done", 6, 0, None)
    check_variants(project, job.id, 3, spec.presets, 1)
    assert variant_files(project, approx=True) == expected


def test_region_strength_and_jpeg_variants_on_ray_equal_in_process(cluster: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A preset with region-aware strength (the boxes reach the workers' classic effect) and JPEG
    variant files (Settings.variant_format): byte for byte the in-process variants."""
    fog = replace(presets.get_preset("fog"), box_strength=0.1, background_strength=0.5, box_feather=4)
    original = presets.get_preset
    monkeypatch.setattr("sdaug.augment.jobs.get_preset",  # the driver's presets go to the workers
                        lambda name, settings=None: fog if name == "fog" else original(name, settings))
    settings = Settings(home=tmp_path / "home", variant_format="jpeg", variant_quality=80)
    spec = JobSpec(presets=("fog",), variants=2, engine="classic")
    expected = in_process_reference(tmp_path / "reference", spec, 3, settings)
    project = make_project(tmp_path / "p", n_images=3)
    status = RayJobRunner(project, create_job(project, spec, settings).id, settings=settings).run()
    assert (status.state, status.done, status.failed) == ("done", 6, 0)
    made = variant_files(project, approx=True)
    assert made == expected
    for data, _, params, _ in made.values():
        assert data[:3] == b"\xff\xd8\xff"  # JPEG
        assert (parse_infotext(params)["Box strength"], parse_infotext(params)["Background strength"]) == ("0.1", "0.5")


@pytest.mark.slow  # each Ray worker imports torch and builds the tiny CLIP model
def test_semantic_check_runs_in_the_ray_workers(cluster: str, tmp_path: Path) -> None:
    spec = JobSpec(presets=("haze",), engine="classic", semantic_model="tiny")
    settings = Settings(home=tmp_path / "home", device="cpu")

    def verdicts(project: Project) -> dict[int, tuple[str, list]]:
        """Per variant (by seed: Ray records in the order workers finish), status and CLIP verdicts."""
        return {variant.seed: (variant.status, [(b.class_id, pytest.approx(b.semantic, abs=1e-5),
                                                 json.loads(b.semantic_note)["best"], b.needs_review)
                                                for b in project.boxes(variant.id)])
                for variant in project.list_images(0, 100, ImageFilter(kind="variant"))}

    reference = make_project(tmp_path / "reference", n_images=2)
    assert JobRunner(reference, create_job(reference, spec, settings).id, settings=settings).run().done == 2
    project = make_project(tmp_path / "p", n_images=2)
    status = RayJobRunner(project, create_job(project, spec, settings).id, settings=settings).run()
    assert (status.state, status.done, status.failed, status.error) == ("done", 2, 0, None)
    assert verdicts(project) == verdicts(reference)
    assert all(box[1] is not None for _, boxes in verdicts(project).values() for box in boxes)


def test_worker_killed_mid_job_its_items_rerun_elsewhere(cluster: str, tmp_path: Path, small_batches: None) -> None:
    spec = JobSpec(presets=("light_rain", "dusk"), variants=6, engine="classic")
    expected = in_process_reference(tmp_path / "reference", spec, 8)
    project = make_project(tmp_path / "p", n_images=8)
    job = create_job(project, spec)
    runner = RayJobRunner(project, job.id)
    killed: list[tuple[int, int]] = []

    def kill_first_worker(item: object, record: object, report: object) -> None:
        if not killed:
            pid = runner.worker_pids()[0]
            killed.append((pid, project.job_progress(job.id).done))
            os.kill(pid, signal.SIGKILL)

    runner.on_variant = kill_first_worker
    status = runner.run()
    assert killed and killed[0][1] < 96, "the kill did not land mid-job"
    assert (status.state, status.done, status.failed, status.error) == ("done", 96, 0, None)
    assert runner.retried >= 1  # the killed worker's batches in flight were run again
    check_variants(project, job.id, 8, spec.presets, 6)
    assert variant_files(project, approx=True) == expected


@pytest.mark.slow
def test_chaos_workers_killed_again_and_again(cluster: str, tmp_path: Path, small_batches: None) -> None:
    """Every worker is killed twice (Ray restarts them) while a 480-item job runs: exact counts."""
    spec = JobSpec(presets=("fog", "night", "haze"), variants=10, engine="classic")
    project = make_project(tmp_path / "p", n_images=16)
    job = create_job(project, spec)
    runner = RayJobRunner(project, job.id)
    kills: list[int] = []

    def kill_now_and_then(item: object, record: object, report: object) -> None:
        if len(kills) < 4 and project.job_progress(job.id).done >= 30 * (len(kills) + 1):
            try:
                pid = ray.get(runner.actors[len(kills) % 2].pid.remote(), timeout=10)
            except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
                return  # still restarting: kill it a little later
            kills.append(pid)
            os.kill(pid, signal.SIGKILL)

    runner.on_variant = kill_now_and_then
    status = runner.run()
    assert len(kills) == 4
    assert (status.state, status.done, status.failed, status.error) == ("done", 480, 0, None)
    check_variants(project, job.id, 16, spec.presets, 10)


def test_item_failing_twice_is_marked_failed_and_the_job_goes_on(cluster: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=3)
    broken = project.list_images(0, 10, ImageFilter(kind="source"))[1]
    original = project.image_path(broken).read_bytes()
    project.image_path(broken).write_bytes(b"not an image any more")  # the driver reads it; workers cannot
    job = create_job(project, JobSpec(presets=("haze",), variants=2, engine="classic"))
    status = RayJobRunner(project, job.id).run()
    assert (status.state, status.done, status.failed) == ("failed", 4, 2)  # done only when every item is
    failed = project.job_items(job.id, "failed")
    assert {item.source_image_id for item in failed} == {broken.id}
    errors = [from_record(item.error, "en") for item in failed]
    assert all(error.startswith(f"failed 2 times: source image {broken.id} (") and "cannot be decoded" in error
               for error in errors), errors
    assert [item.attempts for item in failed] == [2, 2]  # both tries count towards MAX_ITEM_ATTEMPTS
    assert project.count_images(ImageFilter(kind="variant")) == 4
    # Fixed: the next run tries them again (2 < MAX_ITEM_ATTEMPTS tries), as in process.
    project.image_path(broken).write_bytes(original)
    status = RayJobRunner(project, job.id).run()
    assert (status.state, status.done, status.failed) == ("done", 6, 0)


def test_retry_failed_on_ray_runs_items_past_the_limit(cluster: str, tmp_path: Path) -> None:
    """An item that gave up (MAX_ITEM_ATTEMPTS tries) runs again on Ray only with retry_failed
    (``--retry-failed --backend ray``)."""
    project = make_project(tmp_path / "p", n_images=2)
    broken = project.list_images(0, 10, ImageFilter(kind="source"))[0]
    original = project.image_path(broken).read_bytes()
    project.image_path(broken).unlink()  # the driver cannot read it: fails without a worker, one try a run
    job = create_job(project, JobSpec(presets=("fog",), engine="classic"))
    for _ in range(MAX_ITEM_ATTEMPTS):
        status = RayJobRunner(project, job.id).run()
    assert (status.state, status.done, status.failed, status.gave_up) == ("failed", 1, 1, 1)
    (item,) = project.job_items(job.id, "failed")
    error = from_record(item.error, "en")
    assert item.attempts == MAX_ITEM_ATTEMPTS and "the file is missing" in error and str(
        project.image_path(broken)) in error
    project.image_path(broken).write_bytes(original)
    assert RayJobRunner(project, job.id).run().failed == 1  # past the limit: not tried again
    env = {**os.environ, "SDAUG_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-m", "sdaug", "augment", "--project", str(project.folder), "--preset",
                             "fog", "--engine", "classic", "--backend", "ray", "--address", cluster, "--retry-failed"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 failed before" in result.stdout and "done: 2/2 done, 0 failed" in result.stdout
    assert project.get_job(job.id).state == "done"


def test_a_second_driver_on_the_same_job_is_refused(cluster: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    job = create_job(project, JobSpec(presets=("fog",), engine="classic"))
    with project.job_lock(job.id), pytest.raises(
            ValueError, match=rf"job {job.id} is already running \(process {os.getpid()} on "):
        RayJobRunner(project, job.id).run()
    assert project.job_progress(job.id).done == 0
    assert RayJobRunner(project, job.id).run().done == 1


def test_driver_killed_mid_job_resumes_exactly(cluster: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=24)
    env = {**os.environ, "SDAUG_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "sdaug", "augment", "--project", str(project.folder), "--preset", "fog",
               "--preset", "night", "--variants", "2", "--engine", "classic", "--backend", "ray",
               "--address", cluster]
    process = start_until_done(project, command, env, 10)
    process.kill()
    output, _ = process.communicate(timeout=60)
    job = project.jobs()[0]
    killed_at = project.job_progress(job.id)
    assert 10 <= killed_at.done < 96, f"the kill did not land mid-job ({killed_at}): {output}"
    # The same command again (in process this time): it resumes the job, nothing twice, no gap.
    result = subprocess.run(command[:-4], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"job {job.id}: resuming" in result.stdout and "96/96 done, 0 failed" in result.stdout
    assert project.get_job(job.id).state == "done"
    check_variants(project, job.id, 24, ("fog", "night"), 2)


def test_augment_panel_runs_a_job_on_ray(cluster: str, tmp_path: Path) -> None:
    """The server offers Ray (``sdaug ui --ray-address local``): Start with "Ray cluster" runs the
    job on Ray workers and the status line shows each worker's count."""
    import gradio as gr
    from gradio_client import Client

    from sdaug.ui import augment_tab, dataset_tab
    from sdaug.ui.context import AppContext

    project = make_project(tmp_path / "home" / "projects" / "p", n_images=3)  # the project named "p"
    ctx = AppContext(settings=Settings(home=tmp_path / "home", ray_address="local"), model="tiny")
    with gr.Blocks() as demo, gr.Tab("Dataset"):
        dataset_tab.build(ctx)
    fns = {fn.name: index for index, fn in demo.fns.items()}
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, i18n=ctx.build_i18n())
    try:
        client = Client(url, verbose=False)
        started = client.predict("p", ["fog"], ["dusk"], 2, "classic", "", "ray", fn_index=fns["on_start"])
        assert started[0].startswith("Job #1")
        deadline = time.monotonic() + 120
        while " · done · " not in (status := client.predict("p", fn_index=fns["on_tick"]))[0]:
            assert time.monotonic() < deadline, status
            time.sleep(0.3)
        assert "12/12 done · 0 failed" in status[0] and " · per worker: w1 " in status[0], status[0]
    finally:
        demo.close()
    assert augment_tab.runner_for(project, 1).backend == "ray"
    check_variants(project, 1, 3, ("fog", "dusk"), 2)


def test_an_unreachable_cluster_is_one_clear_line(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    env = {**os.environ, "SDAUG_HOME": str(tmp_path / "home")}
    base = [sys.executable, "-m", "sdaug", "augment", "--project", str(project.folder), "--preset", "fog",
            "--engine", "classic", "--backend", "ray", "--address"]
    for address, message in (("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1 (Connection refused); "
                                             "start it there with `ray start --head`"),
                             ("nonsense", "the Ray address must be auto or HOST:PORT")):
        result = subprocess.run([*base, address], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and f"sdaug: error: {message}" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_cli_progress_bar_on_a_terminal_shows_rate_eta_and_workers(cluster: str, tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    project = make_project(tmp_path / "p", n_images=12)
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # a 160-column terminal
    process = subprocess.Popen(
        [sys.executable, "-m", "sdaug", "augment", "--project", str(project.folder), "--preset", "fog", "--preset",
         "dusk", "--variants", "4", "--engine", "classic", "--backend", "ray", "--address", cluster],
        env={**os.environ, "SDAUG_HOME": str(tmp_path / "home")}, stdout=secondary,
        stderr=subprocess.DEVNULL)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=120) == 0
    text = output.decode(errors="replace")
    assert "96/96" in text and "img/s" in text and "w1:" in text and "w2:" in text, text
    assert "done: 96/96 done, 0 failed" in text
