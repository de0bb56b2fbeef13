"""The page: a header line and the tabs Generate, Weather, Lighting, Annotate, Dataset, PNG Info
and Settings. :func:`build_app` makes the ``gr.Blocks``; :func:`page_options` the
``launch()`` options that style and translate it (gradio 6 takes those at launch).

Language: gradio translates static text by the browser's locale. The page script from
:func:`head_html` applies the locale chosen in Settings (kept in ``localStorage``) or forced by
``--lang``, through the ``changeLocale`` function of gradio's own front-end module (found among
the loaded scripts, so it survives gradio's hashed file names; if it is missing the page simply
follows the browser), and stores the locale in the ``sdaug_lang`` cookie for Python-made text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr

from sdaug.ui import annotate, dataset_tab, generate, i18n, lighting, pnginfo, settings_tab, weather
from sdaug.ui.context import AppContext

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "style.css"
LANG_STORAGE_KEY = "sdaug-lang"

_HEAD_SCRIPT = """<script>
(function () {
  var FORCED = %(forced)s;
  var KEY = %(key)s;
  var COOKIE = %(cookie)s;
  function chosen() {
    var saved = localStorage.getItem(KEY);
    return saved && saved !== "auto" ? saved : FORCED;
  }
  function apply(locale) {
    var effective = locale || navigator.language || "en";
    document.cookie = COOKIE + "=" + encodeURIComponent(effective) + "; path=/; SameSite=Lax";
    if (!locale) { return; }
    var core = performance.getEntriesByType("resource").map(function (e) { return e.name; })
      .find(function (name) { return /\\/assets\\/core-[\\w-]+\\.js$/.test(name); });
    if (!core) { console.warn("sdaug: gradio's core module not found; the page follows the browser's language"); return; }
    import(core).then(function (m) { if (m.changeLocale) { m.changeLocale(effective); } });
  }
  window.sdaugSetLang = function (choice) {
    if (choice === "auto") { localStorage.removeItem(KEY); } else { localStorage.setItem(KEY, choice); }
    apply(chosen() || navigator.language);
  };
  apply(chosen());
})();
</script>"""


def head_html(ctx: AppContext) -> str:
    """The page script that applies the chosen language (see the module docstring)."""
    forced = i18n.GRADIO_LOCALES[ctx.forced_lang][0] if ctx.forced_lang else None
    return _HEAD_SCRIPT % {"forced": json.dumps(forced), "key": json.dumps(LANG_STORAGE_KEY),
                           "cookie": json.dumps(i18n.COOKIE)}


def page_options(ctx: AppContext) -> dict[str, Any]:
    """Keyword arguments for ``demo.launch()``: translations, page script, CSS, theme."""
    options: dict[str, Any] = {"i18n": ctx.build_i18n(), "head": head_html(ctx), "theme": gr.themes.Soft()}
    if CSS_PATH.is_file():
        options["css_paths"] = [CSS_PATH]
    return options


def build_app(ctx: AppContext) -> gr.Blocks:
    """Build every tab. Imports no torch: models load at the first generation."""
    with gr.Blocks(title="sdaug") as demo:
        header = gr.Markdown(settings_tab.header_text(ctx, ctx.forced_lang or ctx.settings.lang),
                             elem_classes="sdaug-header")
        with gr.Tabs() as tabs:
            with gr.Tab(ctx.label("tab.generate"), id=generate.TAB_ID):
                gen = generate.build(ctx)
            with gr.Tab(ctx.label("tab.weather"), id=weather.TAB_ID):
                wea = weather.build(ctx)
            with gr.Tab(ctx.label("tab.lighting"), id=lighting.TAB_ID):
                light = lighting.build(ctx)
            with gr.Tab(ctx.label("tab.annotate"), id="annotate"):
                annotate.build(ctx)
            with gr.Tab(ctx.label("tab.dataset"), id="dataset"):
                dataset_tab.build(ctx)
            with gr.Tab(ctx.label("tab.pnginfo"), id="pnginfo"):
                targets = [
                    pnginfo.Target(generate.TAB_ID, "tab.generate", gen.fields(), gen.advanced),
                    pnginfo.Target(weather.TAB_ID, "tab.weather", wea.fields(), wea.advanced),
                    pnginfo.Target(lighting.TAB_ID, "tab.lighting", light.fields(), light.advanced),
                ]
                pnginfo.build(ctx, tabs, targets)
            with gr.Tab(ctx.label("tab.settings"), id="settings") as settings:
                settings_tab.build(ctx, header, gen.prompt, settings, demo)

        def localized_header(request: gr.Request) -> str:
            return settings_tab.header_text(ctx, request)

        demo.load(localized_header, None, header, queue=False, show_progress="hidden", api_visibility="private")
    return demo
