"""Weather tab (img2img): input photos, a weather preset, change strength and a before/after
slider. API endpoint: ``/weather``."""

from __future__ import annotations

from typing import Any

import gradio as gr

from sdaug.ui import common, variants
from sdaug.ui.context import AppContext

TAB_ID = "weather"


def build(ctx: AppContext) -> variants.VariantTab:
    """Build the tab inside the current ``gr.Tab``."""
    tab = variants.build_variant_tab(ctx, "weather")
    variants.wire_preset(tab)

    @ctx.handle_errors
    def weather(photos: list[Any] | None, prompt: str, negative_prompt: str, strength: float, steps: float,
                sampler: str, schedule_type: str, cfg_scale: float, seed: float, variants_per_photo: float,
                clip_skip: float, protect: bool, box_strength: float, box_feather: float, project: str | None,
                request: gr.Request, progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
        inputs, requests = variants.photo_requests(
            ctx, request, photos, mode="img2img", prompt=prompt, negative_prompt=negative_prompt, strength=strength,
            steps=steps, sampler=sampler, schedule_type=schedule_type, cfg_scale=cfg_scale, seed=seed,
            variants=variants_per_photo, clip_skip=clip_skip,
            region=variants.region_choice(protect, box_strength, box_feather, project),
        )
        output = common.run_requests(ctx, requests, tab=TAB_ID, request=request, progress=progress)
        return variants.finish(ctx, request, inputs, output)

    common.wire_run(ctx, tab.buttons, weather, [*tab.base_inputs(), *tab.region_inputs()], tab.outputs,
                    api_name="weather")
    return tab
