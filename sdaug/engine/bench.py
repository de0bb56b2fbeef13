"""Throughput benchmark: sdaug's generation path against the compute floor and a plain script.

For each workload (txt2img, img2img at strength 0.35, ControlNet img2img at strength 0.35) and
each batch size, :func:`run_bench` times whole runs through :func:`sdaug.engine.run.run` and
the :class:`~sdaug.engine.manager.PipelineManager` (so every fast-path switch in Settings
counts), after warm-up runs and with CUDA synchronised, and reports:

- images per second and seconds per image (median of the timed runs);
- peak GPU memory (``torch.cuda.max_memory_allocated``; ``None`` on other devices);
- the ratio to the compute floor: the workload's FLOPs (counted per model, see
  :mod:`.bench_models`) over the device's peak FLOP/s. With CFG every denoising step runs the
  UNet (and the ControlNet) on two samples; img2img runs ``int(steps * 0.35)`` of the steps and
  also encodes the input image. For SD1.5 at 512x512 on an H100 SXM (989 TFLOP/s) this gives
  35.0 ms (txt2img, 20 steps), 15.0 ms (img2img, 7 of 20 steps) and 19.0 ms (ControlNet img2img)
  per image; the text encoder (0.01 TFLOP) is left out, as embeddings are encoded once per
  preset in jobs;
- the ratio to the plain-script baseline: a stock diffusers pipeline on the same weights, batch
  1, float16 on CUDA (float32 elsewhere), no compile, no channels-last, measured in the same run.

Models: ``sd15-random`` (SD1.5-size random weights, see :mod:`.bench_models`), ``tiny``, or any
model source the manager loads (its ControlNet is a random one shaped for its UNet: compute does
not depend on weight values, and nothing is downloaded). Random models reach the manager as
diffusers folders written to a temporary folder, deleted at the end.
"""

from __future__ import annotations

import dataclasses
import datetime
import gc
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch
from PIL import Image

from sdaug.engine.bench_models import (
    SD15_RANDOM,
    FlopCounts,
    controlnet_for,
    parameter_counts,
    pipeline_flops,
    sd15_random_controlnet,
    sd15_random_pipeline,
)
from sdaug.engine.manager import PIPE_DTYPE, PipelineManager, quiet_dtype_casts
from sdaug.engine.request import RANGES, GenerationRequest
from sdaug.engine.run import run
from sdaug.engine.sources import TINY
from sdaug.engine.tiny import tiny_controlnet, tiny_pipeline
from sdaug.settings import Settings

logger = logging.getLogger(__name__)

PROMPT = "a garbage bin on a city street in heavy snow, photo"
NEGATIVE_PROMPT = "blurry, low quality"
STRENGTH = 0.35
CFG_SCALE = 7.0
SAMPLER = "DPM++ 2M"  # sdaug's default; the baseline uses the same diffusers scheduler
GIB = 1024**3
# Issue targets, images/s on one H100 at 512x512 and 20 steps, and the ratio to the baseline.
TARGETS = {"txt2img": 10.0, "img2img": 25.0, "controlnet": 18.0}
TARGET_BASELINE_RATIO = 3.0
LOW_VRAM_TARGET_GIB = 4.0
# Dense half-precision tensor-core peaks (TFLOP/s) by device name; first match wins.
PEAK_TFLOPS = (
    ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H200", 989.0), ("B200", 2250.0),
    ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0), ("A10G", 70.0), ("RTX 4090", 165.0),
    ("RTX 3090", 71.0), ("V100", 125.0), ("T4", 65.0),
)


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    img2img: bool
    controlnet: bool

    def denoising_steps(self, steps: int) -> int:
        """UNet steps actually run: diffusers' img2img runs ``int(steps * strength)`` of them."""
        return int(steps * STRENGTH) if self.img2img else steps

    def flops_per_image(self, flops: FlopCounts, steps: int, cfg_scale: float = CFG_SCALE) -> float:
        samples = 2 if cfg_scale > 1 else 1
        per_step = flops.unet + (flops.controlnet if self.controlnet else 0.0)
        total = self.denoising_steps(steps) * samples * per_step + flops.vae_decode
        return total + (flops.vae_encode if self.img2img else 0.0)


WORKLOADS = {w.name: w for w in (
    Workload("txt2img", "txt2img", img2img=False, controlnet=False),
    Workload("img2img", f"img2img, strength {STRENGTH}", img2img=True, controlnet=False),
    Workload("controlnet", f"ControlNet img2img, strength {STRENGTH}", img2img=True, controlnet=True),
)}


@dataclass
class BenchConfig:
    """What to measure. ``peak_tflops=None`` looks the device up (CPU: a measured peak)."""

    model: str = SD15_RANDOM
    workloads: tuple[str, ...] = tuple(WORKLOADS)
    batch_sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    size: int = 512
    steps: int = 20
    repeats: int = 3
    warmup: int = 1
    baseline: bool = True
    low_vram: bool = False
    peak_tflops: float | None = None
    profile_dir: Path | None = None

    def validate(self) -> None:
        unknown = [w for w in self.workloads if w not in WORKLOADS]
        if unknown or not self.workloads:
            raise ValueError(f"workloads must be among {', '.join(WORKLOADS)}, got {', '.join(self.workloads) or 'none'}")
        low, high = RANGES["batch_size"]
        if not self.batch_sizes or any(not low <= b <= high for b in self.batch_sizes):
            raise ValueError(f"batch sizes must be from {low} to {high}, got {list(self.batch_sizes)}")
        if self.size < 64 or self.size % 8:
            raise ValueError(f"size must be a multiple of 8, at least 64, got {self.size}")
        if self.steps < 1 or self.repeats < 1 or self.warmup < 0:
            raise ValueError(f"steps and repeats must be at least 1 and warmup at least 0, got "
                             f"steps {self.steps}, repeats {self.repeats}, warmup {self.warmup}")
        if any(WORKLOADS[w].img2img for w in self.workloads) and int(self.steps * STRENGTH) < 1:
            needed = int(np.ceil(1 / STRENGTH))
            raise ValueError(f"img2img at strength {STRENGTH} with {self.steps} steps runs no denoising step; "
                             f"use --steps {needed} or more, or only --workloads txt2img")
        if self.peak_tflops is not None and self.peak_tflops <= 0:
            raise ValueError(f"peak TFLOP/s must be positive, got {self.peak_tflops}")


@dataclass
class Measurement:
    """Timed runs of one workload at one batch size."""

    batch_size: int
    seconds: list[float]
    peak_memory_gib: float | None
    floor_s_per_image: float
    baseline_images_per_s: float | None = None

    @property
    def images_per_s(self) -> float:
        return self.batch_size / statistics.median(self.seconds)

    @property
    def s_per_image(self) -> float:
        return 1.0 / self.images_per_s

    @property
    def floor_ratio(self) -> float:
        """Seconds per image over the compute floor's (1.0 = at the floor)."""
        return self.s_per_image / self.floor_s_per_image

    @property
    def baseline_ratio(self) -> float | None:
        """Images per second over the plain script's."""
        return self.images_per_s / self.baseline_images_per_s if self.baseline_images_per_s else None

    def as_dict(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "images_per_s": self.images_per_s, "s_per_image": self.s_per_image,
                "peak_memory_gib": self.peak_memory_gib, "floor_ratio": self.floor_ratio,
                "baseline_ratio": self.baseline_ratio, "seconds": self.seconds}


@dataclass
class BenchReport:
    """Everything :func:`run_bench` measured; :meth:`to_dict` is the JSON, :meth:`tables` the text."""

    config: BenchConfig
    device: str
    device_name: str
    dtype: str
    peak_tflops: float
    peak_source: str
    flops: FlopCounts
    parameters: dict[str, int]
    fast_path: str = ""
    date: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    baseline: dict[str, Measurement] = field(default_factory=dict)
    results: dict[str, list[Measurement]] = field(default_factory=dict)
    low_vram: dict[str, Any] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)

    def floor_s_per_image(self, workload: str) -> float:
        return WORKLOADS[workload].flops_per_image(self.flops, self.config.steps) / (self.peak_tflops * 1e12)

    def best(self, workload: str) -> Measurement | None:
        return max(self.results.get(workload, []), key=lambda m: m.images_per_s, default=None)

    def to_dict(self) -> dict[str, Any]:
        cfg = self.config
        workloads = {}
        for name in cfg.workloads:
            base, best = self.baseline.get(name), self.best(name)
            workloads[name] = {
                "title": WORKLOADS[name].title,
                "denoising_steps": WORKLOADS[name].denoising_steps(cfg.steps),
                "tflop_per_image": WORKLOADS[name].flops_per_image(self.flops, cfg.steps) / 1e12,
                "floor_ms_per_image": self.floor_s_per_image(name) * 1000,
                "baseline": base.as_dict() if base else None,
                "results": [m.as_dict() for m in self.results.get(name, [])],
                "best": best.as_dict() if best else None,
                "target_images_per_s": TARGETS[name],
            }
        return {
            "date": self.date, "device": self.device, "device_name": self.device_name, "dtype": self.dtype,
            "torch": torch.__version__, "diffusers": diffusers.__version__,
            "model": cfg.model, "size": cfg.size, "steps": cfg.steps, "strength": STRENGTH, "cfg_scale": CFG_SCALE,
            "sampler": SAMPLER, "repeats": cfg.repeats, "warmup": cfg.warmup,
            "peak_tflops": self.peak_tflops, "peak_source": self.peak_source,
            "tflop_per_sample": {k: v for k, v in self.flops.as_tflop().items() if k != "size"},
            "parameters": self.parameters, "fast_path": self.fast_path,
            "workloads": workloads, "low_vram": self.low_vram or None, "profiles": self.profiles,
        }

    def tables(self) -> str:
        """One table per workload, as ``sdaug bench`` prints them."""
        cfg = self.config
        lines = [f"sdaug bench {self.date}: model {cfg.model}, {cfg.size}x{cfg.size}, {cfg.steps} steps, "
                 f"CFG {CFG_SCALE:g}, {SAMPLER}",
                 f"device {self.device} ({self.device_name}), {self.dtype}, peak {self.peak_tflops:.4g} TFLOP/s "
                 f"({self.peak_source})"]
        if self.fast_path:
            lines.append(f"engine: {self.fast_path}")
        for name in cfg.workloads:
            workload = WORKLOADS[name]
            lines += ["", f"{workload.title}: {workload.denoising_steps(cfg.steps)} denoising steps, "
                          f"compute floor {self.floor_s_per_image(name) * 1000:.1f} ms/image",
                      f"{'batch':>7} {'images/s':>10} {'s/image':>9} {'peak GiB':>9} {'x floor':>8} {'x baseline':>11}"]
            rows = ([("plain", self.baseline[name])] if name in self.baseline else []) + \
                [(str(m.batch_size), m) for m in self.results.get(name, [])]
            for label, m in rows:
                memory = f"{m.peak_memory_gib:.2f}" if m.peak_memory_gib is not None else "n/a"
                ratio = f"{m.baseline_ratio:.2f}" if m.baseline_ratio is not None else "n/a"
                lines.append(f"{label:>7} {m.images_per_s:>10.3f} {m.s_per_image:>9.4f} {memory:>9} "
                             f"{m.floor_ratio:>8.1f} {ratio:>11}")
            best = self.best(name)
            if best is not None:
                lines.append(f"best: {best.images_per_s:.3f} images/s at batch {best.batch_size}"
                             + self._target_note(name, best))
        if any(m.floor_ratio < 1 for m in [*self.baseline.values(), *(m for r in self.results.values() for m in r)]):
            lines += ["", "note: a ratio to the floor below 1 means the peak is too low (a measured peak on a busy "
                          "machine); give the device's peak with --peak-tflops"]
        if self.low_vram:
            lines += ["", "low-VRAM mode: " + ", ".join(f"{k} {v}" for k, v in self.low_vram.items())]
        if self.profiles:
            lines += ["", "profiles: " + ", ".join(self.profiles)]
        return "\n".join(lines)

    def _target_note(self, name: str, best: Measurement) -> str:
        """The issue's targets, which are set for one H100 at 512x512 and 20 steps."""
        if "H100" not in self.device_name or (self.config.size, self.config.steps) != (512, 20):
            return ""
        met = best.images_per_s >= TARGETS[name]
        note = f" (target {TARGETS[name]:g}: {'met' if met else 'missed'}"
        if best.baseline_ratio is not None:
            met = best.baseline_ratio >= TARGET_BASELINE_RATIO
            note += f"; {best.baseline_ratio:.1f}x baseline, target {TARGET_BASELINE_RATIO:g}x: {'met' if met else 'missed'}"
        return note + ")"


def run_bench(config: BenchConfig, settings: Settings) -> BenchReport:
    """Measure ``config``'s workloads on the device ``settings`` choose (see the module docstring)."""
    # 1. Check the config; the manager picks the device and dtype.
    config.validate()
    manager = PipelineManager(settings)
    device, dtype = manager.device, manager.dtype
    with tempfile.TemporaryDirectory(prefix="sdaug-bench-") as folder:
        # 2. The models: the plain pipeline for the baseline, and the names the manager loads.
        plain, controlnet, model, controlnet_name = _prepare_models(config.model, settings, device, dtype, Path(folder))
        peak, peak_source = _peak_tflops(config.peak_tflops, device, dtype)
        report = BenchReport(config=config, device=device, device_name=_device_name(device),
                             dtype=str(dtype).removeprefix("torch."), peak_tflops=peak, peak_source=peak_source,
                             flops=pipeline_flops(plain, config.size, controlnet),
                             parameters=parameter_counts(plain, controlnet))
        init, control = _input_image(config.size, 1), _input_image(config.size, 2)

        # 3. The plain-script baseline, batch 1, before anything changes global state.
        if config.baseline:
            report.baseline = _measure_baseline(report, plain, controlnet, init, control)
        del plain, controlnet
        _free(device)

        # 4. sdaug's path at every batch size.
        for name in config.workloads:
            baseline = report.baseline.get(name)
            for batch_size in config.batch_sizes:
                logger.info("sdaug %s, batch %d …", name, batch_size)
                call = _sdaug_call(manager, WORKLOADS[name], config, batch_size, model, controlnet_name, init, control)
                seconds, memory = _time(call, device, config.repeats, config.warmup)
                measurement = Measurement(batch_size, seconds, memory, report.floor_s_per_image(name),
                                          baseline.images_per_s if baseline else None)
                report.results.setdefault(name, []).append(measurement)
                logger.info("%s batch %d: %.3f images/s", name, batch_size, measurement.images_per_s)
        report.fast_path = manager.memory_report()

        # 5. Profiles of the best batch size, for finding where the time goes.
        if config.profile_dir is not None:
            for name in config.workloads:
                best = report.best(name)
                call = _sdaug_call(manager, WORKLOADS[name], config, best.batch_size, model, controlnet_name,
                                   init, control)
                report.profiles.append(str(_profile(call, device, config.profile_dir, f"{name}-batch{best.batch_size}")))
        manager.unload()

        # 6. The low-VRAM mode: peak memory of ControlNet img2img at batch 1.
        if config.low_vram:
            report.low_vram = _measure_low_vram(config, settings, model, controlnet_name, init, control)
    return report


def write_json(report: BenchReport, path: Path) -> Path:
    """Write ``report.to_dict()`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(report.to_dict(), indent=2) + "\n")
    return path


def measure_peak_tflops(device: str, dtype: torch.dtype, seconds: float = 3.0) -> float:
    """The best throughput (TFLOP/s) of ``device`` in ``dtype`` over about ``seconds``, from a
    large matmul and a 3x3 convolution like the UNet's (on CPUs the convolution library is often
    much faster than the BLAS one): a practical peak; on a busy machine, an underestimate."""
    import torch.nn.functional as F

    size, channels, per_sample = (8192, 1280, 10) if device == "cuda" else (3072, 512, 1)
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    image = torch.randn(1, channels, 64, 64, device=device, dtype=dtype)
    kernel = torch.randn(channels, channels, 3, 3, device=device, dtype=dtype)
    kernels = (
        (2 * size**3, lambda: torch.mm(a, b)),
        (2 * channels**2 * 9 * 64 * 64, lambda: F.conv2d(image, kernel, padding=1)),
    )
    best = 0.0
    deadline = time.perf_counter() + seconds
    with torch.no_grad():
        while time.perf_counter() < deadline:
            for flops, kernel_call in kernels:
                _sync(device)
                start = time.perf_counter()
                for _ in range(per_sample):
                    kernel_call()
                _sync(device)
                best = max(best, per_sample * flops / (time.perf_counter() - start) / 1e12)
    return best


# Models ------------------------------------------------------------------------------------
def _prepare_models(model: str, settings: Settings, device: str, dtype: torch.dtype,
                    folder: Path) -> tuple[Any, Any, str, str]:
    """(plain pipeline, its ControlNet, model name for the manager, ControlNet name for it)."""
    if model == TINY:
        return tiny_pipeline().to(device, dtype), tiny_controlnet().to(device, dtype), TINY, TINY
    if model == SD15_RANDOM:
        logger.info("building SD1.5-size random weights …")
        plain = sd15_random_pipeline(device, dtype)
        controlnet = sd15_random_controlnet(device, dtype)
        plain.save_pretrained(folder / SD15_RANDOM)
    else:
        plain_settings = dataclasses.replace(settings, channels_last=False, compile=False, attention="sdpa",
                                             attention_slicing=False, vae_tiling=False)
        plain = PipelineManager(plain_settings).pipeline("txt2img", model)
        controlnet = controlnet_for(plain.unet)
    controlnet.save_pretrained(folder / "controlnet")
    return plain, controlnet, str(folder / SD15_RANDOM) if model == SD15_RANDOM else model, str(folder / "controlnet")


def _input_image(size: int, seed: int) -> Image.Image:
    """A smooth random picture (the ControlNet's canny map of it has edges)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)


# Calls -------------------------------------------------------------------------------------
def _measure_baseline(report: BenchReport, plain: Any, controlnet: Any, init: Image.Image,
                      control: Image.Image) -> dict[str, Measurement]:
    config, device = report.config, report.device
    torch.backends.cudnn.benchmark = False  # as a plain script has it
    calls = _plain_calls(plain, controlnet, config, init, control, device)
    baseline = {}
    for name in config.workloads:
        logger.info("baseline %s …", name)
        seconds, memory = _time(calls[name], device, config.repeats, config.warmup)
        measurement = Measurement(1, seconds, memory, report.floor_s_per_image(name))
        measurement.baseline_images_per_s = measurement.images_per_s
        baseline[name] = measurement
    return baseline


def _plain_calls(pipe: Any, controlnet: Any, config: BenchConfig, init: Image.Image, control: Image.Image,
                 device: str) -> dict[str, Callable[[], Any]]:
    """The plain script: stock diffusers pipelines, batch 1, images returned as PIL."""
    from diffusers import (
        DPMSolverMultistepScheduler,
        StableDiffusionControlNetImg2ImgPipeline,
        StableDiffusionImg2ImgPipeline,
    )

    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, use_karras_sigmas=True)
    pipe.set_progress_bar_config(disable=True)
    same_dtype = {PIPE_DTYPE: pipe.dtype}  # from_pipe casts to float32 unless given the dtype
    with quiet_dtype_casts():
        img2img = StableDiffusionImg2ImgPipeline.from_pipe(pipe, **same_dtype)
        with_controlnet = StableDiffusionControlNetImg2ImgPipeline.from_pipe(pipe, controlnet=controlnet, **same_dtype)
    for derived in (img2img, with_controlnet):
        derived.set_progress_bar_config(disable=True)

    def common() -> dict[str, Any]:
        return {"prompt": PROMPT, "negative_prompt": NEGATIVE_PROMPT, "num_inference_steps": config.steps,
                "guidance_scale": CFG_SCALE, "generator": torch.Generator(device).manual_seed(0)}

    return {
        "txt2img": lambda: pipe(**common(), height=config.size, width=config.size),
        "img2img": lambda: img2img(**common(), image=init, strength=STRENGTH),
        "controlnet": lambda: with_controlnet(**common(), image=init, control_image=control, strength=STRENGTH),
    }


def _sdaug_call(manager: PipelineManager, workload: Workload, config: BenchConfig, batch_size: int, model: str,
                controlnet: str, init: Image.Image, control: Image.Image) -> Callable[[], Any]:
    """One run of ``batch_size`` images through sdaug's engine."""
    request = GenerationRequest(
        mode="controlnet" if workload.controlnet else workload.name, prompt=PROMPT, negative_prompt=NEGATIVE_PROMPT,
        steps=config.steps, sampler=SAMPLER, cfg_scale=CFG_SCALE, seed=0, width=config.size, height=config.size,
        batch_size=batch_size, init_images=[init] if workload.img2img else [], denoising_strength=STRENGTH,
        control_image=control if workload.controlnet else None, model=model,
        controlnet_model=controlnet if workload.controlnet else "")
    return lambda: run(dataclasses.replace(request), manager)


# Measuring ---------------------------------------------------------------------------------
def _time(call: Callable[[], Any], device: str, repeats: int, warmup: int) -> tuple[list[float], float | None]:
    """Seconds of each of ``repeats`` calls after ``warmup`` calls, and the peak GPU memory (GiB)."""
    for _ in range(warmup):
        call()
    _sync(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return seconds, torch.cuda.max_memory_allocated() / GIB if device == "cuda" else None


def _measure_low_vram(config: BenchConfig, settings: Settings, model: str, controlnet: str, init: Image.Image,
                      control: Image.Image) -> dict[str, Any]:
    manager = PipelineManager(dataclasses.replace(settings, memory_mode="model-offload", vae_tiling=True,
                                                  compile=False))
    if manager.device != "cuda":
        return {"skipped": f"needs a CUDA GPU (device is {manager.device})"}
    call = _sdaug_call(manager, WORKLOADS["controlnet"], config, 1, model, controlnet, init, control)
    _free(manager.device)
    seconds, memory = _time(call, manager.device, config.repeats, max(config.warmup, 1))
    report = manager.memory_report()
    manager.unload()
    return {"workload": "controlnet", "batch_size": 1, "peak_memory_gib": round(memory, 3),
            "s_per_image": round(statistics.median(seconds), 4), "target_gib": LOW_VRAM_TARGET_GIB,
            "met": memory <= LOW_VRAM_TARGET_GIB, "engine": report}


def _profile(call: Callable[[], Any], device: str, folder: Path, label: str) -> Path:
    """Profile one call: top operators by self time to ``<label>.txt``, a Chrome trace beside it."""
    from torch.profiler import ProfilerActivity, profile

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=activities) as prof:
        call()
        _sync(device)
    sort_by = "self_device_time_total" if device == "cuda" else "self_cpu_time_total"
    table = prof.key_averages().table(sort_by=sort_by, row_limit=30)
    prof.export_chrome_trace(str(folder / f"{label}.trace.json"))
    path = folder / f"{label}.txt"
    _write_atomic(path, table + "\n")
    return path


def _peak_tflops(given: float | None, device: str, dtype: torch.dtype) -> tuple[float, str]:
    if given is not None:
        return given, "given"
    if device == "cuda":
        name = torch.cuda.get_device_name()
        for key, tflops in PEAK_TFLOPS:
            if key in name:
                return tflops, "dense fp16/bf16 spec"
    return measure_peak_tflops(device, dtype), f"measured {str(dtype).removeprefix('torch.')} matmul/convolution"


def _device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    import platform

    return platform.processor() or platform.machine()


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def _free(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def _write_atomic(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is not
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
