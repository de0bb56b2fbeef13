"""PNG Info tab: drop an image (or paste its parameters) to read how it was made, then "Send to
Generate / Weather / Lighting" fills every field of that tab and switches to it.

The parameters are read by :func:`sdaug.engine.infotext_request.infotext_fields`, as the CLI reads
them: the image's model is selected when it is here (by name or hash), LoRAs found under another
name are renamed in the prompt, and what cannot be matched is said in the note. The A1111
compatibility flags that the image's ``Version`` implies (``Downcast alphas_cumprod: True`` for
A1111 v1.6) are listed with the parameters, named in the note, and ticked in Generate's
Advanced settings together with the random number source.

API endpoints: ``/pnginfo`` (image -> infotext, parameters, note) and ``/send_to_generate``,
``/send_to_weather``, ``/send_to_lighting`` (infotext -> the tab's field values).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from sdaug.engine.control import CONTROL_TYPES
from sdaug.engine.infotext_request import infotext_fields
from sdaug.prompts import parse_infotext, read_infotext
from sdaug.prompts.compat import COMPAT_FLAGS, is_on
from sdaug.ui import common
from sdaug.ui.context import AppContext


@dataclass
class Target:
    """A tab that PNG Info can fill."""

    tab_id: str
    label_key: str
    fields: Mapping[str, Any]  # GenerationRequest field name -> component
    advanced: common.Advanced


def build(ctx: AppContext, tabs: gr.Tabs, targets: list[Target]) -> None:
    """Build the tab inside the current ``gr.Tab``; ``tabs`` is switched to the filled tab."""
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ctx.label("png.image"), type="filepath", image_mode=None,
                             sources=["upload", "clipboard"], height=360)
        with gr.Column():
            text = gr.Textbox(label=ctx.label("png.text"), lines=8, buttons=["copy"])
            with gr.Row():
                send_buttons = [gr.Button(ctx.label(f"png.send_{t.tab_id}"), variant="secondary") for t in targets]
            note = gr.Markdown()
            params = gr.JSON(label=ctx.label("png.fields"), open=True)

    @ctx.handle_errors
    def pnginfo(path: str | None, request: gr.Request) -> tuple[str, dict[str, str], str]:
        if not path:
            return "", {}, ""
        infotext = read_infotext(path)
        if not infotext:
            return "", {}, ctx.tr("png.none", request)
        params = parse_infotext(infotext)
        return infotext, params, compat_note(ctx, params, request)

    def parse(infotext: str) -> dict[str, str]:
        return parse_infotext(infotext) if infotext.strip() else {}

    image.change(pnginfo, image, [text, params, note], api_name="pnginfo")
    text.input(parse, text, params, queue=False, show_progress="hidden", api_visibility="private")
    for target, button in zip(targets, send_buttons, strict=True):
        _wire_send(ctx, tabs, target, button, text, note)


def _wire_send(ctx: AppContext, tabs: gr.Tabs, target: Target, button: gr.Button, text: gr.Textbox,
               note: gr.Markdown) -> None:
    names = list(target.fields)
    a = target.advanced
    size = [a.size] if a.size is not None else []

    @ctx.handle_errors
    def send(infotext: str, request: gr.Request) -> list[Any]:
        if not infotext.strip():
            raise ctx.user_error("error.no_parameters", request)
        fields, warnings = infotext_fields(infotext, ctx.settings, fallback_model=ctx.model)
        fields.update(_controlnet_fields(fields.pop("extra_params")))
        values = [fields.get(name, gr.skip()) for name in names]
        quality = common.quality_name(fields["steps"]) if "steps" in fields else gr.skip()
        sizes = [common.size_name(fields["width"], fields["height"])] if size and "width" in fields else [gr.skip()] * len(size)
        notes = [ctx.tr("png.sent", request, tab=ctx.tr(target.label_key, request))]
        model = str(fields.get("model", ctx.model))
        if model not in (ctx.model, Path(ctx.model).stem):
            ctx.model = model
            notes.append(ctx.tr("png.model_selected", request, model=model))
        notes.extend(warnings)
        if "compat" in target.fields:
            notes.append(compat_note(ctx, parse_infotext(infotext), request))
        return [*values, quality, *sizes, gr.Tabs(selected=target.tab_id), "  \n".join(n for n in notes if n)]

    button.click(send, text, [*(target.fields[n] for n in names), a.quality, *size, tabs, note],
                 api_name=f"send_to_{target.tab_id}", queue=False)


def compat_note(ctx: AppContext, params: Mapping[str, str], request: gr.Request) -> str:
    """A line naming the A1111 compatibility flags the parameters turn on ("" when none)."""
    flags = [flag for flag in COMPAT_FLAGS if flag in params and is_on(params[flag])]
    return ctx.tr("png.compat", request, flags=", ".join(flags)) if flags else ""


def _controlnet_fields(extras: Mapping[str, str]) -> dict[str, object]:
    """Control type and weight from A1111's ``ControlNet 0`` unit ("Module: canny, Weight: 0.8, ...")."""
    unit = dict(part.split(":", 1) for part in extras.get("ControlNet 0", "").split(",") if ":" in part)
    unit = {key.strip(): value.strip() for key, value in unit.items()}
    fields: dict[str, object] = {}
    if unit.get("Module") in CONTROL_TYPES:
        fields["control_type"] = unit["Module"]
    with contextlib.suppress(KeyError, ValueError):
        fields["control_weight"] = float(unit["Weight"])
    return fields

