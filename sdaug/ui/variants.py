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
from sdaug.engine.region import MAX_FEATHER
from sdaug.engine.request import MAX_SEED, GenerationRequest
from sdaug.errors import text_of
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
    target: Any = None  # the "add to project" section (:class:`ProjectTarget`)
    protect: Any = None  # region-aware strength: on/off, strength inside the boxes, soft edge
    box_strength: Any = None
    box_feather: Any = None

    def fields(self) -> dict[str, Any]:
        """GenerationRequest field name -> component, for PNG Info's "Send to"."""
        return {"prompt": self.prompt, "denoising_strength": self.strength, **self.advanced.fields(),
                **self.extra_fields}

    def base_inputs(self) -> list[Any]:
        """Inputs every variant endpoint takes, in the order of :func:`photo_requests`'s fields."""
        a = self.advanced
        return [self.photos, self.prompt, a.negative, self.strength, a.steps, a.sampler, a.schedule, a.cfg, a.seed,
                a.batch_size, a.clip_skip]

    def region_inputs(self) -> list[Any]:
        """Inputs of the region-aware strength, after the tab's own: see :func:`photo_requests`."""
        return [self.protect, self.box_strength, self.box_feather, self.target.project]

    @property
    def outputs(self) -> list[Any]:
        return [*self.results.outputs, self.compare, self.pairs, self.advanced.last_seed]


DEFAULT_BOX_STRENGTH = 0.1  # inside the boxes, when a preset gives none


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
    ctx.add_translations(STRINGS)
    presets, problems = load_tab_presets(ctx, kind)
    first = next(iter(presets.values()), None)
    defaults = first.to_request() if first else GenerationRequest()
    for number, problem in enumerate(problems):  # a preset file that could not be read, in the page's language
        key = f"preset.{kind}.problem.{number}"
        ctx.add_translations({key: (f"⚠ {text_of(problem, 'en')}", f"⚠ {text_of(problem, 'zh')}")})
        gr.Markdown(ctx.label(key))
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
            with gr.Accordion(ctx.label("aug.protect.title"), open=False):
                protect = gr.Checkbox(value=bool(first and first.region), label=ctx.label("aug.protect"),
                                      info=ctx.label("aug.protect.info"))
                with gr.Row():
                    box_strength = gr.Slider(0.0, 1.0, step=0.01, label=ctx.label("aug.box_strength"),
                                             value=first.box_strength if first and first.region else DEFAULT_BOX_STRENGTH)
                    box_feather = gr.Slider(0, MAX_FEATHER, step=1, label=ctx.label("aug.box_feather"),
                                            value=first.box_feather if first else 32)
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
                     extra=extra, side=side_parts, protect=protect, box_strength=box_strength,
                     box_feather=box_feather)

    def show_pair(pairs: list[tuple[str, str]], event: gr.SelectData) -> Any:
        index = event.index if isinstance(event.index, int) else -1
        return tuple(pairs[index]) if 0 <= index < len(pairs) else gr.skip()

    results.gallery.select(show_pair, pairs, compare, queue=False, show_progress="hidden", api_visibility="private")
    with gr.Accordion(ctx.label("aug.to_project"), open=True):
        tab.target = build_project_target(ctx, tab)
    return tab


# Variants -> a project ------------------------------------------------------------------------
STRINGS: dict[str, tuple[str, str]] = {
    "aug.protect.title": ("Protect the labelled boxes", "保护已标注的框"),
    "aug.protect": ("Change the boxes less than the background", "框内比背景少改动"),
    "aug.protect.info": ("For photos of a project (choose it under \"Add to a project\"): each labelled box gets "
                         "the strength below, the rest of the photo the change strength above.",
                         "用于项目里的照片（在“加入项目”中选择项目）：每个标注框使用下面的幅度，其余部分使用上面的重绘幅度。"),
    "aug.box_strength": ("Strength inside the boxes", "框内重绘幅度"),
    "aug.box_feather": ("Soft edge around the boxes (pixels)", "框边缘的渐变宽度（像素）"),
    "aug.protect.no_project": ("To protect the boxes, choose the project the photos come from under \"Add to a "
                               "project\".", "要保护框，请在“加入项目”中选择这些照片所属的项目。"),
    "aug.to_project": ("Add to a project", "加入项目"),
    "aug.to_project.help": (
        "Use photos of a project (their boxes are carried to the variants and checked for drift, as in a job), "
        "or your own photos (a photo the project holds is recognised; others are added without boxes).",
        "使用项目中的照片（它们的框会带到变体上并做偏移检查，和任务一样），或使用自己的照片"
        "（项目中已有的照片会被识别；其他照片会作为无框的新图片加入）。"),
    "aug.project": ("Project", "项目"),
    "aug.load_photos": ("Use this project's labelled photos as inputs", "用该项目已标注的照片作为输入"),
    "aug.add_variants": ("Add these variants to the project", "把这些变体加入项目"),
    "aug.loaded": ("{count} labelled photo(s) of {project} loaded as inputs.", "已载入 {project} 的 {count} 张已标注照片作为输入。"),
    "aug.no_labelled": ("{project} has no labelled photos yet: draw boxes in Annotate first.",
                        "{project} 还没有已标注的照片：请先在“标注”中画框。"),
    "aug.added": ("Added {added} variant(s) to {project}: {passed} kept their boxes, {review} wait in the review "
                  "queue; {new} photo(s) were new to the project (added without boxes).",
                  "已向 {project} 加入 {added} 个变体：{passed} 个保留了框，{review} 个进入审核队列；"
                  "{new} 张照片是项目中没有的（已作为无框图片加入）。"),
    "aug.skipped": ("Not added: {items}", "未加入：{items}"),
    "aug.no_project": ("Choose a project first (create one in the Projects tab).", "请先选择项目（在“项目”页新建）。"),
    "aug.no_variants": ("There are no variants to add yet: press Generate first.", "还没有可加入的变体：请先点“生成”。"),
}
MAX_PROJECT_PHOTOS = 16


@dataclass
class ProjectTarget:
    """The "add to project" section of a Weather / Lighting tab."""

    project: gr.Dropdown
    load: gr.Button
    add: gr.Button
    report: gr.Markdown


def build_project_target(ctx: AppContext, tab: VariantTab) -> ProjectTarget:
    """Pick a project, load its labelled photos as inputs, and add the variants of the last run
    to it (see :mod:`sdaug.augment.attach`)."""
    label = ctx.label
    default = ctx.projects.name_of(ctx.project) if ctx.project else None
    gr.Markdown(label("aug.to_project.help"), elem_classes="sdaug-keys")
    with gr.Row(equal_height=True):
        project = gr.Dropdown([default] if default else [], value=default, label=label("aug.project"),
                              allow_custom_value=False, scale=2)
        load = gr.Button(label("aug.load_photos"), size="sm", scale=2)
        add = gr.Button(label("aug.add_variants"), size="sm", variant="primary", scale=2)
    report = gr.Markdown()
    quiet = {"show_progress": "hidden", "api_visibility": "undocumented"}

    def on_project_focus(current: str | None) -> Any:
        names = ctx.projects.names()
        return gr.update(choices=names, value=current if current in names else (names[0] if names else None))

    project.focus(on_project_focus, project, project, queue=False, **quiet)

    def chosen(name: str | None, request: gr.Request) -> Any:
        if not name:
            raise ctx.user_error("aug.no_project", request)
        return ctx.projects.open(name)

    @ctx.handle_errors
    def on_load_photos(name: str | None, request: gr.Request) -> tuple[Any, str]:
        from sdaug.augment.jobs import DEFAULT_SOURCE_STATUSES
        from sdaug.dataset.store import ImageFilter
        from sdaug.ui.annotate import viewable

        opened = chosen(name, request)
        ids = opened.image_ids(ImageFilter(status=DEFAULT_SOURCE_STATUSES, kind="source"))[:MAX_PROJECT_PHOTOS]
        if not ids:
            return gr.skip(), ctx.tr("aug.no_labelled", request, project=name)
        photos = [viewable(ctx, opened.image_path(i)) for i in ids]
        return photos, ctx.tr("aug.loaded", request, count=len(photos), project=name)

    load.click(on_load_photos, project, [tab.photos, report], api_visibility="undocumented")

    @ctx.handle_errors
    def on_add_variants(name: str | None, pairs: list[tuple[str, str]], preset_name: str | None,
               request: gr.Request) -> str:
        from sdaug.augment.attach import add_variants_to_project
        from sdaug.augment.presets import DriftThresholds

        opened = chosen(name, request)
        if not pairs:
            raise ctx.user_error("aug.no_variants", request)
        preset = tab.presets.get(preset_name or "")
        done = add_variants_to_project(opened, pairs, preset=preset.name if preset else tab.kind,
                                       thresholds=preset.drift if preset else DriftThresholds())
        text = ctx.tr("aug.added", request, added=done.added, project=name, passed=done.added - done.review,
                      review=done.review, new=done.new_sources)
        if done.skipped:
            text += "\n\n" + ctx.tr("aug.skipped", request, items="; ".join(done.skipped[:5]))
        return text

    add.click(on_add_variants, [project, tab.pairs, tab.preset], report, api_visibility="undocumented")
    return ProjectTarget(project=project, load=load, add=add, report=report)


def wire_preset(tab: VariantTab, extra: Sequence[tuple[Any, Callable[[Preset], Any]]] = ()) -> None:
    """Choosing a preset fills the fields; ``extra`` adds (component, value of a preset) pairs."""
    a = tab.advanced

    def fill(name: str) -> list[Any]:
        preset = tab.presets.get(name)
        if preset is None:
            return [gr.skip()] * (12 + len(extra))
        region = preset.region
        return [preset.full_prompt, preset.negative_prompt, preset.strength, preset.steps,
                common.quality_name(preset.steps), preset.sampler, preset.schedule_type, preset.cfg_scale,
                preset.clip_skip, region is not None, region.box_strength if region else DEFAULT_BOX_STRENGTH,
                preset.box_feather, *(value(preset) for _, value in extra)]

    outputs = [tab.prompt, a.negative, tab.strength, a.steps, a.quality, a.sampler, a.schedule, a.cfg, a.clip_skip,
               tab.protect, tab.box_strength, tab.box_feather, *(component for component, _ in extra)]
    tab.preset.input(fill, tab.preset, outputs, queue=False, show_progress="hidden", api_visibility="private")


def photo_requests(ctx: AppContext, request: gr.Request, photos: Sequence[Any] | None, *, mode: str, prompt: str,
                   negative_prompt: str, strength: float, steps: float, sampler: str, schedule_type: str,
                   cfg_scale: float, seed: float, variants: float, clip_skip: float,
                   region: RegionChoice | None = None, **extra: Any) -> tuple[list[str], list[GenerationRequest]]:
    """(input paths, one request per input photo at the photo's own size).

    Every photo gets ``variants`` images; seeds run on across photos so each image of the run
    has its own seed, as in a batch. With ``region`` on, a photo the chosen project holds gets
    the region-aware strength over its labelled boxes (:mod:`sdaug.engine.region`).
    """
    loaded = common.load_photos(ctx, photos, request)
    paths = [str(item[0] if isinstance(item, tuple | list) else item) for item in photos or []]
    boxes = region_boxes(ctx, request, region, paths)
    requests: list[GenerationRequest] = []
    for index, (_, image) in enumerate(loaded):
        if boxes[index]:
            extra.update(box_strength=region.box_strength, background_strength=strength,  # type: ignore[union-attr]
                         box_feather=region.feather, region_boxes=[boxes[index]])  # type: ignore[union-attr]
        else:
            extra.update(box_strength=None, background_strength=None, region_boxes=[])
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
    return paths, requests


@dataclass(frozen=True)
class RegionChoice:
    """The tab's "protect the labelled boxes" settings and the project the photos come from."""

    box_strength: float
    feather: int
    project: str


def region_choice(protect: bool, box_strength: float, feather: float, project: str | None) -> RegionChoice | None:
    return RegionChoice(float(box_strength), common.whole(feather), project or "") if protect else None


def region_boxes(ctx: AppContext, request: gr.Request, region: RegionChoice | None,
                 paths: Sequence[str]) -> list[list[tuple[float, float, float, float]]]:
    """The labelled boxes of each photo in the chosen project ([] for a photo it does not hold)."""
    if region is None:
        return [[] for _ in paths]
    if not region.project:
        raise ctx.user_error("aug.protect.no_project", request)
    from sdaug.augment.attach import boxes_of_photo

    project = ctx.projects.open(region.project)
    return [boxes_of_photo(project, path) for path in paths]


def finish(ctx: AppContext, request: gr.Request, inputs: list[str], output: common.RunOutput) -> tuple[Any, ...]:
    """Values of :attr:`VariantTab.outputs` for a finished run (first pair shown in the slider)."""
    pairs = [(inputs[source], str(path)) for source, path in zip(output.sources, output.paths, strict=True)]
    compare = pairs[0] if pairs else None
    return (*common.Results.values(ctx, ctx.lang(request), output), compare, pairs, output.last_seed)
