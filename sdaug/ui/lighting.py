"""Lighting tab (ControlNet): input photos, a lighting preset, control type and weight, the
control image shown, a before/after slider. API endpoints: ``/lighting`` and
``/control_preview`` (the control image of one photo, without a model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from sdaug.augment.presets import Preset
from sdaug.ui import common, variants
from sdaug.ui.context import AppContext

TAB_ID = "lighting"
CONTROL_NAMES: dict[str, tuple[str, str]] = {
    "canny": ("Edges (canny)", "边缘（Canny）"),
    "depth": ("Depth", "深度"),
    "lineart": ("Line art", "线稿"),
    "softedge": ("Soft edges", "柔和边缘"),
    "none": ("None (input as control)", "无（直接用输入图）"),
}


@dataclass
class LightingControls:
    control_type: gr.Dropdown
    control_weight: gr.Slider


@dataclass
class ControlView:
    control_image: gr.Image
    preview: gr.Button


def control_types(ctx: AppContext) -> dict[str, str | None]:
    """Control type -> ``None`` if usable here, else why not; labels registered as translations."""
    from sdaug.engine.control import available_control_types

    types = available_control_types()
    table = {}
    for name, reason in types.items():
        en, zh = CONTROL_NAMES.get(name, (name, name))
        if reason:
            en = ctx.tr("light.unavailable", "en", name=en, reason=reason)
            zh = ctx.tr("light.unavailable", "zh", name=zh, reason=reason)
        table[f"control.{name}"] = (en, zh)
    ctx.add_translations(table)
    return types


def control_of(preset: Preset) -> str:
    """The control type of a lighting preset ("" in the file means the photo itself: "none")."""
    return preset.control_type or "none"


def build(ctx: AppContext) -> variants.VariantTab:
    """Build the tab inside the current ``gr.Tab``."""
    types = control_types(ctx)

    def controls(first: Preset | None) -> LightingControls:
        with gr.Row():
            control_type = gr.Dropdown([(ctx.label(f"control.{name}"), name) for name in types],
                                       value=control_of(first) if first else "canny",
                                       label=ctx.label("light.control_type"),
                                       info=ctx.label("light.control_type.info"))
            control_weight = gr.Slider(0.0, 2.0, value=first.control_weight if first else 1.0, step=0.05, label=ctx.label("light.control_weight"),
                                       info=ctx.label("light.control_weight.info"))
        return LightingControls(control_type, control_weight)

    def side() -> ControlView:
        control_image = gr.Image(label=ctx.label("light.control_image"), type="pil", format="png",
                                 interactive=False, height=260)
        preview = gr.Button(ctx.label("light.preview"), size="sm")
        return ControlView(control_image, preview)

    tab = variants.build_variant_tab(ctx, "lighting", controls, side)
    c: LightingControls = tab.extra
    view: ControlView = tab.side
    variants.wire_preset(tab, [(c.control_type, control_of), (c.control_weight, lambda p: p.control_weight)])

    def check_type(control_type: str, request: gr.Request) -> None:
        if types.get(control_type):
            raise ctx.user_error("error.control_unavailable", request, name=control_type, reason=types[control_type])

    @ctx.handle_errors
    def lighting(photos: list[Any] | None, prompt: str, negative_prompt: str, strength: float, steps: float,
                 sampler: str, schedule_type: str, cfg_scale: float, seed: float, variants_per_photo: float,
                 clip_skip: float, control_type: str, control_weight: float, protect: bool, box_strength: float,
                 box_feather: float, project: str | None, request: gr.Request,
                 progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
        check_type(control_type, request)
        inputs, requests = variants.photo_requests(
            ctx, request, photos, mode="controlnet", prompt=prompt, negative_prompt=negative_prompt,
            strength=strength, steps=steps, sampler=sampler, schedule_type=schedule_type, cfg_scale=cfg_scale,
            seed=seed, variants=variants_per_photo, clip_skip=clip_skip, control_type=control_type,
            control_weight=control_weight, region=variants.region_choice(protect, box_strength, box_feather, project),
        )
        output = common.run_requests(ctx, requests, tab=TAB_ID, request=request, progress=progress)
        control = output.control_images[0] if output.control_images else None
        return (*variants.finish(ctx, request, inputs, output), control)

    @ctx.handle_errors
    def control_preview(photos: list[Any] | None, control_type: str, request: gr.Request) -> Image.Image:
        from sdaug.engine.control import make_control_image

        check_type(control_type, request)
        _, image = common.load_photos(ctx, photos, request)[0]
        return make_control_image(image, control_type)

    inputs = [*tab.base_inputs(), c.control_type, c.control_weight, *tab.region_inputs()]
    tab.extra_fields = {"control_type": c.control_type, "control_weight": c.control_weight}
    common.wire_run(ctx, tab.buttons, lighting, inputs, [*tab.outputs, view.control_image], api_name="lighting")
    view.preview.click(control_preview, [tab.photos, c.control_type], view.control_image,
                       api_name="control_preview", **ctx.gpu_event)
    return tab
