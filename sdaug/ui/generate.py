"""Generate tab (txt2img): a prompt box, one big Generate/Stop button, the result gallery and
the "Advanced settings" accordion. API endpoint: ``/txt2img``; ``/stop`` stops the caller's run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from sdaug.engine.request import GenerationRequest
from sdaug.ui import common
from sdaug.ui.context import AppContext

TAB_ID = "generate"
# The tiny test model makes noise at any size: start small so the first click answers at once.
TINY_DEFAULTS = GenerationRequest(width=64, height=64, steps=10)


@dataclass
class GenerateTab:
    prompt: gr.Textbox
    advanced: common.Advanced
    results: common.Results

    def fields(self) -> dict[str, Any]:
        """GenerationRequest field name -> component, for PNG Info's "Send to Generate"."""
        return {"prompt": self.prompt, **self.advanced.fields()}


def build(ctx: AppContext) -> GenerateTab:
    """Build the tab inside the current ``gr.Tab``."""
    results = common.build_results(ctx)
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(label=ctx.label("prompt.label"), placeholder=ctx.label("prompt.placeholder"), lines=3,
                            scale=5, elem_id="sdaug-generate-prompt")
        with gr.Column(scale=1, min_width=160):
            buttons = common.build_run_buttons(ctx)
    advanced = common.build_advanced(ctx, defaults=TINY_DEFAULTS if ctx.is_tiny else GenerationRequest(),
                                     reproduce=True)
    results.render_info(ctx)
    a = advanced

    @ctx.handle_errors
    def txt2img(prompt: str, negative_prompt: str, steps: float, sampler: str, schedule_type: str,
                cfg_scale: float, seed: float, width: float, height: float, batch_size: float,
                batch_count: float, clip_skip: float, rng: str | None, compat: list[str] | None, request: gr.Request,
                progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
        greq = GenerationRequest(
            mode="txt2img", prompt=prompt or "", negative_prompt=negative_prompt or "", steps=common.whole(steps),
            sampler=sampler, schedule_type=schedule_type, cfg_scale=cfg_scale, seed=common.whole(seed),
            width=common.whole(width), height=common.whole(height), batch_size=common.whole(batch_size),
            batch_count=common.whole(batch_count), clip_skip=common.whole(clip_skip), rng=rng or "",
            compat=list(compat or []),
        )
        output = common.run_requests(ctx, [greq], tab=TAB_ID, request=request, progress=progress)
        return (*common.Results.values(ctx, ctx.lang(request), output), output.last_seed)

    inputs = [prompt, a.negative, a.steps, a.sampler, a.schedule, a.cfg, a.seed, a.width, a.height, a.batch_size,
              a.batch_count, a.clip_skip, a.rng, a.compat]
    common.wire_run(ctx, buttons, txt2img, inputs, [*results.outputs, a.last_seed], api_name="txt2img",
                    stop_api_name="stop")
    return GenerateTab(prompt=prompt, advanced=advanced, results=results)
