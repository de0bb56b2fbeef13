"""Pieces the generation tabs share: the Generate/Stop button pair, the "Advanced" accordion,
named size and quality presets, loading input photos, and running requests with progress.

Running (:func:`run_requests`) imports the engine inside the call, so building the page never
imports torch. Requests run one after another in the caller's thread; the engine checks the
session's cancel flag every step, and finished images are saved (PNG with parameters) before
the next request starts, so Stop keeps them.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageOps, UnidentifiedImageError

from sdaug.augment.presets import KINDS, load_presets
from sdaug.engine.request import MAX_SEED, RANGES, GenerationRequest
from sdaug.engine.samplers import SAMPLERS, SCHEDULE_TYPES
from sdaug.prompts.compat import COMPAT_FLAGS
from sdaug.prompts.params import RNG_SOURCES
from sdaug.ui import i18n
from sdaug.ui.context import AppContext

# Named sizes (width, height); "custom" leaves the width and height sliders as they are.
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "square_512": (512, 512),
    "portrait_512": (512, 768),
    "landscape_768": (768, 512),
    "square_768": (768, 768),
    "landscape_1024": (1024, 768),
    "square_1024": (1024, 1024),
}
# Named quality levels -> steps.
QUALITY_PRESETS: dict[str, int] = {"fast": 10, "balanced": 20, "quality": 30}
CUSTOM = "custom"
INFO_LINES = 6
# Default value that marks an event handler's progress parameter (gradio passes a fresh tracker).
PROGRESS = gr.Progress()


def size_name(width: float, height: float) -> str:
    """The size preset matching ``width`` x ``height``, else ``"custom"``."""
    return next((name for name, size in SIZE_PRESETS.items() if size == (width, height)), CUSTOM)


def quality_name(steps: float) -> str:
    """The quality preset with ``steps`` steps, else ``"custom"``."""
    return next((name for name, value in QUALITY_PRESETS.items() if value == steps), CUSTOM)


def whole(value: Any) -> Any:
    """``20.0`` -> ``20`` (sliders and JSON send floats); anything else is returned unchanged so
    that :meth:`GenerationRequest.validate` can name it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Buttons -------------------------------------------------------------------------------------------

@dataclass
class RunButtons:
    """One big Generate button; Stop takes its place while a run is going."""

    generate: gr.Button
    stop: gr.Button


def build_run_buttons(ctx: AppContext) -> RunButtons:
    generate = gr.Button(ctx.label("run.generate"), variant="primary", size="lg", elem_classes="sdaug-generate")
    stop = gr.Button(ctx.label("run.stop"), variant="stop", size="lg", visible=False, elem_classes="sdaug-stop")
    return RunButtons(generate, stop)


def wire_run(ctx: AppContext, buttons: RunButtons, fn: Callable[..., Any], inputs: list[Any],
             outputs: list[Any], api_name: str, stop_api_name: str | None = None, **event: Any) -> None:
    """Generate -> (swap to Stop) -> ``fn`` in the GPU concurrency group -> swap back.

    ``fn`` is the API endpoint ``api_name``; ``event`` are more keyword arguments for its event
    (``api_visibility``, ``show_progress_on``, ...). Stop sets the session's cancel flag: the engine stops
    within one step and ``fn`` returns the images already finished.
    """

    def start(request: gr.Request) -> tuple[gr.Button, gr.Button]:
        ctx.begin_run(session_of(request))
        return gr.Button(visible=False), gr.Button(visible=True, interactive=True)

    def stop(request: gr.Request) -> gr.Button:
        ctx.stop(session_of(request))
        return gr.Button(interactive=False)

    def finish() -> tuple[gr.Button, gr.Button]:
        return gr.Button(visible=True), gr.Button(visible=False, interactive=True)

    started = buttons.generate.click(start, None, [buttons.generate, buttons.stop], queue=False,
                                     show_progress="hidden", api_visibility="private")
    ran = started.then(fn, inputs, outputs, api_name=api_name, **ctx.gpu_event, **event)
    # Swap back after success and after an error (gradio 6 runs .then only after success).
    for after in (ran.then, ran.failure):
        after(finish, None, [buttons.generate, buttons.stop], queue=False, show_progress="hidden",
              api_visibility="private")
    stop_kwargs: dict[str, Any] = {"api_name": stop_api_name} if stop_api_name else {"api_visibility": "private"}
    buttons.stop.click(stop, None, buttons.stop, queue=False, show_progress="hidden", **stop_kwargs)


def session_of(request: gr.Request | None) -> str:
    return (request.session_hash if request is not None else None) or "default"


# Presets by name ----------------------------------------------------------------------------------
def add_preset_titles(ctx: AppContext) -> None:
    """Register every preset's English and Chinese title under ``preset.name.<name>`` (for the
    tables, charts and info lines that show the preset a variant was made with)."""
    ctx.add_translations({f"preset.name.{p.name}": (p.title_en, p.title_zh or p.title_en)
                          for kind in KINDS for p in load_presets(kind, ctx.settings)})


def preset_title(ctx: AppContext, lang: str, name: str) -> str:
    """The title of preset ``name`` in ``lang`` (the name itself when no preset has it)."""
    key = f"preset.name.{name}"
    return ctx.tr(key, lang) if name and key in ctx.extra_translations else name


# Results -------------------------------------------------------------------------------------------

@dataclass
class Results:
    """The result gallery (PNG, never re-encoded lossy), a status line and the selected image's
    parameters."""

    gallery: gr.Gallery
    status: gr.Markdown
    info: gr.Textbox
    infotexts: gr.State

    @property
    def outputs(self) -> list[Any]:
        return [self.gallery, self.status, self.info, self.infotexts]

    def render_info(self, ctx: AppContext) -> None:
        """Place the parameters box here (it is created unrendered with the gallery)."""
        with gr.Accordion(ctx.label("run.info"), open=False):
            self.info.render()

    @staticmethod
    def values(ctx: AppContext, lang: str, output: RunOutput) -> tuple[Any, ...]:
        """The values of :attr:`outputs` for a finished run."""
        return output.gallery(), output.status(ctx, lang), output.info(), output.infotexts


def build_results(ctx: AppContext) -> Results:
    gallery = gr.Gallery(label=ctx.label("run.results"), format="png", columns=2, height=520, object_fit="contain",
                         interactive=False, buttons=["download", "fullscreen"], elem_classes="sdaug-results")
    status = gr.Markdown(elem_classes="sdaug-status")
    info = gr.Textbox(show_label=False, lines=INFO_LINES, max_lines=INFO_LINES * 2, interactive=False,
                      buttons=["copy"], render=False)
    infotexts = gr.State([])

    def show(texts: list[str], event: gr.SelectData) -> str:
        return texts[event.index] if isinstance(event.index, int) and event.index < len(texts) else ""

    gallery.select(show, infotexts, info, queue=False, show_progress="hidden", api_visibility="private")
    return Results(gallery, status, info, infotexts)


# Advanced settings ---------------------------------------------------------------------------------

@dataclass
class Advanced:
    """The components of the "Advanced settings" accordion (``None`` where a tab has no such knob)."""

    negative: gr.Textbox
    quality: gr.Dropdown
    steps: gr.Slider
    sampler: gr.Dropdown
    schedule: gr.Dropdown
    cfg: gr.Slider
    seed: gr.Number
    seed_random: gr.Button
    seed_reuse: gr.Button
    batch_size: gr.Slider
    clip_skip: gr.Slider
    size: gr.Dropdown | None = None
    width: gr.Slider | None = None
    height: gr.Slider | None = None
    batch_count: gr.Slider | None = None
    last_seed: gr.State | None = None  # the first seed of the tab's last run (for "Reuse last")
    rng: gr.Dropdown | None = None  # A1111's random number source ("" = automatic)
    compat: gr.CheckboxGroup | None = None  # A1111 compatibility flags

    def fields(self) -> dict[str, Any]:
        """GenerationRequest field name -> component (used by PNG Info's "Send to")."""
        named = {
            "negative_prompt": self.negative, "steps": self.steps, "sampler": self.sampler,
            "schedule_type": self.schedule, "cfg_scale": self.cfg, "seed": self.seed,
            "clip_skip": self.clip_skip, "width": self.width, "height": self.height,
            "rng": self.rng, "compat": self.compat,
        }
        return {name: component for name, component in named.items() if component is not None}


def build_advanced(ctx: AppContext, *, size: bool = True, batch_count: bool = True,
                   batch_label: str = "adv.batch_size", defaults: GenerationRequest | None = None,
                   reproduce: bool = False) -> Advanced:
    """The "Advanced settings" accordion, closed, with ``defaults`` (a request) as start values.

    ``reproduce`` adds what reproducing an AUTOMATIC1111 image needs: the random number source and
    the compatibility flags (PNG Info's "Send to" fills them from the image's parameters)."""
    d = defaults or GenerationRequest()
    with gr.Accordion(ctx.label("adv.title"), open=False, elem_classes="sdaug-advanced"):
        negative = gr.Textbox(label=ctx.label("negative.label"), placeholder=ctx.label("negative.placeholder"),
                              value=d.negative_prompt, lines=2)
        with gr.Row():
            quality = gr.Dropdown([(ctx.label(f"quality.{n}"), n) for n in (*QUALITY_PRESETS, CUSTOM)],
                                  value=quality_name(d.steps), label=ctx.label("adv.quality"),
                                  info=ctx.label("adv.quality.info"))
            steps = gr.Slider(*RANGES["steps"], value=d.steps, step=1, label=ctx.label("adv.steps"))
        with gr.Row():
            sampler = gr.Dropdown(list(SAMPLERS), value=d.sampler, label=ctx.label("adv.sampler"))
            schedule = gr.Dropdown(list(SCHEDULE_TYPES), value=d.schedule_type, label=ctx.label("adv.schedule"))
        cfg = gr.Slider(1.0, 20.0, value=d.cfg_scale, step=0.5, label=ctx.label("adv.cfg"),
                        info=ctx.label("adv.cfg.info"))
        with gr.Row(equal_height=True):
            seed = gr.Number(value=d.seed, precision=0, minimum=-1, maximum=MAX_SEED, label=ctx.label("adv.seed"),
                             scale=3)
            seed_random = gr.Button(ctx.label("adv.seed_random"), size="sm", scale=1, min_width=90)
            seed_reuse = gr.Button(ctx.label("adv.seed_reuse"), size="sm", scale=1, min_width=90)
        size_dd = width = height = None
        if size:
            size_dd = gr.Dropdown([(ctx.label(f"size.{n}"), n) for n in (*SIZE_PRESETS, CUSTOM)],
                                  value=size_name(d.width, d.height), label=ctx.label("adv.size"))
            with gr.Row():
                width = gr.Slider(64, 2048, value=d.width, step=8, label=ctx.label("adv.width"))
                height = gr.Slider(64, 2048, value=d.height, step=8, label=ctx.label("adv.height"))
        with gr.Row():
            batch_size = gr.Slider(1, 8, value=d.batch_size, step=1, label=ctx.label(batch_label),
                                   info=ctx.label("adv.batch_size.info") if batch_label == "adv.batch_size" else None)
            count = gr.Slider(1, 100, value=d.batch_count, step=1,
                              label=ctx.label("adv.batch_count")) if batch_count else None
        clip_skip = gr.Slider(*RANGES["clip_skip"], value=d.clip_skip, step=1, label=ctx.label("adv.clip_skip"))
        rng = compat = None
        if reproduce:
            rng = gr.Dropdown([(ctx.label("adv.rng.auto"), ""), *RNG_SOURCES], value=d.rng, label=ctx.label("adv.rng"),
                              info=ctx.label("adv.rng.info"))
            compat = gr.CheckboxGroup([(ctx.label(f"compat.{flag}"), flag) for flag in COMPAT_FLAGS],
                                      value=list(d.compat), label=ctx.label("adv.compat"),
                                      info=ctx.label("adv.compat.info"))
    advanced = Advanced(negative=negative, quality=quality, steps=steps, sampler=sampler, schedule=schedule,
                        cfg=cfg, seed=seed, seed_random=seed_random, seed_reuse=seed_reuse,
                        batch_size=batch_size, clip_skip=clip_skip, size=size_dd, width=width, height=height,
                        batch_count=count, last_seed=gr.State(None), rng=rng, compat=compat)
    _wire_advanced(advanced)
    return advanced


def _wire_advanced(a: Advanced) -> None:
    """Named presets fill the numbers; editing a number selects the matching name (or Custom)."""
    quiet: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
    a.quality.input(lambda name: QUALITY_PRESETS.get(name, gr.skip()), a.quality, a.steps, **quiet)
    a.steps.input(quality_name, a.steps, a.quality, **quiet)
    a.seed_random.click(lambda: -1, None, a.seed, **quiet)
    a.seed_reuse.click(lambda last: gr.skip() if last is None else last, a.last_seed, a.seed, **quiet)
    if a.size is not None and a.width is not None and a.height is not None:
        a.size.input(lambda name: SIZE_PRESETS.get(name, (gr.skip(), gr.skip())), a.size, [a.width, a.height],
                     **quiet)
        a.width.input(size_name, [a.width, a.height], a.size, **quiet)
        a.height.input(size_name, [a.width, a.height], a.size, **quiet)


# Input photos --------------------------------------------------------------------------------------

def load_photos(ctx: AppContext, items: Sequence[Any] | None, request: gr.Request) -> list[tuple[str, Image.Image]]:
    """(name, RGB image) of each gallery item (a path, or a (path, caption) pair), upright per EXIF."""
    if not items:
        raise ctx.user_error("error.no_input", request)
    photos = []
    for item in items:
        path = Path(item[0] if isinstance(item, tuple | list) else item)
        try:
            with Image.open(path) as opened:
                image = ImageOps.exif_transpose(opened).convert("RGB")
        except (OSError, UnidentifiedImageError) as exc:
            raise ctx.user_error("error.bad_image", request, name=path.name, reason=exc) from exc
        photos.append((path.name, image))
    return photos


# Running -------------------------------------------------------------------------------------------

@dataclass
class RunOutput:
    """Everything a finished (or stopped) run shows: saved files and their parameters."""

    paths: list[Path] = field(default_factory=list)
    infotexts: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)  # index of the request (input photo) of each image
    control_images: list[Image.Image] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    folder: Path | None = None
    warnings: list[str] = field(default_factory=list)  # the engine's notes (a LoRA not found, ...)

    def gallery(self) -> list[tuple[str, str]]:
        return [(str(path), f"seed {seed}") for path, seed in zip(self.paths, self.seeds, strict=True)]

    @property
    def last_seed(self) -> int | None:
        return self.seeds[0] if self.seeds else None

    def status(self, ctx: AppContext, lang: str) -> str:
        key = "status.stopped" if self.cancelled else "status.done"
        lines = [ctx.tr(key, lang, count=len(self.paths), seconds=f"{self.seconds:.1f}", folder=self.folder)]
        lines += [ctx.tr("status.note", lang, text=i18n.translate_phase(w, lang)) for w in self.warnings]
        return "  \n".join(lines)

    def info(self) -> str:
        return self.infotexts[0] if self.infotexts else ""


def output_folder(ctx: AppContext, tab: str) -> Path:
    """``<outputs>/<tab>/<date>``: where a tab saves its images."""
    return ctx.settings.outputs_dir / tab / datetime.date.today().isoformat()


def run_requests(ctx: AppContext, requests: Sequence[GenerationRequest], *, tab: str, request: gr.Request,
                 progress: gr.Progress) -> RunOutput:
    """Run ``requests`` one after another (one per input photo), saving every image as it comes.

    Validates all of them first (a bad value fails before any model loads). Stops early when the
    session's cancel flag is set; what finished is kept.
    """
    from sdaug.engine.output import save_images
    from sdaug.engine.run import run

    lang = ctx.lang(request)
    session = session_of(request)
    # 1. Check every request before loading anything.
    for greq in requests:
        greq.model = greq.model or ctx.model
        greq.validate()
    output = RunOutput(folder=output_folder(ctx, tab))
    cancel = ctx.cancel_flag(session)
    started = time.perf_counter()
    try:
        if not ctx.manager_loaded:
            progress(0.0, desc=ctx.tr("progress.starting", lang))
        # 2. On a CPU, say so before the slow part starts, with what this server measured.
        timing = CpuTiming.start(ctx, lang, requests)
        # 3. Run and save each request; stop between requests too.
        for index, greq in enumerate(requests):
            if cancel.is_set():
                output.cancelled = True
                break
            report = _progress_reporter(ctx, progress, lang, index, len(requests), timing)
            result = run(greq, ctx.manager, on_progress=report, cancel=cancel)
            timing.finished(greq, len(result.images))
            paths = save_images(result, output.folder)
            output.paths += paths
            output.infotexts += result.infotexts[: len(paths)]
            output.seeds += result.seeds[: len(paths)]
            output.sources += [index] * len(paths)
            output.control_images += result.control_images
            output.warnings += [w for w in result.warnings if w not in output.warnings]
            if result.cancelled:
                output.cancelled = True
                break
    finally:
        ctx.end_run(session)
    output.seconds = time.perf_counter() - started
    return output


# Seconds per image measured on this computer (from the first denoising step to the end of a
# request, so loading the model does not count), by "model|width|height|steps"; kept in the data
# folder so that the next start of the app can warn before the model loads.
MEASURED_FILE = "measured-seconds-per-image.json"
CPU_WARN_S = 5.0  # warn when an image takes longer than this
_MEASURED: dict[str, float] = {}


def _timing_key(greq: GenerationRequest) -> str:
    return f"{greq.model}|{greq.width}|{greq.height}|{greq.steps}"


def _measured(ctx: AppContext) -> dict[str, float]:
    """The measured times (read from the data folder once)."""
    if not _MEASURED:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            saved = json.loads((ctx.settings.home / MEASURED_FILE).read_text(encoding="utf-8"))
            _MEASURED.update({str(k): float(v) for k, v in saved.items() if isinstance(v, int | float)})
    return _MEASURED


def _save_measured(ctx: AppContext) -> None:
    from sdaug.prompts.metadata import write_atomic

    data = json.dumps(_MEASURED, indent=1).encode("utf-8")
    with contextlib.suppress(OSError, AttributeError):
        write_atomic(ctx.settings.home / MEASURED_FILE, lambda handle: handle.write(data))


@dataclass
class CpuTiming:
    """Diffusion on a CPU takes minutes per image: warn before it starts, with the per-image time
    measured on this server (or, on the very first run, as soon as the first step measured it)."""

    ctx: AppContext
    lang: str
    images: int
    cpu: bool
    warned: bool = False
    first_step: float | None = None

    @classmethod
    def start(cls, ctx: AppContext, lang: str, requests: Sequence[GenerationRequest]) -> CpuTiming:
        cpu = ctx.manager.device == "cpu"
        timing = cls(ctx, lang, sum(r.n_images for r in requests), cpu=cpu, warned=not cpu)
        known = [_measured(ctx).get(_timing_key(r)) for r in requests] if not timing.warned else []
        if not timing.warned and all(known):
            per_image = sum(k * r.n_images for k, r in zip(known, requests, strict=True)) / timing.images
            timing.warn(per_image)
        return timing

    def warn(self, per_image: float) -> None:
        self.warned = True
        if per_image < CPU_WARN_S:  # a small model or small images: nothing to warn about
            return
        gr.Warning(self.ctx.tr("warn.cpu", self.lang, seconds=f"{per_image:.0f}", images=self.images,
                               total=format_seconds(per_image * self.images)),
                   title=self.ctx.tr("warn.cpu.title", self.lang))

    def step(self, p: Any) -> None:
        """Called with each engine progress report: the first steps measure the speed."""
        if p.step >= 1 and self.first_step is None:
            self.first_step = time.perf_counter()
        if not self.warned and p.eta_s is not None and p.step >= 2 and p.images_total:
            elapsed = time.perf_counter() - (self.first_step or time.perf_counter())
            self.warn((elapsed + p.eta_s) / p.images_total)

    def finished(self, greq: GenerationRequest, images: int) -> None:
        if self.cpu and self.first_step is not None and images:
            _measured(self.ctx)[_timing_key(greq)] = (time.perf_counter() - self.first_step) / images
            _save_measured(self.ctx)
        self.first_step = None


def format_seconds(seconds: float) -> str:
    """``"0.04 s"``, ``"45 s"``, ``"12 min"`` or ``"1.5 h"``."""
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _progress_reporter(ctx: AppContext, progress: gr.Progress, lang: str, index: int,
                       count: int, timing: CpuTiming | None = None) -> Callable[[Any], None]:
    """An ``on_progress`` callback that drives ``progress`` over ``count`` requests."""
    prefix = ctx.tr("progress.input", lang, index=index + 1, count=count) + " · " if count > 1 else ""

    def report(p: Any) -> None:
        if timing is not None and not p.message:
            timing.step(p)
        if p.message:
            progress(index / count, desc=prefix + i18n.translate_phase(p.message, lang))
            return
        # batch_index counts from 1 while a batch runs.
        batches_done = max(0, p.batch_index - 1) + (p.step / p.total_steps if p.total_steps else 0.0)
        fraction = batches_done / max(1, p.batch_count)
        desc = prefix + ctx.tr("progress.step", lang, done=p.images_done, total=p.images_total, step=p.step,
                               steps=p.total_steps)
        if p.eta_s is not None:
            desc += " · " + ctx.tr("progress.eta", lang, seconds=max(0, round(p.eta_s)))
        progress((index + min(1.0, fraction)) / count, desc=desc)

    return report
