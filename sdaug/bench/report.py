"""The benchmark's configuration, workloads, compute floor and report (tables and JSON).

Pure Python: no torch, so ``sdaug bench`` checks its options before loading anything, and a
report can be read or printed anywhere. :mod:`sdaug.bench.runner` fills a :class:`BenchReport`.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sdaug.engine.request import RANGES
from sdaug.prompts.metadata import write_atomic

SD15_RANDOM = "sd15-random"
PROMPT = "a garbage bin on a city street in heavy snow, photo"
NEGATIVE_PROMPT = "blurry, low quality"
STRENGTH = 0.35
CFG_SCALE = 7.0
SAMPLER = "DPM++ 2M"  # sdaug's default; the baseline uses the same diffusers scheduler
# Issue targets, images/s on one H100 at 512x512 and 20 steps, and the ratio to the baseline.
TARGETS = {"txt2img": 10.0, "img2img": 25.0, "controlnet": 18.0}
TARGET_BASELINE_RATIO = 3.0
LOW_VRAM_TARGET_GIB = 4.0


@dataclass(frozen=True)
class FlopCounts:
    """FLOPs of one forward pass for one image (one sample, no CFG) at ``size`` x ``size``."""

    size: int
    unet: float
    controlnet: float
    vae_decode: float
    vae_encode: float
    text_encoder: float

    def as_tflop(self) -> dict[str, float]:
        return {k: (v / 1e12 if k != "size" else v) for k, v in asdict(self).items()}


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
            needed = math.ceil(1 / STRENGTH)
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
            "torch": importlib.metadata.version("torch"), "diffusers": importlib.metadata.version("diffusers"),
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


def write_json(report: BenchReport, path: Path) -> Path:
    """Write ``report.to_dict()`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report.to_dict(), indent=2) + "\n"
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))
    return path
