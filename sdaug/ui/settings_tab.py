"""Settings tab: model (local files or a hub id), LoRA list with insert-into-prompt, memory mode
and report, the data folders, and the interface language.

The model and LoRA lists are read from the data folder each time the tab is opened (no torch
needed); a new memory mode takes effect with a fresh pipeline manager at the next run. The language choice is stored in the browser and applied
by the page script of :mod:`sdaug.ui.app` (the page reloads in the new language).

Model and memory mode are server-wide: they change for every user. So they can be changed here
only when the app serves this computer alone (no ``--listen`` / ``--share``); otherwise they are
shown read-only, and their events do not exist on the server at all. A LoRA pick only edits the
user's own prompt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from sdaug.engine import sources
from sdaug.settings import MEMORY_MODES
from sdaug.ui.context import AppContext

LANG_CHOICES = (("lang.auto", "auto"), ("lang.en", "en"), ("lang.zh", "zh-CN"))
SET_LANG_JS = "(lang) => { if (window.sdaugSetLang) { window.sdaugSetLang(lang); } return lang; }"
GET_LANG_JS = "() => localStorage.getItem('sdaug-lang') || 'auto'"

STRINGS: dict[str, tuple[str, str]] = {
    "set.locked": ("Model and memory mode are set by whoever started the server (`--model`, "
                   "`SDAUG_MEMORY_MODE`); they cannot be changed from a browser over the network.",
                   "模型和显存模式由启动服务器的人设置（`--model`、`SDAUG_MEMORY_MODE`），"
                   "不能通过网络从浏览器更改。"),
}


def header_text(ctx: AppContext, lang_or_request: str | gr.Request | None, project: str = "") -> str:
    """The line at the top of the page: model (with the tiny warning) and the user's project."""
    lines = [ctx.tr("app.model_note", lang_or_request, model=f"`{ctx.model}`")]
    if project:
        lines.append(ctx.tr("app.project_note", lang_or_request, project=f"**{project}**"))
    if ctx.is_tiny:
        lines.insert(0, ctx.tr("app.tiny_note", lang_or_request))
    return "  \n".join(lines)


def build(ctx: AppContext, header: gr.Markdown, prompt: gr.Textbox, settings_tab: gr.Tab,
          demo: gr.Blocks, annotate_state: gr.State) -> None:
    """Build the tab inside ``settings_tab``; ``prompt`` is the Generate prompt (LoRA insert),
    ``annotate_state`` the session's open project (for the header line)."""
    ctx.add_translations(STRINGS)
    with gr.Row():
        with gr.Column():
            gr.Markdown(ctx.label("set.locked"), visible=not ctx.local)
            model = gr.Dropdown([ctx.model], value=ctx.model, allow_custom_value=ctx.local, interactive=ctx.local,
                                label=ctx.label("set.model"), info=ctx.label("set.model.info"))
            hub_id = gr.Textbox(label=ctx.label("set.hub_id"), placeholder=ctx.label("set.hub_id.placeholder"),
                                visible=ctx.local)
            with gr.Row():
                use_model = gr.Button(ctx.label("set.use_model"), variant="primary", visible=ctx.local)
                refresh = gr.Button(ctx.label("set.refresh"))
            model_note = gr.Markdown()
        with gr.Column():
            lora = gr.Dropdown([], label=ctx.label("set.loras"))
            lora_weight = gr.Slider(-2.0, 2.0, value=1.0, step=0.05, label=ctx.label("set.lora_weight"))
            insert = gr.Button(ctx.label("set.insert_lora"))
            lora_note = gr.Markdown()
    with gr.Row():
        with gr.Column():
            memory_mode = gr.Dropdown([(ctx.label(f"mem.{m}"), m) for m in MEMORY_MODES],
                                      value=ctx.settings.memory_mode, label=ctx.label("set.memory_mode"),
                                      interactive=ctx.local,
                                      info=ctx.label("set.memory_mode.info"))
            show_memory = gr.Button(ctx.label("set.show_memory"))
            memory = gr.Markdown()
        with gr.Column():
            language = gr.Radio([(ctx.label(key), value) for key, value in LANG_CHOICES], value="auto",
                                label=ctx.label("set.language"))
            folders = gr.Markdown(visible=ctx.local)

    def lists(request: gr.Request) -> tuple[Any, ...]:
        if not ctx.local:
            return gr.skip(), gr.Dropdown(choices=sources.local_loras(ctx.settings)), gr.skip()
        local = [*sources.local_models(ctx.settings), sources.TINY, ctx.settings.default_model]
        choices = list(dict.fromkeys([ctx.model, *local]))
        return (gr.Dropdown(choices=choices, value=ctx.model), gr.Dropdown(choices=sources.local_loras(ctx.settings)),
                _folders_text(ctx, request))

    @ctx.handle_errors
    def choose_model(picked: str, typed: str, ann: Any, request: gr.Request) -> tuple[str, str]:
        name = (typed or picked or "").strip()
        if not name:
            raise ctx.user_error("error.empty_model", request)
        sources.resolve_model(name, ctx.settings)
        ctx.model = name
        project = Path(ann.folder).name if ann.folder else ""
        return ctx.tr("set.model_set", request, model=f"`{name}`"), header_text(ctx, request, project=project)

    def refreshed(request: gr.Request) -> str:
        """The result line of Refresh (it takes a second or more on a big models folder)."""
        return ctx.tr("set.refreshed", request, models=len(sources.local_models(ctx.settings)),
                      loras=len(sources.local_loras(ctx.settings)))

    def insert_lora(name: str | None, weight: float, text: str, request: gr.Request) -> tuple[Any, str]:
        if not name:
            return gr.skip(), ctx.tr("set.no_lora", request, folder=f"`{ctx.settings.loras_dir}`")
        tag = f"<lora:{name}:{weight:g}>"
        joined = f"{text.rstrip().rstrip(',')}, {tag}" if text.strip() else tag
        return joined, ctx.tr("set.lora_inserted", request, tag=f"`{tag}`")

    def set_memory_mode(mode: str, request: gr.Request) -> str:
        ctx.settings.memory_mode = mode
        ctx.reset_manager()
        return ctx.tr("set.memory_set", request, mode=ctx.tr(f"mem.{mode}", request))

    quiet: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}
    settings_tab.select(lists, None, [model, lora, folders], **quiet)
    refresh.click(lists, None, [model, lora, folders], **quiet).then(refreshed, None, model_note, **quiet)
    if ctx.local:  # server-wide settings: no such endpoint on a --listen / --share server
        use_model.click(choose_model, [model, hub_id, annotate_state], [model_note, header], api_name="set_model")
        memory_mode.input(set_memory_mode, memory_mode, memory, api_name="set_memory_mode", **ctx.gpu_event)
    insert.click(insert_lora, [lora, lora_weight, prompt], [prompt, lora_note], queue=False, **quiet)
    show_memory.click(lambda: ctx.manager.memory_report(), None, memory, **quiet)
    language.input(None, language, None, js=SET_LANG_JS, queue=False, **quiet)
    demo.load(None, None, language, js=GET_LANG_JS, queue=False, **quiet)


def _folders_text(ctx: AppContext, request: gr.Request) -> str:
    s = ctx.settings
    return ctx.tr("set.folders.text", request, home=s.home, models=s.models_dir, loras=s.loras_dir,
                  outputs=s.outputs_dir)
