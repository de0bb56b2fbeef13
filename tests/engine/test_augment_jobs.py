"""Augmentation jobs over a small project: classic engine end to end, stop/resume, kill -9 and
restart through the CLI, YOLO export of the variants, diffusion with the tiny model, preview."""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PIL import ImageFilter as PILImageFilter

from sdaug.augment import making
from sdaug.augment.jobs import (
    MAX_ITEM_ATTEMPTS,
    JobRunner,
    JobSpec,
    clean_stale_temp_files,
    create_job,
    failure_lines,
    item_seed,
    job_report,
    runner_for,
)
from sdaug.augment.making import carry_boxes
from sdaug.augment.preview import preview
from sdaug.dataset.exporters import export_project
from sdaug.dataset.store import Box, ImageFilter, Project
from sdaug.errors import from_record
from sdaug.prompts import parse_infotext, read_infotext
from sdaug.settings import Settings


def make_project(folder: Path, n_images: int = 4, size: int = 64) -> Project:
    """``n_images`` textured size×size images with two boxes each (classes "bin", "garbage")."""
    project = Project.open(folder)
    bin_class, garbage = project.ensure_classes(["bin", "garbage"])
    sources = folder.parent / f"{folder.name}-sources"
    sources.mkdir(parents=True, exist_ok=True)
    s = size / 64
    for index in range(n_images):
        rng = np.random.default_rng(index)
        texture = np.clip(rng.normal(120, 40, (size, size, 3)), 0, 255).astype(np.uint8)
        image = Image.fromarray(texture).filter(PILImageFilter.GaussianBlur(size / 64))
        draw = ImageDraw.Draw(image)
        a = (4 + index % 8) * s
        line = max(1, round(s))
        draw.rectangle([a, 20 * s, a + 22 * s, 58 * s], fill=(30, 110, 40), outline=(0, 0, 0), width=line)
        for x in range(round(a + 4 * s), round(a + 20 * s), round(5 * s)):  # the ribs of a bin
            draw.line([(x, 24 * s), (x, 54 * s)], fill=(10, 50, 15), width=line)
        draw.ellipse([38 * s, 30 * s, 58 * s, 50 * s], fill=(200, 190, 60), outline=(0, 0, 0), width=line)
        draw.ellipse([43 * s, 35 * s, 53 * s, 45 * s], fill=(120, 100, 30))
        path = sources / f"img_{index:03d}.png"
        image.save(path)
        project.add_image(path, split="val" if index == 0 else "train",
                          boxes=[Box(bin_class.id, a, 20 * s, a + 22 * s, 58 * s),
                                 Box(garbage.id, 38 * s, 30 * s, 58 * s, 50 * s)])
    return project


def check_variants(project: Project, job_id: int, n_sources: int, presets: tuple[str, ...], variants: int) -> None:
    """Exactly one variant per item, each with its source's boxes, split and lineage; no stray files."""
    variants_list = project.list_images(0, 10_000, ImageFilter(kind="variant"))
    assert len(variants_list) == n_sources * len(presets) * variants
    items = project.job_items(job_id)
    assert {i.state for i in items} == {"done"}
    assert len({(i.source_image_id, i.preset, i.variant_index) for i in items}) == len(items)
    by_image = {i.image_id: i for i in items}
    assert set(by_image) == {v.id for v in variants_list}
    job_key = project.get_job(job_id).key
    for variant in variants_list:
        item = by_image[variant.id]
        source = project.get_image(variant.source_image_id)
        assert (variant.source_image_id, variant.preset) == (item.source_image_id, item.preset)
        assert variant.seed == item.seed == item_seed(job_key, source.sha256, item.preset, item.variant_index)
        assert variant.split == source.split
        assert parse_infotext(variant.params)["sdaug preset"] == item.preset
        assert read_infotext(project.image_path(variant)) == variant.params
        boxes, source_boxes = project.boxes(variant.id), project.boxes(source.id)
        assert [(b.class_id, b.x1, b.y1, b.x2, b.y2) for b in boxes] == [
            (b.class_id, b.x1, b.y1, b.x2, b.y2) for b in source_boxes]
        assert all(b.origin == "carried" and b.drift is not None for b in boxes)
        assert variant.status in ("labelled", "review")
        if any(b.needs_review for b in boxes):
            assert variant.status == "review"
    files = sorted(p.name for p in project.images_dir.iterdir())
    assert files == sorted(r.file_name for r in project.list_images(0, 10_000))  # no partial or stray files


def test_classic_job_end_to_end(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    spec = JobSpec(presets=("fog", "night"), variants=2, engine="classic")
    job = create_job(project, spec)
    seen: list[int] = []
    runner = JobRunner(project, job.id, on_variant=lambda item, record, report: seen.append(record.id))
    status = runner.run()
    assert (status.state, status.total, status.done, status.failed, status.pending) == ("done", 16, 16, 0, 0)
    assert status.images_per_s > 0 and len(seen) == 16
    check_variants(project, job.id, 4, spec.presets, 2)
    report = {r.preset: r for r in job_report(project, job.id)}
    assert report["fog"].done == 8 and report["fog"].pass_rate == 1.0
    assert report["night"].passed + report["night"].review == 8
    # The same spec is the same job: nothing new is made.
    assert create_job(project, spec).id == job.id
    assert JobRunner(project, job.id).run().done == 16
    assert project.count_images(ImageFilter(kind="variant")) == 16
    # Another spec is another job; its sources are the originals only, never the variants.
    other = create_job(project, JobSpec(presets=("fog",), variants=1, engine="classic"))
    assert other.id != job.id and project.job_progress(other.id).total == 4


def test_stop_and_resume_in_the_background(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    job = create_job(project, JobSpec(presets=("light_rain", "dusk"), variants=1, engine="classic"))
    runner = JobRunner(project, job.id)
    runner.on_variant = lambda item, record, report: runner.stop() if len(project.job_items(job.id, "done")) >= 3 else None
    runner.start()
    assert runner.join(timeout=60)
    status = runner.status()
    assert status.state == "stopped" and status.done == 3 and status.pending == 5
    runner.on_variant = None
    runner.start()
    assert runner.join(timeout=60)
    assert runner.status().state == "done"
    check_variants(project, job.id, 4, ("light_rain", "dusk"), 1)


def test_seeds_are_deterministic_and_make_identical_variants(tmp_path: Path) -> None:
    spec = JobSpec(presets=("haze",), variants=2, engine="classic")
    files = []
    for name in ("a", "b"):
        project = make_project(tmp_path / name, n_images=2)
        JobRunner(project, create_job(project, spec).id).run()
        files.append(sorted(v.sha256 for v in project.list_images(0, 100, ImageFilter(kind="variant"))))
    assert files[0] == files[1] and len(set(files[0])) == 4
    assert item_seed("k", "sha", "fog", 0) == item_seed("k", "sha", "fog", 0) != item_seed("k", "sha", "fog", 1)


def test_bad_job_specs_say_what_is_wrong(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    with pytest.raises(ValueError, match="unknown preset 'snowy'"):
        create_job(project, JobSpec(presets=("snowy",), engine="classic"))
    with pytest.raises(ValueError, match="variants must be a whole number from 1 to 1000, got 0"):
        create_job(project, JobSpec(presets=("fog",), variants=0, engine="classic"))
    with pytest.raises(ValueError, match="engine must be one of diffusion, classic"):
        create_job(project, JobSpec(presets=("fog",), engine="gan"))
    with pytest.raises(ValueError, match="class 'car' is not in this project; classes: bin, garbage"):
        create_job(project, JobSpec(presets=("fog",), engine="classic", class_name="car"))
    with pytest.raises(ValueError, match="no source images match"):
        create_job(project, JobSpec(presets=("fog",), engine="classic", split="test"))


def test_cli_job_killed_with_sigkill_resumes_without_duplicates_or_gaps(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=20, size=256)
    env = {**os.environ, "SDAUG_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "sdaug", "augment", "--project", str(project.folder), "--preset", "fog",
               "--preset", "night", "--variants", "2", "--engine", "classic"]

    def start_and_signal(at_least: int, sig: signal.Signals) -> tuple[int, str]:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            jobs = project.jobs()
            if jobs and project.job_progress(jobs[0].id).done >= at_least:
                break
            time.sleep(0.01)
        process.send_signal(sig)
        output, _ = process.communicate(timeout=60)
        return process.returncode, output

    # 1. Ctrl-C stops cleanly: the job is marked stopped, what was made is kept.
    returncode, output = start_and_signal(5, signal.SIGINT)
    job = project.jobs()[0]
    stopped_at = project.job_progress(job.id)
    assert returncode == 130 and "run the same command again to resume" in output, output
    assert job.state == "stopped" and 5 <= stopped_at.done < 80
    # 2. Resume, then kill -9 part-way.
    start_and_signal(stopped_at.done + 10, signal.SIGKILL)
    killed_at = project.job_progress(job.id)
    assert stopped_at.done + 10 <= killed_at.done < 80, f"kill -9 did not land part-way ({killed_at})"
    assert project.get_job(job.id).state == "running"  # killed: nobody said stopped
    # 3. Run the same command again at once: it resumes the same job, finishes it and removes
    #    any temp file the kill left (check_variants: no stray files).
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"job {job.id}: resuming" in result.stdout and "pass rate" in result.stdout
    assert project.jobs() == [project.get_job(job.id)] and project.get_job(job.id).state == "done"
    check_variants(project, job.id, 20, ("fog", "night"), 2)
    status = subprocess.run([*command[:6], "--status"], env=env, capture_output=True, text=True, timeout=60)
    assert "80/80 done" in status.stdout
    # 4. After the review queue is cleared, the YOLO export holds every variant with its labels.
    for image_id in project.image_ids(ImageFilter(status="review")):
        project.set_status(image_id, "reviewed")
    report = export_project(project, "yolo", tmp_path / "yolo")
    assert sum(report.images.values()) == 100 and report.boxes == 200
    labels = sorted((tmp_path / "yolo" / "labels").rglob("*.txt"))
    assert len(labels) == 100
    assert len([p for p in labels if p.stem.endswith(("_fog", "_night"))]) == 80
    assert all(len(p.read_text().splitlines()) == 2 for p in labels)


def test_preview_grid_and_estimate(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=5)
    grid, estimate = preview(project, ["fog", "night_streetlamps"], engine="classic", n=4, variants=3)
    assert grid.width >= 3 * 64 and grid.height >= 4 * 64
    assert estimate > 0
    images = [Image.open(project.image_path(r)) for r in project.list_images(0, 2)]
    grid2, _ = preview(images, ["sandstorm"], engine="classic", n=4)
    assert grid2.height < grid.height
    path, _ = poison(project, project.image_ids()[0], "truncated")
    with pytest.raises(ValueError, match=re.escape(f"file {path}): the file cannot be decoded")):
        preview(project, ["fog"], engine="classic", n=4)


@pytest.fixture
def tiny_settings(tmp_path: Path) -> Settings:
    """User presets with 2 steps, so the tiny model runs fast."""
    pytest.importorskip("sdaug.engine.run")
    settings = Settings(home=tmp_path / "home")
    for kind, name, extra in (("weather", "test_fog", ""), ("lighting", "test_night", 'control_type = "canny"\n')):
        folder = settings.user_presets_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.toml").write_text(
            f'title_en = "{name}"\nprompt = "fog, photo"\nstrength = 0.5\nsteps = 2\nsampler = "Euler"\n{extra}'
            '[classic]\neffect = "fog"\n', encoding="utf-8")
    return settings


def test_diffusion_job_with_the_tiny_model(tmp_path: Path, tiny_settings: Settings) -> None:
    project = make_project(tmp_path / "p", n_images=3)
    spec = JobSpec(presets=("test_fog", "test_night"), variants=1, engine="diffusion", model="tiny", batch_size=2)
    job = create_job(project, spec, tiny_settings)
    status = JobRunner(project, job.id, settings=tiny_settings).run()
    assert (status.state, status.done, status.failed, status.error) == ("done", 6, 0, None)
    check_variants(project, job.id, 3, spec.presets, 1)
    for variant in project.list_images(0, 100, ImageFilter(kind="variant")):
        assert (variant.width, variant.height) == (64, 64)
        params = parse_infotext(variant.params)
        assert params["Steps"] == "2" and params["Seed"] == str(variant.seed)
    grid, estimate = preview(project, spec.presets, engine="diffusion", n=2, model="tiny", settings=tiny_settings)
    assert grid.size == (3 * 192, 18 + 2 * 192) and estimate > 0


def test_diffusion_job_with_poisoned_sources_makes_all_the_others(tmp_path: Path, tiny_settings: Settings) -> None:
    project = make_project(tmp_path / "p", n_images=4)
    ids = project.image_ids()
    spoiled = {ids[1]: poison(project, ids[1], "garbage")[0], ids[2]: poison(project, ids[2], "huge")[0]}
    # Two sources wider than the engine allows (4096 px): they share a batch, which fails.
    bin_class = project.classes()[0]
    for index in range(2):
        path = tmp_path / f"wide{index}.png"
        Image.new("RGB", (4104, 16), (40 * index, 90, 120)).save(path)
        record = project.add_image(path, boxes=[Box(bin_class.id, 10, 2, 60, 14)]).record
        spoiled[record.id] = project.image_path(record)
    spec = JobSpec(presets=("test_fog", "test_night"), variants=1, engine="diffusion", model="tiny", batch_size=2)
    job = create_job(project, spec, tiny_settings)
    status = JobRunner(project, job.id, settings=tiny_settings).run()
    assert (status.state, status.total, status.done, status.failed, status.error) == ("failed", 12, 4, 8, None)
    failed = failed_by_source(project, job.id)
    assert sorted(failed) == sorted(spoiled) and all(len(errors) == 2 for errors in failed.values())
    for image_id, errors in failed.items():
        assert all(str(spoiled[image_id]) in error for error in errors), errors
    assert all("cannot be decoded" in e for e in failed[ids[1]])
    assert all("the file is 5000x5000 but the image was imported as 64x64" in e for e in failed[ids[2]])
    assert all("width must be from 8 to 4096, got 4104" in e for e in failed[max(spoiled)])
    for image_id in (ids[0], ids[3]):
        assert sorted(v.preset for v in project.variants(image_id)) == ["test_fog", "test_night"]


def test_a_missing_model_stops_the_job_without_failing_images(tmp_path: Path, tiny_settings: Settings) -> None:
    project = make_project(tmp_path / "p", n_images=2)
    job = create_job(project, JobSpec(presets=("test_fog",), engine="diffusion", model="no-such-model"), tiny_settings)
    status = JobRunner(project, job.id, settings=tiny_settings).run()
    assert (status.state, status.done, status.failed, status.pending) == ("stopped", 0, 0, 2)
    assert "'no-such-model' not found" in (status.error or "")


def test_runner_for_shares_one_runner_per_job(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    job = create_job(project, JobSpec(presets=("fog",), engine="classic"))
    first = runner_for(project, job.id)
    manager = object()
    again = runner_for(Project.open(tmp_path / "p"), job.id, manager=manager)
    assert again is first and first.manager is manager


# A process that writes a file in images/ with write_atomic and waits, mid-write, until the file
# named by its second argument exists.
_WRITER = """
import pathlib, sys, time
from sdaug.prompts.metadata import write_atomic
target, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def write(handle):
    handle.write(b"the first half of an image")
    handle.flush()
    while not go.exists():
        time.sleep(0.01)
    handle.write(b" and the second half")
write_atomic(target, write)
"""


def start_writer(project: Project, name: str, go: Path) -> tuple[subprocess.Popen, Path]:
    """A writer process stopped mid-write, and its temp file."""
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(project.images_dir / name), str(go)])
    deadline = time.monotonic() + 60
    while not (temps := list(project.images_dir.glob(f".tmp-{process.pid}-{name}.*"))):
        assert time.monotonic() < deadline and process.poll() is None, "the writer did not start"
        time.sleep(0.01)
    return process, temps[0]


def test_leftovers_of_a_killed_run_are_removed_when_the_next_run_starts_at_once(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=2)
    job = create_job(project, JobSpec(presets=("fog",), engine="classic"))
    go = tmp_path / "go"
    # 1. A writer killed mid-write leaves its temp file; an older sdaug left a variant's temp
    #    file (and a temp file without a process id); all of them are seconds old at most.
    killed, killed_temp = start_writer(project, "killed.png", tmp_path / "never")
    killed.kill()
    killed.wait()
    legacy = [project.images_dir / ".variant-0123abcd.png", project.images_dir / ".tmp-ab12.png.x1y2.tmp"]
    for path in legacy:
        path.write_bytes(b"half a png")
    # 2. Another process is writing right now, and so is this one: their temp files stay.
    live, live_temp = start_writer(project, "live.png", go)
    own_temp = project.images_dir / f".tmp-{os.getpid()}-own.png.abcd.tmp"
    own_temp.write_bytes(b"being written")
    # 3. The next run, at once: the killed run's leftovers go, the live writers' files stay.
    assert JobRunner(project, job.id).run().state == "done"
    assert not killed_temp.exists() and not any(path.exists() for path in legacy)
    assert live_temp.exists() and own_temp.exists()
    go.touch()
    assert live.wait(timeout=60) == 0
    assert (project.images_dir / "live.png").read_bytes() == b"the first half of an image and the second half"
    assert not live_temp.exists()
    own_temp.unlink()
    assert clean_stale_temp_files(project) == 0


def huge_png(width: int, height: int) -> bytes:
    """A small PNG file whose header says ``width`` x ``height`` (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b""))


def start_until_done(project: Project, command: list[str], env: dict[str, str], done: int) -> subprocess.Popen:
    """Start ``command`` (an ``sdaug augment``) and return once its job has ``done`` items made
    (or the process ended, or 120 s passed)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        jobs = project.jobs()
        if jobs and project.job_progress(jobs[0].id).done >= done:
            break
        time.sleep(0.01)
    return process


def poison(project: Project, image_id: int, how: str) -> tuple[Path, bytes]:
    """Spoil a source image's file behind the store's back; returns its path and original bytes."""
    path = project.image_path(image_id)
    original = path.read_bytes()
    if how == "truncated":
        path.write_bytes(original[: len(original) // 2])
    elif how == "garbage":
        path.write_bytes(b"not an image at all" * 50)
    elif how == "bomb":
        path.write_bytes(huge_png(30_000, 30_000))
    elif how == "huge":
        path.write_bytes(huge_png(5000, 5000))
    else:
        path.unlink()
    return path, original


def failed_by_source(project: Project, job_id: int) -> dict[int, list[str]]:
    failed: dict[int, list[str]] = {}
    for item in project.job_items(job_id, "failed"):
        failed.setdefault(item.source_image_id, []).append(from_record(item.error, "en"))
    return failed


def test_poisoned_sources_fail_their_own_items_and_are_retried_up_to_the_limit(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=6)
    spec = JobSpec(presets=("fog", "night"), variants=2, engine="classic")
    job = create_job(project, spec)
    ids = project.image_ids()
    spoiled = {ids[1]: poison(project, ids[1], "truncated"), ids[2]: poison(project, ids[2], "bomb"),
               ids[3]: poison(project, ids[3], "deleted")}
    # 1. Every image that can be made is made; the spoiled ones fail their own 4 items each,
    #    with a message naming the file; the job is not done.
    status = JobRunner(project, job.id).run()
    assert (status.state, status.total, status.done, status.failed, status.pending) == ("failed", 24, 12, 12, 0)
    assert status.error is None and project.get_job(job.id).state == "failed"
    failed = failed_by_source(project, job.id)
    assert sorted(failed) == sorted(spoiled) and all(len(errors) == 4 for errors in failed.values())
    for image_id, phrase in ((ids[1], "cannot be decoded"), (ids[2], "cannot be decoded"), (ids[3], "missing")):
        assert all(str(spoiled[image_id][0]) in e and phrase in e for e in failed[image_id]), failed[image_id]
    for image_id in (ids[0], *ids[4:]):
        assert len(project.variants(image_id)) == 4
    assert {r.preset: (r.done, r.failed) for r in job_report(project, job.id)} == {"fog": (6, 6), "night": (6, 6)}
    # The failure list as a person reading Chinese sees it (the Augment tab): Chinese, the file named.
    *lines, more = failure_lines(project, job.id, limit=3, lang="zh")
    assert more == "……还有 9 个"
    for line in lines:
        # File names, paths, preset ids and the library's own reason in brackets are not our English.
        words = re.sub(r"\S*[/.]\S*|fog|night", "", re.sub("（[ -~]*）", "", line))
        assert "次尝试中失败" in line and "源图片" in line and not re.search("[A-Za-z]{3,}", words), line
    # 2. Running again tries the failed items again, until each failed MAX_ITEM_ATTEMPTS times.
    for attempts in range(2, MAX_ITEM_ATTEMPTS + 2):
        status = JobRunner(project, job.id).run()
        assert (status.state, status.done, status.failed) == ("failed", 12, 12)
        tries = {item.attempts for item in project.job_items(job.id, "failed")}
        assert tries == {min(attempts, MAX_ITEM_ATTEMPTS)}
    assert status.gave_up == 12
    # 3. A forced retry tries them past the limit: the mended files make their variants.
    for image_id in (ids[1], ids[3]):
        path, original = spoiled[image_id]
        path.write_bytes(original)
    status = JobRunner(project, job.id).run(retry_failed=True)
    assert (status.state, status.done, status.failed, status.gave_up) == ("failed", 20, 4, 4)
    assert list(failed_by_source(project, job.id)) == [ids[2]]
    assert {item.attempts for item in project.job_items(job.id, "failed")} == {MAX_ITEM_ATTEMPTS + 1}
    path, original = spoiled[ids[2]]
    path.write_bytes(original)
    assert JobRunner(project, job.id).run().failed == 4  # past the limit: only a forced retry runs them
    status = JobRunner(project, job.id).run(retry_failed=True)
    assert (status.state, status.done, status.failed, status.gave_up) == ("done", 24, 0, 0)
    check_variants(project, job.id, 6, spec.presets, 2)


def test_too_large_sources_and_engine_errors_fail_one_image_each(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", n_images=3)
    big = tmp_path / "big.png"
    Image.new("RGB", (80, 80), (90, 90, 90)).save(big)
    big_id = project.add_image(big, boxes=[Box(project.classes()[0].id, 5, 5, 40, 40)]).record.id
    job = create_job(project, JobSpec(presets=("fog",), engine="classic"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 64x64 sources pass, 80x80 does not
    broken_id = project.image_ids()[1]

    def classic(image: Image.Image, preset: object, seed: int, boxes: object = ()) -> Image.Image:
        if seed == project.job_items(job.id)[1].seed:
            raise RuntimeError("the effect broke")
        return image

    monkeypatch.setattr(making, "apply_classic", classic)
    status = JobRunner(project, job.id).run()
    assert (status.state, status.done, status.failed) == ("failed", 2, 2)
    failed = failed_by_source(project, job.id)
    assert failed[big_id] == [f"source image {big_id} (big.png, file {project.image_path(big_id)}): 80x80 is too "
                              "large (more than 5000 pixels); import a smaller copy of it"]
    assert failed[broken_id] == [f"source image {broken_id} (img_001.png, file {project.image_path(broken_id)}): "
                                 "the effect broke"]


def test_cli_reports_a_job_with_failures_as_not_done_and_retries_it(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=3)
    path, original = poison(project, project.image_ids()[1], "truncated")
    env = {**os.environ, "SDAUG_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "sdaug", "augment", "--project", str(project.folder), "--preset", "fog",
               "--engine", "classic"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "failed: 2/3 done, 1 failed" in first.stdout and str(path) in first.stdout
    assert "run the same command again to try them again" in first.stdout
    status = subprocess.run([*command[:6], "--status"], env=env, capture_output=True, text=True, timeout=60)
    assert "job 1 [failed]" in status.stdout and "2/3 done, 1 failed" in status.stdout and str(path) in status.stdout
    path.write_bytes(original)
    again = subprocess.run([*command, "--retry-failed"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 already done, 1 failed before" in again.stdout and "done: 3/3 done, 0 failed" in again.stdout
    status = subprocess.run([*command[:6], "--status"], env=env, capture_output=True, text=True, timeout=60)
    assert "job 1 [done]" in status.stdout and "failed images" not in status.stdout


def test_carried_boxes_are_scaled_to_the_variant_size() -> None:
    boxes = [Box(1, 10, 20, 30, 40, origin="manual", drift=0.1, needs_review=True, id=5, image_id=2)]
    carried = carry_boxes(boxes, (100, 100), (200, 50))
    assert carried == [Box(1, 20, 10, 60, 20, origin="carried")]


def test_a_second_run_of_a_running_job_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=12, size=256)
    env = {**os.environ, "SDAUG_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "sdaug", "augment", "--project", str(project.folder), "--preset", "fog",
               "--preset", "night", "--variants", "2", "--engine", "classic"]
    first = start_until_done(project, command, env, 1)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=60)
    job = project.jobs()[0]
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"sdaug: error: job {job.id} is already running (process {first.pid} on " in second.stderr
    assert "Traceback" not in second.stderr
    # In one process too: a second runner of the job is refused while the first holds it.
    runner = JobRunner(project, job.id)
    with project.job_lock(job.id):
        with pytest.raises(ValueError, match=f"job {job.id} is already running"):
            runner.start()
        with pytest.raises(ValueError, match=f"job {job.id} is already running"):
            runner.run()
    assert not runner.running
    assert JobRunner(project, job.id).run().state == "done"
    check_variants(project, job.id, 12, ("fog", "night"), 2)


def test_importing_jobs_does_not_import_ray() -> None:
    code = "import sys, sdaug.augment.jobs, sdaug.commands.augment; print(sorted({'ray', 'torch'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_ray_backend_without_ray_installed_says_how_to_get_it(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    code = ("import sys; sys.modules['ray'] = None; from sdaug.cli import main; "  # None: import ray fails
            f"sys.exit(main(['augment', '--project', {str(project.folder)!r}, '--preset', 'fog', "
            "'--engine', 'classic', '--backend', 'ray']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SDAUG_HOME": str(tmp_path / "home")})
    assert result.returncode == 1, result.stderr
    assert "sdaug: error: the Ray backend needs the 'ray' package: pip install 'ray>=2.40'" in result.stderr
    assert project.job_progress(project.jobs()[0].id).done == 0


def test_a_running_runner_refuses_a_second_run_and_keeps_running(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=2)
    job = create_job(project, JobSpec(presets=("fog",), variants=3, engine="classic"))
    runner = JobRunner(project, job.id)
    runner.on_variant = lambda item, record, report: time.sleep(0.3)
    runner.start()
    with pytest.raises(ValueError, match=f"job {job.id} is already running"):
        runner.run()
    assert runner.running
    assert runner.join(timeout=60) and runner.status().state == "done"
    check_variants(project, job.id, 2, ("fog",), 3)
