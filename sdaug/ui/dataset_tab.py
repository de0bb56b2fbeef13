"""Dataset tab: what the project holds (a table and bar charts) and the Augment section.

The numbers come from :func:`sdaug.dataset.stats.project_stats` (a few aggregate queries, fast
with 10,000 images). The tab shows the project the session opened (Projects tab), by name, and
reads the numbers again each time the tab is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from gradio.context import Context

from sdaug.dataset.stats import TINY_AREA_FRACTION, TINY_PIXELS, ProjectStats, project_stats
from sdaug.dataset.store import STATUSES
from sdaug.ui import annotate_core as core
from sdaug.ui import augment_tab, common
from sdaug.ui.context import AppContext

TINY_EXAMPLES = 10

STRINGS: dict[str, tuple[str, str]] = {
    "ds.folder": ("Project", "项目"),
    "ds.refresh": ("⟳ Refresh", "⟳ 刷新"),
    "ds.table": ("Counts", "统计"),
    "ds.plot.class": ("Boxes per class", "每个类别的框数"),
    "ds.plot.condition": ("Images per condition (preset)", "每种条件（预设）的图片数"),
    "ds.plot.boxes": ("Images by number of boxes", "按框数统计的图片数"),
    "ds.plot.split": ("Images per split and status", "每个划分和状态的图片数"),
    "ds.summary": ("**{images}** images · **{boxes}** boxes · {classes} classes", "**{images}** 张图片 · **{boxes}** 个框 · {classes} 个类别"),
    "ds.tiny": ("⚠ **{count} tiny boxes** (shorter side < {pixels} px or < {fraction} of the image): detectors "
                "cannot learn them and they are often mis-clicks. First ones: {examples}",
                "⚠ **{count} 个过小的框**（短边 < {pixels} 像素或小于图片面积的 {fraction}）：检测器学不到，"
                "而且常常是误点。前几个：{examples}"),
    "ds.tiny.example": ("image #{image} ({name}, {width}×{height} px)", "图片 #{image}（{name}，{width}×{height} 像素）"),
    "ds.no_tiny": ("✓ No tiny boxes.", "✓ 没有过小的框。"),
    "ds.no_project": ("Open a project in the Projects tab first.", "请先在“项目”页打开项目。"),
    "ds.col.group": ("Group", "分组"),
    "ds.col.name": ("Name", "名称"),
    "ds.col.count": ("Count", "数量"),
    "ds.group.total": ("total", "总计"),
    "ds.group.split": ("split", "划分"),
    "ds.group.status": ("status", "状态"),
    "ds.group.class boxes": ("boxes of class", "类别框数"),
    "ds.group.class images": ("images with class", "含该类别的图片"),
    "ds.group.condition": ("condition", "条件"),
    "ds.group.boxes per image": ("boxes per image", "每张图的框数"),
    "ds.group.warning": ("warning", "警告"),
    "ds.name.images": ("images", "图片"),
    "ds.name.boxes": ("boxes", "框"),
    "ds.name.tiny": ("tiny boxes", "过小的框"),
    "ds.name.original": ("original photos", "原始照片"),
}

TABLE_COLUMNS = ("ds.col.group", "ds.col.name", "ds.col.count")


def stat_rows(ctx: AppContext, lang: str, stats: ProjectStats) -> list[list[object]]:
    """The statistics table with group and known names translated."""
    rows = []
    for group, name, count in stats.as_rows():
        if group == "warning":
            name = "tiny"
        shown = name
        if group == "status" and name in STATUSES:
            shown = ctx.tr(f"ann.status.{name}", lang)
        elif f"ds.name.{name}" in STRINGS:
            shown = ctx.tr(f"ds.name.{name}", lang)
        elif group == "condition":
            shown = common.preset_title(ctx, lang, name)
        rows.append([ctx.tr(f"ds.group.{group}", lang), shown, count])
    return rows


def plots(ctx: AppContext, lang: str, stats: ProjectStats) -> tuple[pd.DataFrame, ...]:
    """Data of the four bar charts: per class, per condition, boxes per image, split × status."""
    name, count, group = (ctx.tr(k, lang) for k in ("ds.col.name", "ds.col.count", "ds.col.group"))
    per_class = pd.DataFrame([(k, boxes) for k, (boxes, _) in stats.per_class.items()], columns=[name, count])
    conditions = [(ctx.tr("ds.name.original", lang) if k == "original" else common.preset_title(ctx, lang, k), v)
                  for k, v in stats.per_condition.items()]
    per_condition = pd.DataFrame(conditions, columns=[name, count])
    per_image = pd.DataFrame(list(stats.boxes_per_image.items()), columns=[name, count])
    groups = [(ctx.tr("ds.group.split", lang), k, v) for k, v in stats.per_split.items()]
    groups += [(ctx.tr("ds.group.status", lang), ctx.tr(f"ann.status.{k}", lang), v) for k, v in stats.per_status.items()]
    per_group = pd.DataFrame(groups, columns=[group, name, count])
    return per_class, per_condition, per_image, per_group


def summary(ctx: AppContext, lang: str, project_classes: int, stats: ProjectStats) -> str:
    text = ctx.tr("ds.summary", lang, images=stats.images, boxes=stats.boxes, classes=project_classes)
    if not stats.tiny_boxes:
        return f"{text}\n\n{ctx.tr('ds.no_tiny', lang)}"
    examples = ", ".join(ctx.tr("ds.tiny.example", lang, image=t.image_id, name=t.class_name,
                                width=f"{t.width:.0f}", height=f"{t.height:.0f}")
                         for t in stats.tiny_examples[:TINY_EXAMPLES])
    warning = ctx.tr("ds.tiny", lang, count=stats.tiny_boxes, pixels=f"{TINY_PIXELS:g}",
                     fraction=f"{TINY_AREA_FRACTION:.2%}", examples=examples)
    return f"{text}\n\n{warning}"


def build(ctx: AppContext, annotate_state: gr.State | None = None) -> None:
    """Build the tab inside the current ``gr.Tab`` (it refreshes whenever the tab is opened and
    follows the project of ``annotate_state``, the session's open project)."""
    ctx.add_translations(STRINGS)
    ctx.add_translations(augment_tab.STRINGS)
    label = ctx.label
    tab = Context.block
    with gr.Row(equal_height=True):
        folder = gr.Textbox(label=label("ds.folder"), value=ctx.project.name if ctx.project else "", scale=5,
                            interactive=False)
        refresh = gr.Button(label("ds.refresh"), scale=1, min_width=120)
    summary_md = gr.Markdown(label("ds.no_project"))
    with gr.Row():
        table = gr.Dataframe(label=label("ds.table"), interactive=False, max_height=560, scale=2)
        with gr.Column(scale=3):
            # Slanted labels: class and preset names (long in Chinese) do not overlap or get cut.
            plot = {"x": "", "y": "", "height": 300, "y_lim": [0, None], "sort": None, "x_label_angle": -35}
            with gr.Row():
                class_plot = gr.BarPlot(label=label("ds.plot.class"), **plot)
                condition_plot = gr.BarPlot(label=label("ds.plot.condition"), **plot)
            with gr.Row():
                boxes_plot = gr.BarPlot(label=label("ds.plot.boxes"), **plot)
                split_plot = gr.BarPlot(label=label("ds.plot.split"), **plot)
    with gr.Accordion(label("job.title"), open=True):
        augment_tab.build(ctx, folder)

    outputs = [summary_md, table, class_plot, condition_plot, boxes_plot, split_plot]

    @ctx.handle_errors
    def on_refresh(text: str, request: gr.Request) -> tuple[Any, ...]:
        lang = ctx.lang(request)
        if not (text or "").strip():
            return (ctx.tr("ds.no_project", lang), *[gr.skip()] * (len(outputs) - 1))
        project = ctx.open_project(text)
        stats = project_stats(project)
        per_class, per_condition, per_image, per_group = plots(ctx, lang, stats)
        name, count, group = (ctx.tr(k, lang) for k in ("ds.col.name", "ds.col.count", "ds.col.group"))
        rows = stat_rows(ctx, lang, stats)
        return (summary(ctx, lang, len(project.classes()), stats),
                {"headers": [ctx.tr(k, lang) for k in TABLE_COLUMNS], "data": rows},
                gr.BarPlot(per_class, x=name, y=count), gr.BarPlot(per_condition, x=name, y=count),
                gr.BarPlot(per_image, x=name, y=count, sort=per_image[name].tolist()),
                gr.BarPlot(per_group, x=name, y=count, color=group, sort=per_group[name].tolist()))

    api = {"api_visibility": "undocumented"}  # internal events: callable, not listed on the API page
    refresh.click(on_refresh, [folder], outputs, **api)

    def on_open_tab(ann: core.AnnotateState, request: gr.Request) -> tuple[Any, ...]:
        """Follow the project the session has open, then refresh."""
        chosen = Path(ann.folder).name if ann.folder else ""
        return (chosen, *on_refresh(chosen, request))

    if isinstance(tab, gr.Tab) and annotate_state is not None:
        tab.select(on_open_tab, [annotate_state], [folder, *outputs], show_progress="hidden", **api)
