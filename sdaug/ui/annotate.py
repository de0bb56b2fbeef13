"""Annotate tab: draw and fix boxes on a project's images, with the review queue beside it.

The canvas is ``gradio_image_annotation.image_annotator``; what each button, key and canvas
change does is in :mod:`sdaug.ui.annotate_core` (no gradio there, so it is tested and timed
directly). This module builds the components, turns each :class:`~sdaug.ui.annotate_core.Outcome`
into component updates (:func:`render`), and registers the tab's English and Chinese strings.

There is no Save button: every canvas change is written at once (one transaction).
Keys (while no text field has the focus): A / D or ← / → previous / next, N next unlabelled,
1-9 class of the next box (and of the box selected by a click or in the box list), Delete the
selected box, V copy the previous image's boxes, Ctrl+Z / Ctrl+Y undo / redo, R mark reviewed,
F fit, Space held pans. The canvas side of the keys is in :mod:`sdaug.ui.annotate_keys`.
"""

from __future__ import annotations

import functools
import hashlib
import html
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from gradio_image_annotation import image_annotator

from sdaug.dataset.store import SPLITS, STATUSES, Project
from sdaug.ui import annotate_core as core
from sdaug.ui import autolabel_tab, canvas_sync, common, review
from sdaug.ui.annotate_keys import BOX_WIDTH, SELECTED_WIDTH, event_box, event_key, key_listener
from sdaug.ui.context import AppContext

logger = logging.getLogger(__name__)

KEYS = ("a", "d", "arrowleft", "arrowright", "n", "v", "r", "y", "enter", "undo", "redo", "delete", *"123456789")
CANVAS_HEIGHT = 620

STRINGS: dict[str, tuple[str, str]] = {
    "ann.tab.annotate": ("Draw boxes", "画框"),
    "ann.tab.review": ("Review queue", "审核队列"),
    "ann.canvas": ("Drag on the image to draw a box; press a box to select, move or resize it; hold Space to "
                   "pan, wheel to zoom. Boxes save by themselves.",
                   "在图片上拖动画框；按住一个框可选中、移动或调整大小；按住空格拖动平移，滚轮缩放。框会自动保存。"),
    "ann.fit": ("Fit (F)", "适合窗口 (F)"),
    "ann.actual": ("100 %", "100 %"),
    "ann.delete_box": ("✕ Delete box (Del)", "✕ 删除框 (Del)"),
    "ann.first_class": ("This project has no classes yet. Name the class of your first box:",
                        "这个项目还没有类别。请给第一个框的类别起个名字："),
    "ann.first_class.placeholder": ("e.g. person", "例如 行人"),
    "ann.thumbs.legend": ("Colours: grey unlabelled · green labelled · orange needs review · blue reviewed · "
                          "red rejected",
                          "颜色：灰 = 未标注 · 绿 = 已标注 · 橙 = 待审核 · 蓝 = 已审核 · 红 = 已拒绝"),
    "ann.prev": ("◀ Previous (A)", "◀ 上一张 (A)"),
    "ann.next": ("Next (D) ▶", "下一张 (D) ▶"),
    "ann.next_unlabelled": ("Next unlabelled (N)", "下一张未标注 (N)"),
    "ann.copy_previous": ("Copy previous boxes (V)", "复制上一张的框 (V)"),
    "ann.undo": ("↶ Undo (Ctrl+Z)", "↶ 撤销 (Ctrl+Z)"),
    "ann.redo": ("↷ Redo (Ctrl+Y)", "↷ 重做 (Ctrl+Y)"),
    "ann.reviewed": ("✓ Mark reviewed (R)", "✓ 标记为已审核 (R)"),
    "ann.keys": ("Keys: A / D previous / next · N next unlabelled · 1–9 class of the next box (and of a box you "
                 "clicked) · Delete removes the selected box · V copy previous boxes · Ctrl+Z / Ctrl+Y undo / redo · "
                 "R reviewed · F fit · hold Space to pan · Y accept the selected proposal · Enter accept all proposals",
                 "快捷键：A / D 上一张 / 下一张 · N 下一张未标注 · 1–9 下一个框的类别（也改点选的框）· "
                 "Delete 删除选中的框 · V 复制上一张的框 · Ctrl+Z / Ctrl+Y 撤销 / 重做 · R 已审核 · F 适合窗口 · "
                 "按住空格平移 · Y 接受选中的候选框 · Enter 接受全部候选框"),
    "ann.active_class": ("Class of new boxes (keys 1–9)", "新框的类别（快捷键 1–9）"),
    "ann.boxes": ("Boxes of this image (click a row, then 1–9 to change its class or Delete to remove it)",
                  "本图的框（点一行，再按 1–9 修改类别，或按 Delete 删除）"),
    "ann.list": ("Images", "图片列表"),
    "ann.filter.status": ("Status", "状态"),
    "ann.filter.split": ("Split", "划分"),
    "ann.filter.class": ("Has class", "包含类别"),
    "ann.filter.any": ("(any)", "（全部）"),
    "ann.page.prev": ("◀ Page", "◀ 上一页"),
    "ann.page.next": ("Page ▶", "下一页 ▶"),
    "ann.page.number": ("Page", "页码"),
    "ann.page.label": ("Page {page} of {pages} · {total} images", "第 {page} / {pages} 页 · 共 {total} 张"),
    "ann.classes": ("Classes", "类别"),
    "ann.class.name": ("Class name", "类别名称"),
    "ann.class.color": ("Colour", "颜色"),
    "ann.class.add": ("+ Add class", "+ 添加类别"),
    "ann.class.save": ("Save name and colour", "保存名称和颜色"),
    "ann.class.up": ("↑ Move up", "↑ 上移"),
    "ann.class.down": ("↓ Move down", "↓ 下移"),
    "ann.class.delete": ("✕ Delete class", "✕ 删除类别"),
    "ann.class.help": ("Click a class in the table to rename it, change its colour or move it. The order "
                       "(= class numbers in YOLO) is locked by the first export.",
                       "点表格中的类别可改名、改颜色或移动。顺序（即 YOLO 的类别编号）在第一次导出后锁定。"),
    "ann.status.unlabelled": ("unlabelled", "未标注"),
    "ann.status.labelled": ("labelled", "已标注"),
    "ann.status.review": ("needs review", "待审核"),
    "ann.status.reviewed": ("reviewed", "已审核"),
    "ann.status.rejected": ("rejected", "已拒绝"),
    "ann.origin.manual": ("drawn", "手画"),
    "ann.origin.carried": ("carried from source", "从原图继承"),
    "ann.origin.auto": ("proposed", "候选框"),
    "ann.col.score": ("Score", "置信度"),
    "ann.proposals": ("Proposals: hide those scored below", "候选框：隐藏置信度低于此值的"),
    "ann.proposals.help": ("Dashed boxes with a score are a detector's proposals (Annotate ▸ Auto-label). They are "
                           "not labels and are not exported until you accept them: Y accepts the selected one, "
                           "Enter all shown ones (hidden ones are dropped); moving, resizing or relabelling one "
                           "accepts it, Delete removes it.",
                           "带置信度的虚线框是检测模型给出的候选框（画框 ▸ 自动标注）。在你确认之前，它们不是标注，也不会被导出："
                           "Y 接受选中的一个，Enter 接受全部显示的候选框（隐藏的将被丢弃）；移动、缩放或改类别也算接受，"
                           "Delete 删除。"),
    "ann.accept_all": ("✓ Accept proposals (Enter)", "✓ 接受候选框 (Enter)"),
    "ann.info.proposals": (" · {count} proposals", " · {count} 个候选框"),
    "ann.col.id": ("ID", "ID"),
    "ann.col.name": ("File", "文件"),
    "ann.col.split": ("Split", "划分"),
    "ann.col.status": ("Status", "状态"),
    "ann.col.boxes": ("Boxes", "框数"),
    "ann.col.variant": ("Preset", "预设"),
    "ann.col.number": ("#", "#"),
    "ann.col.class": ("Class", "类别"),
    "ann.col.origin": ("Origin", "来源"),
    "ann.col.drift": ("Drift score", "偏移分数"),
    "ann.col.key": ("Key", "按键"),
    "ann.col.color": ("Colour", "颜色"),
    "ann.info.image": ("**{index} / {count}** · #{id} {name} · {width}×{height} · {split} · {status} · "
                       "{boxes} boxes{proposals}{variant}",
                       "**{index} / {count}** · #{id} {name} · {width}×{height} · {split} · {status} · "
                       "{boxes} 个框{proposals}{variant}"),
    "ann.info.variant": (" · variant ({preset})", " · 变体（{preset}）"),
    "ann.info.empty": ("The project has no images yet: add photos in the Projects tab.",
                       "项目里还没有图片：请在“项目”页添加照片。"),
    "ann.info.none_match": ("No image matches the filter ({total} images in the project).",
                            "没有符合筛选条件的图片（项目共 {total} 张）。"),
    "ann.info.no_project": ("Open or create a project in the Projects tab first.",
                            "请先在“项目”页打开或新建项目。"),
    "ann.msg.opened": ("Opened {folder} ({count} images).", "已打开 {folder}（{count} 张图片）。"),
    "ann.msg.saved": ("Saved ({count} boxes).", "已保存（{count} 个框）。"),
    "ann.msg.nothing_to_undo": ("Nothing to undo on this image.", "这张图没有可撤销的操作。"),
    "ann.msg.nothing_to_redo": ("Nothing to redo on this image.", "这张图没有可重做的操作。"),
    "ann.msg.undone": ("Undone and saved ({count} boxes).", "已撤销并保存（{count} 个框）。"),
    "ann.msg.redone": ("Redone and saved ({count} boxes).", "已重做并保存（{count} 个框）。"),
    "ann.msg.name_first_class": ("Name the class of this box above the image (it is saved then).",
                                 "请在图片上方给这个框的类别起名（起名后即保存）。"),
    "ann.msg.first_class_saved": ("Class {name} added; {count} box(es) saved with it.",
                                  "已添加类别 {name}；{count} 个框已用它保存。"),
    "ann.msg.select_box_first": ("Select a box first: click it on the image or in the box list.",
                                 "请先选中一个框：在图片上点它，或在框列表中点它。"),
    "ann.msg.box_deleted": ("Box deleted and saved ({count} left).", "框已删除并保存（剩 {count} 个）。"),
    "ann.msg.no_class_for_key": ("No class has key {key}: add more classes.", "没有对应按键 {key} 的类别：请添加类别。"),
    "ann.msg.active_class": ("New boxes: {name}.", "新框类别：{name}。"),
    "ann.msg.relabelled": ("Box changed to {name} and saved.", "框已改为 {name} 并保存。"),
    "ann.msg.box_selected": ("Box {index} selected: press 1–9 to change its class.", "已选中第 {index} 个框：按 1–9 修改类别。"),
    "ann.msg.last": ("This is the last image of the list.", "已经是列表中的最后一张。"),
    "ann.msg.first": ("This is the first image of the list.", "已经是列表中的第一张。"),
    "ann.msg.all_labelled": ("No unlabelled image left.", "没有未标注的图片了。"),
    "ann.msg.filtered": ("{count} images match.", "{count} 张图片符合条件。"),
    "ann.msg.no_previous": ("There is no image before this one.", "这是第一张图，前面没有图片。"),
    "ann.msg.previous_empty": ("The previous image has no boxes.", "上一张图没有框。"),
    "ann.msg.copied": ("Copied {count} boxes from the previous image.", "从上一张图复制了 {count} 个框。"),
    "ann.msg.reviewed": ("Marked as reviewed.", "已标记为已审核。"),
    "ann.msg.class_added": ("Class {name} added.", "已添加类别 {name}。"),
    "ann.msg.class_saved": ("Class {name} saved.", "类别 {name} 已保存。"),
    "ann.msg.class_moved": ("Class moved to position {position}.", "类别已移到第 {position} 位。"),
    "ann.msg.class_deleted": ("Class {name} deleted.", "已删除类别 {name}。"),
    "ann.msg.select_proposal_first": ("Select a proposal first (click a dashed box), or press Enter to accept all.",
                                      "请先选中一个候选框（点一下虚线框），或按 Enter 全部接受。"),
    "ann.msg.proposal_accepted": ("Proposal accepted and saved ({left} proposals left).",
                                  "已接受候选框并保存（还剩 {left} 个候选框）。"),
    "ann.msg.proposals_accepted": ("{count} proposals accepted and saved; {dropped} below {threshold} dropped.",
                                   "已接受并保存 {count} 个候选框；丢弃了 {dropped} 个低于 {threshold} 的。"),
    "ann.msg.no_proposals": ("This image has no proposals.", "这张图没有候选框。"),
    # Refusals of annotate_core.AnnotateError, by key (English as in MESSAGES).
    "ann.err.no_project": (core.MESSAGES["no_project"], "请先打开项目（“项目”页）"),
    "ann.err.no_image": (core.MESSAGES["no_image"], "没有打开的图片：请在“项目”页添加照片，或修改筛选条件"),
    "ann.err.no_class_picked": (core.MESSAGES["no_class_picked"], "请先在类别列表中选一个类别"),
    "ann.err.class_empty": (core.MESSAGES["class_empty"], "请先输入类别名称"),
    "ann.err.class_exists": (core.MESSAGES["class_exists"], "已经有名为 {name!r} 的类别"),
    "ann.err.clicked": (core.MESSAGES["clicked"], "点选的框应是 4 个数 x1、y1、x2、y2，收到 {box}"),
    "ann.err.no_variant": (core.MESSAGES["no_variant"], "没有需要审核的变体：请先运行扩充任务"),
}


@dataclass
class AnnotateTab:
    """The components other parts of the page (the review queue) send to."""

    tabs: gr.Tabs
    state: gr.State
    outputs: list[Any]
    # render(project, state, outcome, lang) -> values for ``outputs``
    render: Callable[[Project | None, core.AnnotateState, core.Outcome, str], tuple[Any, ...]]
    # viewable(path) -> a path gradio may serve for a project image (see :func:`viewable`)
    viewable: Callable[[Path], str]


def build(ctx: AppContext) -> AnnotateTab:
    """Build the tab (annotator and review queue) inside the current ``gr.Tab``."""
    ctx.add_translations(STRINGS)
    ctx.add_translations(review.STRINGS)
    common.add_preset_titles(ctx)
    with gr.Tabs() as tabs:
        with gr.Tab(ctx.label("ann.tab.annotate"), id="draw"):
            tab = _build_annotator(ctx, tabs)
        with gr.Tab(ctx.label("ann.tab.review"), id="review"):
            review.build(ctx, tab)
        autolabel_tab.build(ctx, tab)
    return tab


# Rendering ----------------------------------------------------------------------------------
def viewable(ctx: AppContext, path: Path) -> str:
    """A path gradio may serve for ``path``: itself when it lies in an allowed folder, else a hard
    link (or copy) with the same name in the temp folder. A project opened from the page is not
    in ``allowed_paths`` (fixed at launch), and the whole folder must not be served."""
    resolved = path.resolve()
    allowed = [Path(p).resolve() for p in (*ctx.allowed_paths(), os.getcwd(), tempfile.gettempdir())]
    if any(resolved.is_relative_to(folder) for folder in allowed):
        return str(resolved)
    folder = Path(tempfile.gettempdir()) / "sdaug-view" / hashlib.sha1(str(resolved.parent).encode()).hexdigest()[:12]
    target = folder / resolved.name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{resolved.name}.{os.getpid()}.tmp"
        try:
            os.link(resolved, tmp)
        except OSError:
            shutil.copyfile(resolved, tmp)
        os.replace(tmp, target)
    return str(target)


def canvas_value(ctx: AppContext, project: Project, state: core.AnnotateState) -> dict | None:
    value = core.canvas_value(project, state.image_id, state.min_score)
    if value is not None:
        value["image"] = viewable(ctx, Path(value["image"]))
    return value


def canvas_labels(project: Project, state: core.AnnotateState) -> dict[str, list[str]]:
    """``label_list`` / ``label_colors`` with the active class first: the canvas draws a new box
    in the colour of the first label, so new boxes appear in the active class's colour."""
    classes = project.classes()
    classes.sort(key=lambda c: c.id != state.active_class_id)
    return {"label_list": [c.name for c in classes], "label_colors": [c.color for c in classes]}


def message_text(ctx: AppContext, lang: str, message: core.Message | None) -> str:
    if message is None:
        return ""
    key, values = message
    return ctx.tr(key, lang, **values)


def info_text(ctx: AppContext, lang: str, project: Project, state: core.AnnotateState) -> str:
    key, values = core.info(project, state)
    if key != "ann.info.image":
        return ctx.tr(key, lang, **values)
    preset = values.pop("variant")
    values["variant"] = ctx.tr("ann.info.variant", lang, preset=common.preset_title(ctx, lang, preset)) if preset else ""
    values["status"] = ctx.tr(f"ann.status.{values['status']}", lang)
    count = values.pop("proposals")
    values["proposals"] = ctx.tr("ann.info.proposals", lang, count=count) if count else ""
    return ctx.tr(key, lang, **values)


def table(ctx: AppContext, lang: str, keys: tuple[str, ...], rows: list[list[object]]) -> dict:
    return {"headers": [ctx.tr(k, lang) for k in keys], "data": rows or [["" for _ in keys]]}


PAGE_COLUMNS = ("ann.col.id", "ann.col.name", "ann.col.split", "ann.col.status", "ann.col.boxes", "ann.col.variant")
BOX_COLUMNS = ("ann.col.number", "ann.col.class", "x1", "y1", "x2", "y2", "ann.col.origin", "ann.col.score",
               "ann.col.drift")
CLASS_COLUMNS = ("ann.col.key", "ann.col.class", "ann.col.color", "ann.col.boxes")


def _tr_or_raw(ctx: AppContext, lang: str, key: str) -> str:
    return ctx.tr(key, lang) if key.startswith("ann.") else key


def render(ctx: AppContext, canvas: image_annotator, project: Project | None, state: core.AnnotateState,
           outcome: core.Outcome, lang: str) -> tuple[Any, ...]:
    """Component updates for an outcome, in the order of ``AnnotateTab.outputs``:
    state, canvas (its class names), info, boxes, page table, page label, page number, message,
    active class, class filter, class table, first-class row, thumbnails, canvas push (picture and boxes)."""
    skip = gr.skip()
    # An outcome that changed nothing (the canvas echoing a value the server sent) keeps the message.
    message = message_text(ctx, lang, outcome.message) if outcome != core.Outcome() else skip
    if project is None:
        return (state, skip, ctx.tr("ann.info.no_project", lang), skip, skip, skip, skip, message, skip, skip,
                skip, gr.update(visible=False), "", canvas_sync.push(canvas, state, None))
    labels = gr.update(**canvas_labels(project, state)) if outcome.classes else skip
    value = canvas_sync.push(canvas, state, canvas_value(ctx, project, state)) if outcome.canvas else skip
    box_rows = [[*r[:6], ctx.tr(f"ann.origin.{r[6]}", lang), *r[7:]] for r in core.box_rows(project, state)]
    box_table = {"headers": [_tr_or_raw(ctx, lang, k) for k in BOX_COLUMNS],
                 "data": box_rows or [["" for _ in BOX_COLUMNS]]}
    page_table = page_label = page_number = skip
    # The strip changes with the page, a status or the current image (it is ~3 kB per picture).
    thumbs = thumbnails_html(project, state) if outcome.page or outcome.canvas else skip
    if outcome.page:
        page = core.page_rows(project, state)
        rows = [[*r[:3], ctx.tr(f"ann.status.{r[3]}", lang), r[4], common.preset_title(ctx, lang, r[5])]
                for r in page.rows]
        page_table = table(ctx, lang, PAGE_COLUMNS, rows)
        page_label = ctx.tr("ann.page.label", lang, page=page.page + 1, pages=page.pages, total=page.total)
        page_number = gr.update(value=page.page + 1, maximum=page.pages)
    classes = project.classes()
    choices = [(f"{c.position + 1} · {c.name}" if c.position < core.HOTKEY_CLASSES else c.name, c.id)
               for c in classes]
    active = state.active_class_id if any(c.id == state.active_class_id for c in classes) else None
    if active is None and classes:
        active = state.active_class_id = classes[0].id
    if outcome.classes:
        radio = gr.update(choices=choices, value=active)
        class_filter = gr.update(choices=[(ctx.tr("ann.filter.any", lang), -1), *((c.name, c.id) for c in classes)],
                                 value=state.class_id if state.class_id is not None else -1)
        class_table = table(ctx, lang, CLASS_COLUMNS, core.class_rows(project))
    else:
        radio, class_filter, class_table = gr.update(value=active), skip, skip
    return (state, labels, info_text(ctx, lang, project, state), box_table, page_table, page_label, page_number,
            message, radio, class_filter, class_table, gr.update(visible=not classes), thumbs, value)


STATUS_COLORS = {"unlabelled": "#9ca3af", "labelled": "#16a34a", "review": "#f59e0b", "reviewed": "#2563eb",
                 "rejected": "#dc2626"}


def thumbnails_html(project: Project, state: core.AnnotateState) -> str:
    """The page of the image list as small pictures framed in their status colour (the current
    image outlined); clicking one opens it (see ``_THUMBS_JS``)."""
    items = []
    for record in core.page_records(project, state):
        current = " sdaug-current" if record.id == state.image_id else ""
        name = html.escape(record.original_name or record.file_name)
        items.append(f'<button class="sdaug-thumb{current}" data-id="{record.id}" title="#{record.id} {name}" '
                     f'style="border-color:{STATUS_COLORS.get(record.status, "#9ca3af")}">'
                     f'<img src="{core.thumbnail_uri(project, record)}" alt="{name}"></button>')
    return "".join(items)


_THUMBS_JS = """
element.addEventListener('click', (e) => {
  const item = e.target.closest('[data-id]');
  if (item) trigger('click', {id: Number(item.dataset.id)});
});
"""
_THUMBS_CSS = """
.sdaug-thumbs { display: flex; flex-wrap: wrap; gap: 4px; max-height: 190px; overflow-y: auto; }
.sdaug-thumb { border: 3px solid; border-radius: 4px; padding: 0; width: 60px; height: 60px; background: #111;
               cursor: pointer; display: flex; align-items: center; justify-content: center; }
.sdaug-thumb img { max-width: 100%; max-height: 100%; }
.sdaug-thumb.sdaug-current { outline: 3px solid var(--color-accent); outline-offset: 1px; }
"""


# The annotator ------------------------------------------------------------------------------
def _build_annotator(ctx: AppContext, tabs: gr.Tabs) -> AnnotateTab:
    label = ctx.label
    state = gr.State(core.AnnotateState(folder=str(ctx.project) if ctx.project else ""))
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row(visible=False, equal_height=True, elem_id="sdaug-first-class") as first_class_row:
                first_class = gr.Textbox(label=label("ann.first_class"), placeholder=label("ann.first_class.placeholder"),
                                         scale=4)
                first_class_button = gr.Button(label("ann.class.add"), variant="primary", scale=1, min_width=120)
            with gr.Row(equal_height=True):
                gr.Markdown(label("ann.canvas"), elem_classes="sdaug-canvas-help")
                fit_button = gr.Button(label("ann.fit"), size="sm", scale=0, min_width=90)
                actual_button = gr.Button(label("ann.actual"), size="sm", scale=0, min_width=70)
                delete_button = gr.Button(label("ann.delete_box"), size="sm", scale=0, min_width=120)
                accept_button = gr.Button(label("ann.accept_all"), size="sm", scale=0, min_width=140)
            # No label over the picture, no rotation (the ↺ ↻ icons rotate only the view and look like
            # undo / redo: hidden in style.css), no file drop (photos come in through the Projects tab).
            canvas = image_annotator(
                show_label=False, image_type="filepath", sources=[], disable_edit_boxes=True,
                show_clear_button=False, show_download_button=False, show_remove_button=False,
                show_share_button=False, box_min_size=4, box_thickness=BOX_WIDTH,
                box_selected_thickness=SELECTED_WIDTH, boxes_alpha=0.15, height=CANVAS_HEIGHT,
                elem_id="sdaug-annotator")
            with gr.Row():
                prev_button = gr.Button(label("ann.prev"), size="sm")
                next_button = gr.Button(label("ann.next"), size="sm", variant="primary")
                unlabelled_button = gr.Button(label("ann.next_unlabelled"), size="sm")
                copy_button = gr.Button(label("ann.copy_previous"), size="sm")
                undo_button = gr.Button(label("ann.undo"), size="sm")
                redo_button = gr.Button(label("ann.redo"), size="sm")
                reviewed_button = gr.Button(label("ann.reviewed"), size="sm")
            info = gr.Markdown(elem_id="sdaug-annotate-info")
            message = gr.Markdown()
            keys = key_listener(label("ann.keys"), KEYS, elem_id="sdaug-annotate-keys", canvas="sdaug-annotator")
            canvas_meta = gr.JSON(visible=False)  # filled in the browser by canvas_sync.CHANGE_JS
            canvas_push = gr.JSON(visible="hidden")  # applied to the canvas by canvas_sync.PUSH_JS
        with gr.Column(scale=2):
            active = gr.Radio(label=label("ann.active_class"), choices=[])
            min_score = gr.Slider(0, 1, value=0, step=0.05, label=label("ann.proposals"),
                                  info=label("ann.proposals.help"))
            boxes = gr.Dataframe(label=label("ann.boxes"), interactive=False, max_height=260,
                                 headers=[label(k) if k.startswith("ann.") else k for k in BOX_COLUMNS])
            with gr.Accordion(label("ann.list"), open=True):
                with gr.Row():
                    status_filter = gr.Dropdown(
                        [(label("ann.filter.any"), ""), *((label(f"ann.status.{s}"), s) for s in STATUSES)],
                        value="", label=label("ann.filter.status"), min_width=120)
                    split_filter = gr.Dropdown([(label("ann.filter.any"), ""), *((s, s) for s in SPLITS)], value="",
                                               label=label("ann.filter.split"), min_width=100)
                    class_filter = gr.Dropdown([(label("ann.filter.any"), -1)], value=-1,
                                               label=label("ann.filter.class"), min_width=120)
                thumbs = gr.HTML("", html_template="<div class='sdaug-thumbs'>${value}</div>", css_template=_THUMBS_CSS,
                                 js_on_load=_THUMBS_JS, elem_id="sdaug-thumbs")
                gr.Markdown(label("ann.thumbs.legend"), elem_classes="sdaug-keys")
                page_table = gr.Dataframe(interactive=False, max_height=420, headers=[label(k) for k in PAGE_COLUMNS])
                with gr.Row(equal_height=True):
                    page_prev = gr.Button(label("ann.page.prev"), size="sm", min_width=80)
                    page_number = gr.Number(value=1, minimum=1, precision=0, label=label("ann.page.number"),
                                            min_width=80)
                    page_next = gr.Button(label("ann.page.next"), size="sm", min_width=80)
                page_label = gr.Markdown()
            with gr.Accordion(label("ann.classes"), open=False):
                gr.Markdown(label("ann.class.help"))
                class_table = gr.Dataframe(interactive=False, max_height=260,
                                           headers=[label(k) for k in CLASS_COLUMNS])
                with gr.Row(equal_height=True):
                    class_name = gr.Textbox(label=label("ann.class.name"), scale=3)
                    class_color = gr.ColorPicker(label=label("ann.class.color"), value="#e6194b", scale=1)
                with gr.Row():
                    add_class = gr.Button(label("ann.class.add"), size="sm", variant="primary")
                    save_class = gr.Button(label("ann.class.save"), size="sm")
                with gr.Row():
                    up_class = gr.Button(label("ann.class.up"), size="sm")
                    down_class = gr.Button(label("ann.class.down"), size="sm")
                    delete_class = gr.Button(label("ann.class.delete"), size="sm", variant="stop")
                class_result = gr.Markdown()
    outputs = [state, canvas, info, boxes, page_table, page_label, page_number, message, active, class_filter,
               class_table, first_class_row, thumbs, canvas_push]
    api = {"api_visibility": "undocumented"}  # internal events: callable, not listed on the API page
    quiet = {"show_progress": "hidden", **api}

    def respond(project: Project | None, st: core.AnnotateState, outcome: core.Outcome,
                request: gr.Request | None) -> tuple[Any, ...]:
        return render(ctx, canvas, project, st, outcome, ctx.lang(request))

    def handler(action: Any) -> Any:
        """An event handler ``(state, request)`` running ``action(project, state)``."""

        @ctx.handle_errors
        def run(st: core.AnnotateState, request: gr.Request) -> tuple[Any, ...]:
            project = core.require_project(st)
            return respond(project, st, action(project, st), request)

        return run

    # The canvas: autosave --------------------------------------------------------------------
    @ctx.handle_errors
    def on_canvas(st: core.AnnotateState, payload: dict | None, meta: dict | None,
                  request: gr.Request) -> tuple[Any, ...]:
        meta = meta if isinstance(meta, dict) else {}
        if not st.folder or meta.get("drawing"):  # a box still being drawn: its change at mouse-up follows
            return (st, *[gr.skip()] * (len(outputs) - 1))
        project = core.require_project(st)
        *rest, reply = respond(project, st, core.canvas_changed(project, st, payload), request)
        if isinstance(reply, dict) and "version" in reply:  # held until the mouse is up (canvas_sync.PUSH_JS)
            reply = {**reply, "presses": meta.get("presses", 0)}
        return (*rest, reply)

    canvas.change(on_canvas, [state, canvas, canvas_meta], outputs, js=canvas_sync.CHANGE_JS, preprocess=False,
                  trigger_mode="always_last", **quiet)
    canvas_push.change(None, [canvas_push], [canvas], js=canvas_sync.PUSH_JS, **quiet)

    # Buttons and keys ------------------------------------------------------------------------
    actions = {
        "prev": lambda p, s: core.go(p, s, -1),
        "next": lambda p, s: core.go(p, s, +1),
        "unlabelled": core.next_unlabelled,
        "copy": core.copy_previous,
        "undo": core.undo,
        "redo": core.redo,
        "reviewed": core.mark_reviewed,
        "accept_all": core.accept_all_proposals,
    }
    for button, name in ((prev_button, "prev"), (next_button, "next"), (unlabelled_button, "unlabelled"),
                         (copy_button, "copy"), (undo_button, "undo"), (redo_button, "redo"),
                         (reviewed_button, "reviewed"), (accept_button, "accept_all")):
        button.click(handler(actions[name]), [state], outputs, **quiet)

    key_actions = {"a": "prev", "arrowleft": "prev", "d": "next", "arrowright": "next", "n": "unlabelled",
                   "v": "copy", "undo": "undo", "redo": "redo", "r": "reviewed", "enter": "accept_all"}

    @ctx.handle_errors
    def on_key(st: core.AnnotateState, request: gr.Request, evt: gr.EventData) -> tuple[Any, ...]:
        project = core.require_project(st)
        key = event_key(evt)
        if key in key_actions:
            outcome = actions[key_actions[key]](project, st)
        elif key == "delete":
            outcome = core.delete_selected_box(project, st, event_box(evt))
        elif key == "y":
            outcome = core.accept_proposal(project, st, event_box(evt))
        else:
            outcome = core.press_class_key(project, st, key, event_box(evt))
        return respond(project, st, outcome, request)

    # Keys pressed while the last one is still being handled are queued, not dropped (gradio's
    # default for a click is to ignore it while the previous one runs).
    keys.click(on_key, [state], outputs, trigger_mode="multiple", **quiet)
    # The canvas buttons act in the browser (the delete button goes through the Delete key, so it
    # knows the box selected on the canvas).
    fit_button.click(None, js="() => window.sdaugCanvas && window.sdaugCanvas.fit()")
    actual_button.click(None, js="() => window.sdaugCanvas && window.sdaugCanvas.actual()")
    delete_button.click(None, js="() => window.sdaugCanvas && window.sdaugCanvas.press('delete')")

    @ctx.handle_errors
    def on_thumb(st: core.AnnotateState, request: gr.Request, evt: gr.EventData) -> tuple[Any, ...]:
        project = core.require_project(st)
        data = evt._data if isinstance(evt._data, dict) else {}
        image_id = data.get("id")
        outcome = core.show_image(project, st, int(image_id)) if isinstance(image_id, int) else core.Outcome()
        return respond(project, st, outcome, request)

    thumbs.click(on_thumb, [state], outputs, **quiet)

    # Side panel ------------------------------------------------------------------------------
    @ctx.handle_errors
    def on_active(st: core.AnnotateState, class_id: int | None, request: gr.Request) -> tuple[Any, ...]:
        project = core.require_project(st)
        return respond(project, st, core.set_active_class(project, st, class_id), request)

    active.input(on_active, [state, active], outputs, **quiet)

    @ctx.handle_errors
    def on_min_score(st: core.AnnotateState, value: float | None, request: gr.Request) -> tuple[Any, ...]:
        project = core.require_project(st)
        return respond(project, st, core.set_min_score(project, st, value), request)

    min_score.change(on_min_score, [state, min_score], outputs, trigger_mode="always_last", **quiet)

    @ctx.handle_errors
    def on_box_select(st: core.AnnotateState, request: gr.Request, evt: gr.SelectData) -> tuple[Any, ...]:
        project = core.require_project(st)
        return respond(project, st, core.select_box(project, st, evt.index[0]), request)

    boxes.select(on_box_select, [state], outputs, **quiet)

    @ctx.handle_errors
    def on_filter(st: core.AnnotateState, status: str, split: str, class_id: int | None,
                  request: gr.Request) -> tuple[Any, ...]:
        project = core.require_project(st)
        chosen = None if class_id in (None, -1, "") else int(class_id)
        return respond(project, st, core.set_filter(project, st, status or "", split or "", chosen), request)

    for dropdown in (status_filter, split_filter, class_filter):
        dropdown.input(on_filter, [state, status_filter, split_filter, class_filter], outputs, **quiet)

    @ctx.handle_errors
    def on_row(st: core.AnnotateState, request: gr.Request, evt: gr.SelectData) -> tuple[Any, ...]:
        project = core.require_project(st)
        image_id = evt.row_value[0] if evt.row_value else None
        outcome = core.Outcome() if image_id in (None, "") else core.show_image(project, st, int(image_id))
        return respond(project, st, outcome, request)

    page_table.select(on_row, [state], outputs, **quiet)

    @ctx.handle_errors
    def on_page(st: core.AnnotateState, number: float | None, request: gr.Request) -> tuple[Any, ...]:
        project = core.require_project(st)
        return respond(project, st, core.set_page(project, st, int(number or 1) - 1), request)

    page_prev.click(handler(lambda p, s: core.set_page(p, s, s.page - 1)), [state], outputs, **quiet)
    page_next.click(handler(lambda p, s: core.set_page(p, s, s.page + 1)), [state], outputs, **quiet)
    page_number.submit(on_page, [state, page_number], outputs, **quiet)

    # Classes ---------------------------------------------------------------------------------
    def class_handler(action: Any) -> Any:
        @ctx.handle_errors
        def run(st: core.AnnotateState, name: str, color: str, request: gr.Request) -> tuple[Any, ...]:
            project = core.require_project(st)
            outcome = action(project, st, name, color)
            # The result also shows beside the class buttons (the canvas message is far away).
            return (*respond(project, st, outcome, request), message_text(ctx, ctx.lang(request), outcome.message))

        return run

    form = [state, class_name, class_color]
    with_result = [*outputs, class_result]

    @ctx.handle_errors
    def reset_class_form(st: core.AnnotateState) -> tuple[str, str]:
        return "", core.next_class_color(core.require_project(st))

    add_class.click(class_handler(core.add_class), form, with_result, **api).success(
        reset_class_form, [state], [class_name, class_color], **quiet)

    @ctx.handle_errors
    def on_first_class(st: core.AnnotateState, name: str, request: gr.Request) -> tuple[Any, ...]:
        project = core.require_project(st)
        outcome = core.add_class(project, st, name, None)
        return (*respond(project, st, outcome, request), "", core.next_class_color(project))

    for trigger in (first_class_button.click, first_class.submit):
        trigger(on_first_class, [state, first_class], [*outputs, first_class, class_color], **api)
    save_class.click(class_handler(core.update_class), form, with_result, **api)
    up_class.click(class_handler(lambda p, s, _n, _c: core.move_class(p, s, -1)), form, with_result, **api)
    down_class.click(class_handler(lambda p, s, _n, _c: core.move_class(p, s, +1)), form, with_result, **api)
    delete_class.click(class_handler(lambda p, s, _n, _c: core.delete_class(p, s)), form, with_result, **api)

    @ctx.handle_errors
    def on_class_row(st: core.AnnotateState, evt: gr.SelectData) -> tuple[Any, ...]:
        project = core.require_project(st)
        classes = project.classes()
        row = evt.index[0]
        if not 0 <= row < len(classes):
            return st, gr.skip(), gr.skip()
        st.selected_class_id = classes[row].id
        return st, classes[row].name, classes[row].color

    class_table.select(on_class_row, [state], [state, class_name, class_color], **quiet)

    return AnnotateTab(tabs=tabs, state=state, outputs=outputs, render=functools.partial(render, ctx, canvas),
                       viewable=functools.partial(viewable, ctx))

