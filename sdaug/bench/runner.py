"""Throughput benchmark: sdaug's generation path against the compute floor and a plain script.

For each workload (txt2img, img2img at strength 0.35, ControlNet img2img at strength 0.35) and
each batch size, :func:`run_bench` times whole runs through :func:`sdaug.engine.run.run` and
the :class:`~sdaug.engine.manager.PipelineManager` (so every fast-path switch in Settings
counts), after warm-up runs and with CUDA synchronised, and reports:

- images per second and seconds per image (median of the timed runs);
- peak GPU memory (``torch.cuda.max_memory_allocated``; ``None`` on other devices);
- the ratio to the compute floor: the workload's FLOPs (counted per model, see
  :mod:`.models`) over the device's peak FLOP/s. With CFG every denoising step runs the
  UNet (and the ControlNet) on two samples; img2img runs ``int(steps * 0.35)`` of the steps and
  also encodes the input image. For SD1.5 at 512x512 on an H100 SXM (989 TFLOP/s) this gives
  35.0 ms (txt2img, 20 steps), 15.0 ms (img2img, 7 of 20 steps) and 19.0 ms (ControlNet img2img)
  per image; the text encoder (0.01 TFLOP) is left out, as embeddings are encoded once per
  preset in jobs;
- the ratio to the plain-script baseline: a stock diffusers pipeline on the same weights, batch
  1, float16 on CUDA (float32 elsewhere), no compile, no channels-last, measured in the same run.

Models: ``sd15-random`` (SD1.5-size random weights, see :mod:`.models`), ``tiny``, or any
model source the manager loads (its ControlNet is a random one shaped for its UNet: compute does
not depend on weight values, and nothing is downloaded). Random models reach the manager as
diffusers folders written to a temporary folder, deleted at the end.

The benchmark is not part of the engine: it drives it. torch, diffusers and the engine's
torch-importing modules are imported inside the functions that use them (only
``sdaug/engine/`` imports torch at module level), so importing this module stays light.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from sdaug.bench.report import (
    CFG_SCALE,
    LOW_VRAM_TARGET_GIB,
    NEGATIVE_PROMPT,
    PROMPT,
    SAMPLER,
    SD15_RANDOM,
    STRENGTH,
    WORKLOADS,
    BenchConfig,
    BenchReport,
    Measurement,
    Workload,
)
from sdaug.engine.request import GenerationRequest
from sdaug.engine.sources import TINY
from sdaug.prompts.metadata import write_atomic
from sdaug.settings import Settings

if TYPE_CHECKING:
    import torch

    from sdaug.engine.manager import PipelineManager

logger = logging.getLogger(__name__)

GIB = 1024**3
# Dense half-precision tensor-core peaks (TFLOP/s) by device name; first match wins.
PEAK_TFLOPS = (
    ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H200", 989.0), ("B200", 2250.0),
    ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0), ("A10G", 70.0), ("RTX 4090", 165.0),
    ("RTX 3090", 71.0), ("V100", 125.0), ("T4", 65.0),
)


def run_bench(config: BenchConfig, settings: Settings) -> BenchReport:
    """Measure ``config``'s workloads on the device ``settings`` choose (see the module docstring)."""
    from sdaug.bench.models import parameter_counts, pipeline_flops
    from sdaug.engine.manager import PipelineManager

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


def measure_peak_tflops(device: str, dtype: torch.dtype, seconds: float = 3.0) -> float:
    """The best throughput (TFLOP/s) of ``device`` in ``dtype`` over about ``seconds``, from a
    large matmul and a 3x3 convolution like the UNet's (on CPUs the convolution library is often
    much faster than the BLAS one): a practical peak; on a busy machine, an underestimate."""
    import torch
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
    from sdaug.bench.models import controlnet_for, sd15_random_controlnet, sd15_random_pipeline
    from sdaug.engine.manager import PipelineManager, quiet_dtype_casts
    from sdaug.engine.tiny import tiny_controlnet, tiny_pipeline

    if model == TINY:
        with quiet_dtype_casts():
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
    import torch

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
    import torch
    from diffusers import (
        DPMSolverMultistepScheduler,
        StableDiffusionControlNetImg2ImgPipeline,
        StableDiffusionImg2ImgPipeline,
    )

    from sdaug.engine.manager import PIPE_DTYPE, quiet_dtype_casts

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
    from sdaug.engine.run import run

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
    import torch

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
    from sdaug.engine.manager import PipelineManager

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
    write_atomic(path, lambda handle: handle.write((table + "\n").encode("utf-8")))
    return path


def _peak_tflops(given: float | None, device: str, dtype: torch.dtype) -> tuple[float, str]:
    import torch

    if given is not None:
        return given, "given"
    if device == "cuda":
        name = torch.cuda.get_device_name()
        for key, tflops in PEAK_TFLOPS:
            if key in name:
                return tflops, "dense fp16/bf16 spec"
    return measure_peak_tflops(device, dtype), f"measured {str(dtype).removeprefix('torch.')} matmul/convolution"


def _device_name(device: str) -> str:
    import platform

    import torch

    if device == "cuda":
        return torch.cuda.get_device_name()
    return platform.processor() or platform.machine()


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def _free(device: str) -> None:
    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
