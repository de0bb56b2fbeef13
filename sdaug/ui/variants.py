"""The body shared by the Weather and Lighting tabs: input photos, a preset dropdown (localised
titles from ``presets/<kind>/*.toml``), prompt, change strength, advanced settings, results and a
before/after slider. A preset only fills the fields; what runs is what the fields say, so a
user can start from a preset and change anything (and PNG Info can fill the same fields).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from sdaug.augment.presets import Preset, load_presets
from sdaug.engine.request import MAX_SEED, GenerationRequest
from sdaug.ui import common
from sdaug.ui.context import AppContext

logger = logging.getLogger(__name__)


@dataclass
class VariantTab:
    """Components of a Weather or Lighting tab."""

    kind: str
    presets: dict[str, Preset]
    photos: gr.Gallery
    preset: gr.Dropdown
    prompt: gr.Textbox
    strength: gr.Slider
    advanced: common.Advanced
    buttons: common.RunButtons
    results: common.Results
    compare: gr.ImageSlider
    pairs: gr.State  # [(input path, output path)] of the last run, in gallery order
    extra: Any = None  # what the ``controls`` hook of build_variant_tab returned
    side: Any = None  # what the ``side`` hook returned
    extra_fields: dict[str, Any] = field(default_factory=dict)  # more fields for PNG Info (lighting's control)

    def fields(self) -> dict[str, Any]:
        """GenerationRequest field name -> component, for PNG Info's "Send to"."""
        return {"prompt": self.prompt, "denoising_strength": self.strength, **self.advanced.fields(),
                **self.extra_fields}

    def base_inputs(self) -> list[Any]:
        """Inputs every variant endpoint takes, in the order of :func:`photo_requests`'s fields."""
        a = self.advanced
        return [self.photos, self.prompt, a.negative, self.strength, a.steps, a.sampler, a.schedule, a.cfg, a.seed,
                a.batch_size, a.clip_skip]

    @property
    def outputs(self) -> list[Any]:
        return [*self.results.outputs, self.compare, self.pairs, self.advanced.last_seed]


def preset_key(kind: str, name: str) -> str:
    return f"preset.{kind}.{name}"


def load_tab_presets(ctx: AppContext, kind: str) -> tuple[dict[str, Preset], list[str]]:
    """The presets of ``kind`` by name (titles registered as translations), and load problems."""
    problems: list[str] = []
    presets = {p.name: p for p in load_presets(kind, ctx.settings, problems)}
    ctx.add_translations({preset_key(kind, p.name): (p.title("en"), p.title("zh")) for p in presets.values()})
    return presets, problems


def build_variant_tab(ctx: AppContext, kind: str, controls: Callable[[Preset | None], Any] | None = None,
                      side: Callable[[], Any] | None = None) -> VariantTab:
    """Build the shared layout inside the current ``gr.Tab``. ``controls(first_preset)`` builds the
    tab's own settings below the strength slider, ``side()`` its own outputs below the before/after
    slider; the caller wires the run (see :mod:`sdaug.ui.weather`)."""
    presets, problems = load_tab_presets(ctx, kind)
    first = next(iter(presets.values()), None)
    defaults = first.to_request() if first else GenerationRequest()
    for problem in problems:
        gr.Markdown(f"⚠ {problem}")
    with gr.Row():
        with gr.Column(scale=2):
            photos = gr.Gallery(label=ctx.label("aug.inputs"), type="filepath", interactive=True,
                                file_types=["image"], columns=4, height=260, object_fit="contain",
                                elem_classes="sdaug-inputs")
            preset = gr.Dropdown([(ctx.label(preset_key(kind, name)), name) for name in presets],
                                 value=first.name if first else None, label=ctx.label("aug.preset"))
            strength = gr.Slider(0.0, 1.0, value=defaults.denoising_strength, step=0.01,
                                 label=ctx.label("aug.strength"), info=ctx.label("aug.strength.info"))
            extra = controls(first) if controls else None
            prompt = gr.Textbox(label=ctx.label("prompt.label"), value=defaults.prompt, lines=3)
            buttons = common.build_run_buttons(ctx)
        with gr.Column(scale=3):
            results = common.build_results(ctx)
            compare = gr.ImageSlider(label=ctx.label("aug.compare"), type="filepath", format="png",
                                     interactive=False, max_height=520)
            side_parts = side() if side else None
    advanced = common.build_advanced(ctx, size=False, batch_count=False, batch_label="adv.variants",
                                     defaults=defaults)
    results.render_info(ctx)
    pairs = gr.State([])
    tab = VariantTab(kind=kind, presets=presets, photos=photos, preset=preset, prompt=prompt, strength=strength,
                     advanced=advanced, buttons=buttons, results=results, compare=compare, pairs=pairs,
                     extra=extra, side=side_parts)

    def show_pair(pairs: list[tuple[str, str]], event: gr.SelectData) -> Any:
        index = event.index if isinstance(event.index, int) else -1
        return tuple(pairs[index]) if 0 <= index < len(pairs) else gr.skip()

    results.gallery.select(show_pair, pairs, compare, queue=False, show_progress="hidden", api_visibility="private")
    return tab


def wire_preset(tab: VariantTab, extra: Sequence[tuple[Any, Callable[[Preset], Any]]] = ()) -> None:
    """Choosing a preset fills the fields; ``extra`` adds (component, value of a preset) pairs."""
    a = tab.advanced

    def fill(name: str) -> list[Any]:
        preset = tab.presets.get(name)
        if preset is None:
            return [gr.skip()] * (9 + len(extra))
        return [preset.full_prompt, preset.negative_prompt, preset.strength, preset.steps,
                common.quality_name(preset.steps), preset.sampler, preset.schedule_type, preset.cfg_scale,
                preset.clip_skip, *(value(preset) for _, value in extra)]

    outputs = [tab.prompt, a.negative, tab.strength, a.steps, a.quality, a.sampler, a.schedule, a.cfg, a.clip_skip,
               *(component for component, _ in extra)]
    tab.preset.input(fill, tab.preset, outputs, queue=False, show_progress="hidden", api_visibility="private")


def photo_requests(ctx: AppContext, request: gr.Request, photos: Sequence[Any] | None, *, mode: str, prompt: str,
                   negative_prompt: str, strength: float, steps: float, sampler: str, schedule_type: str,
                   cfg_scale: float, seed: float, variants: float, clip_skip: float,
                   **extra: Any) -> tuple[list[str], list[GenerationRequest]]:
    """(input paths, one request per input photo at the photo's own size).

    Every photo gets ``variants`` images; seeds run on across photos so each image of the run
    has its own seed, as in a batch.
    """
    loaded = common.load_photos(ctx, photos, request)
    requests: list[GenerationRequest] = []
    for index, (_, image) in enumerate(loaded):
        greq = GenerationRequest(
            mode=mode, prompt=prompt or "", negative_prompt=negative_prompt or "", denoising_strength=strength,
            steps=common.whole(steps), sampler=sampler, schedule_type=schedule_type, cfg_scale=cfg_scale,
            seed=common.whole(seed), width=image.width, height=image.height, batch_size=common.whole(variants),
            init_images=[image], clip_skip=common.whole(clip_skip), **extra,
        )
        greq.validate()
        greq.seed = requests[0].seed if requests else greq.resolve_seed()
        start = greq.seed + index * greq.n_images
        greq.seeds = [(start + k) % (MAX_SEED + 1) for k in range(greq.n_images)]
        requests.append(greq)
    return [str(item[0] if isinstance(item, tuple | list) else item) for item in photos or []], requests


def finish(ctx: AppContext, request: gr.Request, inputs: list[str], output: common.RunOutput) -> tuple[Any, ...]:
    """Values of :attr:`VariantTab.outputs` for a finished run (first pair shown in the slider)."""
    pairs = [(inputs[source], str(path)) for source, path in zip(output.sources, output.paths, strict=True)]
    compare = pairs[0] if pairs else None
    return (*common.Results.values(ctx, ctx.lang(request), output), compare, pairs, output.last_seed)
