"""The page: a header line and the tabs Generate, Weather, Lighting, Projects, Annotate, Dataset,
PNG Info and Settings. :func:`build_app` makes the ``gr.Blocks``; :func:`page_options` the
``launch()`` options that style and translate it (gradio 6 takes those at launch).

Language: gradio translates static text by ``navigator.language`` once, while it reads the page
config, before any ``head`` script of the app runs. So :class:`PageScriptMiddleware` puts a small
script at the top of the HTML page that reports the locale chosen in Settings (kept in
``localStorage``) or forced by ``--lang`` as ``navigator.language``, and stores the locale in the
``sdaug_lang`` cookie for text made in Python. Choosing a language in Settings reloads the page.
Written as a raw ASGI middleware (not starlette's ``BaseHTTPMiddleware``) so that only HTML
responses are buffered; the event streams pass through untouched. gradio's own language picker
(footer "Settings") is left out of the footer, so there is one language choice.

Per user, in the browser (``gr.BrowserState``): the open project and the open tab, so a reload
or a language switch comes back to them. The same script stops a file dropped on the annotator
canvas from being shown there as if it were a project image (photos come in through the
Projects tab).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import gradio as gr
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdaug.resources import package_path
from sdaug.ui import (
    annotate,
    dataset_tab,
    generate,
    i18n,
    lighting,
    pnginfo,
    projects_tab,
    settings_tab,
    weather,
)
from sdaug.ui.context import AppContext

CSS_PATH = package_path("assets", "style.css")
LANG_STORAGE_KEY = "sdaug-lang"
STATE_STORAGE_KEY = "sdaug-state"
NO_DROP_SELECTOR = "#sdaug-annotator"
# Remember the tab: runs in the browser only (no request to the server). Not before the page has
# restored the saved tab: gradio selects the first tab while the page is being built.
TAB_JS = "(saved) => (window.sdaugRestored ? {...(saved || {}), tab: %s} : saved)"

_PAGE_SCRIPT = """<script>
(function () {
  var KEY = %(key)s, COOKIE = %(cookie)s;
  var saved = localStorage.getItem(KEY);
  var locale = saved && saved !== "auto" ? saved : %(forced)s;
  if (locale) {
    Object.defineProperty(navigator, "language", { get: function () { return locale; }, configurable: true });
  }
  document.cookie = COOKIE + "=" + encodeURIComponent(navigator.language || "en") + "; path=/; SameSite=Lax";
  window.sdaugSetLang = function (choice) {
    if (choice === "auto") { localStorage.removeItem(KEY); } else { localStorage.setItem(KEY, choice); }
    location.reload();
  };
  var refuseDrop = function (event) {
    if (event.target && event.target.closest && event.target.closest(%(nodrop)s)) {
      event.preventDefault();
      event.stopPropagation();
    }
  };
  document.addEventListener("dragover", refuseDrop, true);
  document.addEventListener("drop", refuseDrop, true);
  // A file dropped outside an upload field must not replace the app with the file.
  var noNavigation = function (event) { event.preventDefault(); };
  document.addEventListener("dragover", noNavigation);
  document.addEventListener("drop", noNavigation);
})();
</script>"""


def page_script(ctx: AppContext) -> str:
    """The script that applies the chosen language (see the module docstring)."""
    forced = i18n.GRADIO_LOCALES[ctx.forced_lang][0] if ctx.forced_lang else None
    return _PAGE_SCRIPT % {"forced": json.dumps(forced), "key": json.dumps(LANG_STORAGE_KEY),
                           "cookie": json.dumps(i18n.COOKIE), "nodrop": json.dumps(NO_DROP_SELECTOR)}


class PageScriptMiddleware:
    """Insert ``script`` right after ``<head>`` of every HTML page the app sends."""

    def __init__(self, app: ASGIApp, script: str) -> None:
        self.app = app
        self.script = script.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_with_script(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    start = message  # hold it until the body is complete
                    return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + self.script, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_with_script)


def page_options(ctx: AppContext) -> dict[str, Any]:
    """Keyword arguments for ``demo.launch()``: translations, theme, CSS, and the page script."""
    options: dict[str, Any] = {
        "i18n": ctx.build_i18n(),
        "theme": gr.themes.Soft(),
        "app_kwargs": {"middleware": [Middleware(PageScriptMiddleware, script=page_script(ctx))]},
    }
    if CSS_PATH.is_file():
        options["css_paths"] = [CSS_PATH]
    return options


def browser_state(ctx: AppContext) -> gr.BrowserState:
    """The user's own choices kept in the browser: open project and tab. The key and secret are
    fixed per data folder, so they survive a restart of the server."""
    secret = hashlib.sha256(f"sdaug:{ctx.settings.home.resolve()}".encode()).hexdigest()
    return gr.BrowserState(dict(projects_tab.DEFAULT_BROWSER_STATE), storage_key=STATE_STORAGE_KEY, secret=secret)


def build_app(ctx: AppContext) -> gr.Blocks:
    """Build every tab. Imports no torch: models load at the first generation."""
    ctx.add_translations(projects_tab.STRINGS)
    with gr.Blocks(title="sdaug") as demo:
        saved = browser_state(ctx)
        header = gr.Markdown(settings_tab.header_text(ctx, ctx.forced_lang or ctx.settings.lang),
                             elem_classes="sdaug-header")
        with gr.Tabs() as tabs:
            with gr.Tab(ctx.label("tab.generate"), id=generate.TAB_ID):
                gen = generate.build(ctx)
            with gr.Tab(ctx.label("tab.weather"), id=weather.TAB_ID):
                wea = weather.build(ctx)
            with gr.Tab(ctx.label("tab.lighting"), id=lighting.TAB_ID):
                light = lighting.build(ctx)
            with gr.Tab(ctx.label("tab.projects"), id=projects_tab.TAB_ID):
                projects = projects_tab.build(ctx)
            with gr.Tab(ctx.label("tab.annotate"), id="annotate"):
                ann = annotate.build(ctx)
            with gr.Tab(ctx.label("tab.dataset"), id="dataset"):
                dataset_tab.build(ctx, ann.state)
            with gr.Tab(ctx.label("tab.pnginfo"), id="pnginfo"):
                targets = [
                    pnginfo.Target(generate.TAB_ID, "tab.generate", gen.fields(), gen.advanced),
                    pnginfo.Target(weather.TAB_ID, "tab.weather", wea.fields(), wea.advanced),
                    pnginfo.Target(lighting.TAB_ID, "tab.lighting", light.fields(), light.advanced),
                ]
                pnginfo.build(ctx, tabs, targets)
            with gr.Tab(ctx.label("tab.settings"), id="settings") as settings:
                settings_tab.build(ctx, header, gen.prompt, settings, demo, ann.state)
        projects.connect(ann, saved, header, tabs)
        for tab in tabs.children:
            if isinstance(tab, gr.Tab) and tab.id:
                tab.select(None, saved, saved, js=TAB_JS % json.dumps(tab.id), queue=False,
                           show_progress="hidden", api_visibility="private")
    return demo
