"""The review queue: a generated variant beside its source, both with their boxes drawn.

Variants whose carried boxes failed the drift check wait with status ``review``. For each one
the person accepts (status ``reviewed``), rejects (``rejected``, left out of exports), or opens
it in the annotator to fix a box. The scope ``auto`` holds the source images with a detector's
proposals (:mod:`sdaug.autolabel`): accept makes all of an image's proposals labels, reject
deletes them. After fixing the SOURCE's boxes, "apply the source's boxes to
its variants again" copies them onto every variant of it and checks them for drift again
(:func:`sdaug.augment.reapply.reapply_source_boxes`).

The two pictures are read-only ``image_annotator`` canvases, so the browser draws the class
names (in any script, with the user's fonts); the logic above :func:`build` has no gradio in it
and is what the tests call.
Keys: Y accept, X reject, A / D (or ← / →) previous / next, F fix in the annotator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from gradio.context import Context
from gradio_image_annotation import image_annotator

from sdaug.augment.reapply import reapply_source_boxes
from sdaug.dataset.store import Box, ClassRecord, ImageFilter, ImageRecord, Project
from sdaug.ui import annotate_core as core
from sdaug.ui import common
from sdaug.ui.annotate_keys import event_key, key_listener
from sdaug.ui.context import AppContext

if TYPE_CHECKING:
    from sdaug.ui.annotate import AnnotateTab

SCOPES = ("review", "variants", "auto")   # waiting for review / every variant / with proposals
PANEL_HEIGHT = 420
FLAGGED_COLOR = "#ff0000"
KEYS = ("y", "x", "a", "d", "arrowleft", "arrowright", "f")

STRINGS: dict[str, tuple[str, str]] = {
    "rev.scope": ("Show", "显示"),
    "rev.scope.review": ("Variants waiting for review", "待审核的变体"),
    "rev.scope.variants": ("All variants", "全部变体"),
    "rev.scope.auto": ("Auto-labelled images", "自动标注的图片"),
    "rev.compare": ("Source (left) and variant (right); red = box that failed a check; the number after "
                    "a class is its drift score (1 = the box still fits the object); \"CLIP 0.80\" is how sure "
                    "CLIP is that the box still shows its class (when the job checked meanings)",
                    "原图（左）和变体（右）；红框 = 未通过检查的框；类别后的数字是偏移分数（1 = 框仍然贴合物体）；"
                    "“CLIP 0.80”表示 CLIP 认为框里仍是该类别的把握（任务开启了语义检查时）"),
    "rev.source": ("Source", "原图"),
    "rev.variant": ("Variant", "变体"),
    "rev.accept": ("✓ Accept (Y)", "✓ 通过 (Y)"),
    "rev.reject": ("✗ Reject (X)", "✗ 拒绝 (X)"),
    "rev.prev": ("◀ Previous (A)", "◀ 上一个 (A)"),
    "rev.next": ("Next (D) ▶", "下一个 (D) ▶"),
    "rev.fix": ("✎ Fix the variant's boxes (F)", "✎ 修改变体的框 (F)"),
    "rev.fix_source": ("✎ Fix the source's boxes", "✎ 修改原图的框"),
    "rev.fix_auto": ("✎ Fix its boxes in the annotator (F)", "✎ 在标注器中修改它的框 (F)"),
    "rev.reapply": ("⟳ Apply the source's boxes to all its variants again",
                    "⟳ 把原图的框重新应用到它的全部变体"),
    "rev.keys": ("Keys: Y accept · X reject · A / D previous / next · F fix in the annotator",
                 "快捷键：Y 通过 · X 拒绝 · A / D 上一个 / 下一个 · F 在标注器中修改"),
    "rev.info": ("**{index} / {count}** · variant #{id} of source #{source} · {preset} · {status} · "
                 "{boxes} boxes, {flagged} flagged · lowest drift score {drift}{why}",
                 "**{index} / {count}** · 变体 #{id}（原图 #{source}）· {preset} · {status} · "
                 "{boxes} 个框，{flagged} 个待查 · 最低偏移分数 {drift}{why}"),
    # Why the CLIP check flagged a box (sdaug.engine.semantic), joined after the info line.
    "rev.why.best": ("the {name} looks like {other} now", "{name}现在看起来像{other}"),
    "rev.why.background": ("the {name} looks like background now", "{name}现在看起来像背景"),
    "rev.why.drop": ("the {name} is hard to recognise now (CLIP {before} → {after})",
                     "{name}现在难以辨认（CLIP {before} → {after}）"),
    "rev.why": ("\n\nCLIP check: {reasons}", "\n\nCLIP 语义检查：{reasons}"),
    "rev.info.auto": ("**{index} / {count}** · image #{id} · {file} · {status} · proposed boxes: {proposals} "
                      "(dashed in Draw boxes; the number is the detector's score) by {detector} · boxes in all: "
                      "{boxes}. Y accepts them all, X deletes them, F fixes them in the annotator.",
                      "**{index} / {count}** · 图片 #{id} · {file} · {status} · {detector} 提出的候选框 {proposals} 个"
                      "（数字是检测器的分数）· 共 {boxes} 个框。Y 全部接受，X 全部删除，F 在标注器中修改。"),
    "rev.empty": ("Nothing to review.", "没有需要审核的图片。"),
    "rev.no_project": ("Open a project in “Draw boxes” first.", "请先在“画框”中打开项目。"),
    "rev.msg.accepted": ("Accepted #{id}.", "已通过 #{id}。"),
    "rev.msg.rejected": ("Rejected #{id} (it will not be exported).", "已拒绝 #{id}（不会被导出）。"),
    "rev.msg.accepted_auto": ("Accepted {count} proposed boxes of #{id}: they are labels now.",
                              "已接受 #{id} 的 {count} 个候选框：它们现在是标注了。"),
    "rev.msg.rejected_auto": ("Deleted {count} proposed boxes of #{id}.", "已删除 #{id} 的 {count} 个候选框。"),
    "rev.msg.reapplied": ("The source's {boxes} boxes were applied to {count} variants and checked again; "
                          "{review} need review.",
                          "已把原图的 {boxes} 个框应用到 {count} 个变体并重新检查；{review} 个需要审核。"),
    "rev.msg.no_source": ("This image has no source image.", "这张图没有对应的原图。"),
    "rev.msg.end": ("End of the queue.", "已到队列末尾。"),
    "rev.msg.start": ("Start of the queue.", "已到队列开头。"),
}


# Logic (no gradio) --------------------------------------------------------------------------
@dataclass
class ReviewState:
    """The review queue of one browser session."""

    image_id: int | None = None
    scope: str = "review"

    def where(self) -> ImageFilter:
        if self.scope not in SCOPES:
            raise ValueError(f"review scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        if self.scope == "auto":
            return ImageFilter(kind="source", origin="auto")
        return ImageFilter(kind="variant", status="review" if self.scope == "review" else None)


def start(project: Project, rs: ReviewState, scope: str | None = None) -> None:
    """Show the first variant of the queue (``scope`` changes which variants it holds)."""
    if scope is not None:
        rs.scope = scope
    first = project.next_image(0, rs.where())
    rs.image_id = first.id if first else None


def go(project: Project, rs: ReviewState, direction: int) -> core.Message | None:
    """The next (``+1``) or previous (``-1``) variant of the queue; wraps to the start at the end
    when the current one left the queue (accepted or rejected)."""
    where = rs.where()
    if rs.image_id is None:
        start(project, rs)
        return None
    found = (project.next_image(rs.image_id, where) if direction > 0
             else project.previous_image(rs.image_id, where))
    if found is None:
        return ("rev.msg.end" if direction > 0 else "rev.msg.start", {})
    rs.image_id = found.id
    return None


def decide(project: Project, rs: ReviewState, accept: bool) -> core.Message:
    """Accept (``reviewed``) or reject (``rejected``) the shown variant, then show the next one.
    In the ``auto`` scope: accept (make labels) or delete all the shown image's proposals."""
    if rs.image_id is None:
        raise core.AnnotateError("no_variant")
    decided = rs.image_id
    if rs.scope == "auto":
        count = project.accept_proposals(decided) if accept else project.reject_proposals(decided)
        message: core.Message = ("rev.msg.accepted_auto" if accept else "rev.msg.rejected_auto",
                                 {"id": decided, "count": count})
    else:
        project.set_status(decided, "reviewed" if accept else "rejected")
        message = ("rev.msg.accepted" if accept else "rev.msg.rejected", {"id": decided})
    where = rs.where()
    following = project.next_image(decided, where) or project.next_image(0, where)
    rs.image_id = following.id if following else None
    return message


def source_of(project: Project, record: ImageRecord) -> ImageRecord | None:
    return project.get_image(record.source_image_id) if record.source_image_id is not None else None


def info(project: Project, rs: ReviewState) -> core.Message:
    if rs.image_id is None:
        return ("rev.empty", {})
    record = project.get_image(rs.image_id)
    boxes = project.boxes(record.id)
    where = rs.where()
    position = {"index": project.image_index(record.id, where) + 1, "count": project.count_images(where),
                "id": record.id, "status": record.status, "boxes": len(boxes)}
    if rs.scope == "auto":
        proposals = [b for b in boxes if b.origin == "auto"]
        return ("rev.info.auto", {**position, "file": record.original_name, "proposals": len(proposals),
                                  "detector": ", ".join(sorted({b.detector for b in proposals})) or "—"})
    drifts = [b.drift for b in boxes if b.drift is not None]
    classes = {c.id: c.name for c in project.classes()}
    return ("rev.info", {
        **position, "why": [reason for box in boxes if (reason := semantic_reason(box, classes)) is not None],
        "source": record.source_image_id if record.source_image_id is not None else "—", "preset": record.preset or "",
        "flagged": sum(b.needs_review for b in boxes), "drift": f"{min(drifts):.2f}" if drifts else "—",
    })


def semantic_reason(box: Box, classes: dict[int, str]) -> core.Message | None:
    """Why the CLIP check flagged ``box`` (see :mod:`sdaug.engine.semantic`), or None."""
    note = json.loads(box.semantic_note) if box.semantic_note else {}
    rule, name = note.get("rule", ""), classes.get(box.class_id, "?")
    if rule == "best":
        best = note.get("best", "")
        return ("rev.why.best", {"name": name, "other": best}) if best else ("rev.why.background", {"name": name})
    if rule == "drop":
        return ("rev.why.drop", {"name": name, "before": f"{note.get('source', 0):.2f}",
                                 "after": f"{box.semantic or 0:.2f}"})
    return None


def panel_value(project: Project, record: ImageRecord, classes: dict[int, ClassRecord]) -> dict:
    """An image and its boxes as a (read-only) ``image_annotator`` value: the browser draws the
    class names, so Chinese names need no font on the server. Flagged boxes (failed the drift
    check) are red; a box's label ends with its drift score when it has one. A detector's proposal
    (origin ``auto``) is labelled ``name score`` in its class colour."""
    boxes = []
    for box in project.boxes(record.id):
        cls = classes.get(box.class_id)
        if box.origin == "auto":
            boxes.append({"xmin": box.x1, "ymin": box.y1, "xmax": box.x2, "ymax": box.y2,
                          "label": f"{cls.name if cls else '?'} {box.score or 0:.2f}",
                          "color": core.hex_to_rgb(cls.color if cls else "#ffffff")})
            continue
        text = f"{cls.position + 1} {cls.name}" if cls else "?"
        if box.drift is not None:
            text += f" · {box.drift:.2f}"
        if box.semantic is not None:
            text += f" · CLIP {box.semantic:.2f}"
        color = FLAGGED_COLOR if box.needs_review else (cls.color if cls else "#ffffff")
        boxes.append({"xmin": box.x1, "ymin": box.y1, "xmax": box.x2, "ymax": box.y2, "label": text,
                      "color": core.hex_to_rgb(color)})
    return {"image": str(project.image_path(record)), "boxes": boxes}


def side_by_side(project: Project, image_id: int) -> tuple[dict | None, dict]:
    """Values of the two panels: the source (None when the image has none) and the image."""
    record = project.get_image(image_id)
    classes = {c.id: c for c in project.classes()}
    source = source_of(project, record)
    return (panel_value(project, source, classes) if source else None), panel_value(project, record, classes)


# The page -----------------------------------------------------------------------------------
def show_in_annotator(annotate: AnnotateTab, project: Project, ann: core.AnnotateState, image_id: int,
                      lang: str) -> tuple[Any, ...]:
    """Values for ``[*annotate.outputs, annotate.tabs]`` that open ``image_id`` in Draw boxes."""
    outcome = replace(core.show_image(project, ann, image_id), canvas=True, page=True)
    return (*annotate.render(project, ann, outcome, lang), gr.Tabs(selected="draw"))


def build(ctx: AppContext, annotate: AnnotateTab) -> None:
    """Build the review queue inside the current ``gr.Tab``; "fix" opens images in ``annotate``."""
    label = ctx.label
    state = gr.State(ReviewState())
    with gr.Row(equal_height=True):
        scope = gr.Radio([(label(f"rev.scope.{s}"), s) for s in SCOPES], value="review", label=label("rev.scope"),
                         scale=3)
        reapply = gr.Button(label("rev.reapply"), scale=2)
    compare = gr.Markdown(label("rev.compare"))
    with gr.Row(equal_height=True):
        panel = {"interactive": False, "image_type": "filepath", "visible": False, "height": PANEL_HEIGHT,
                 "boxes_alpha": 0.1, "show_download_button": False, "show_share_button": False,
                 "show_clear_button": False, "sources": []}
        with gr.Column(scale=1, min_width=200) as source_column:
            source_panel = image_annotator(label=label("rev.source"), show_label=False, **panel)
        with gr.Column(scale=1, min_width=200):
            variant_panel = image_annotator(label=label("rev.variant"), show_label=False, **panel)
    with gr.Row():
        prev_button = gr.Button(label("rev.prev"), size="sm")
        accept_button = gr.Button(label("rev.accept"), size="sm", variant="primary")
        reject_button = gr.Button(label("rev.reject"), size="sm", variant="stop")
        next_button = gr.Button(label("rev.next"), size="sm")
        fix_button = gr.Button(label("rev.fix"), size="sm")
        fix_source_button = gr.Button(label("rev.fix_source"), size="sm")
        fix_auto_button = gr.Button(label("rev.fix_auto"), size="sm", visible=False)
    info_md = gr.Markdown()
    message = gr.Markdown()
    keys = key_listener(label("rev.keys"), KEYS, elem_id="sdaug-review-keys")
    outputs = [state, source_panel, variant_panel, info_md, message]
    quiet = {"show_progress": "hidden", "api_visibility": "undocumented"}

    def respond(ann: core.AnnotateState, rs: ReviewState, msg: core.Message | None,
                request: gr.Request) -> tuple[Any, ...]:
        lang = ctx.lang(request)
        text = ctx.tr(msg[0], lang, **msg[1]) if msg else ""
        if not ann.folder:
            hidden = gr.update(value=None, visible=False)
            return rs, hidden, hidden, ctx.tr("rev.no_project", lang), text
        project = core.open_project(ann.folder)
        if rs.image_id is None:
            start(project, rs)
        key, values = info(project, rs)
        if "status" in values:
            values["status"] = ctx.tr(f"ann.status.{values['status']}", lang)
        if key == "rev.info":
            values["preset"] = common.preset_title(ctx, lang, str(values["preset"]))
            reasons = ("；" if lang == "zh" else "; ").join(ctx.tr(k, lang, **v) for k, v in values["why"])
            values["why"] = ctx.tr("rev.why", lang, reasons=reasons) if reasons else ""
        panels = side_by_side(project, rs.image_id) if rs.image_id is not None else (None, None)
        for value in panels:
            if value is not None:
                value["image"] = annotate.viewable(Path(value["image"]))
        source, shown = (gr.update(value=v, visible=v is not None) for v in panels)
        return rs, source, shown, ctx.tr(key, lang, **values), text

    def action(ann: core.AnnotateState, rs: ReviewState, name: str) -> core.Message | None:
        project = core.require_project(ann)
        if name == "accept":
            return decide(project, rs, accept=True)
        if name == "reject":
            return decide(project, rs, accept=False)
        if name == "reapply":
            record = project.get_image(rs.image_id) if rs.image_id is not None else None
            if record is None or record.source_image_id is None:
                return ("rev.msg.no_source", {})
            variants = reapply_source_boxes(project, record.source_image_id, ctx.settings)
            return ("rev.msg.reapplied", {"count": len(variants), "boxes": len(project.boxes(record.source_image_id)),
                                          "review": sum(v.status == "review" for v in variants)})
        return go(project, rs, -1 if name == "prev" else +1)

    def on(name: str) -> Any:
        @ctx.handle_errors
        def run(ann: core.AnnotateState, rs: ReviewState, request: gr.Request) -> tuple[Any, ...]:
            return respond(ann, rs, action(ann, rs, name), request)

        return run

    for button, name in ((prev_button, "prev"), (next_button, "next"), (accept_button, "accept"),
                         (reject_button, "reject"), (reapply, "reapply")):
        button.click(on(name), [annotate.state, state], outputs, **quiet)

    @ctx.handle_errors
    def on_scope(ann: core.AnnotateState, rs: ReviewState, value: str, request: gr.Request) -> tuple[Any, ...]:
        if ann.folder:
            start(core.open_project(ann.folder), rs, value)
        return respond(ann, rs, None, request)

    def variant_parts(value: str) -> tuple[Any, ...]:
        """The parts about variants and their sources are hidden for the auto-labelled images."""
        variants = value != "auto"
        return (*(gr.update(visible=variants) for _ in range(5)), gr.update(visible=not variants))

    variant_widgets = [compare, source_column, reapply, fix_button, fix_source_button, fix_auto_button]
    scope.input(on_scope, [annotate.state, state, scope], outputs, **quiet).then(
        variant_parts, [scope], variant_widgets, queue=False, **quiet)

    @ctx.handle_errors
    def on_show(ann: core.AnnotateState, rs: ReviewState, request: gr.Request) -> tuple[Any, ...]:
        return respond(ann, rs, None, request)

    # The queue is read again whenever the sub-tab is opened (the annotator may have changed it).
    tab = Context.block
    if isinstance(tab, gr.Tab):
        tab.select(on_show, [annotate.state, state], outputs, **quiet)

    def open_in_annotator(ann: core.AnnotateState, rs: ReviewState, source: bool,
                          request: gr.Request) -> tuple[Any, ...]:
        project = core.require_project(ann)
        if rs.image_id is None:
            raise core.AnnotateError("no_variant")
        record = project.get_image(rs.image_id)
        target = record.source_image_id if source and record.source_image_id is not None else record.id
        return show_in_annotator(annotate, project, ann, target, ctx.lang(request))

    @ctx.handle_errors
    def on_fix(ann: core.AnnotateState, rs: ReviewState, request: gr.Request) -> tuple[Any, ...]:
        return open_in_annotator(ann, rs, False, request)

    @ctx.handle_errors
    def on_fix_source(ann: core.AnnotateState, rs: ReviewState, request: gr.Request) -> tuple[Any, ...]:
        return open_in_annotator(ann, rs, True, request)

    fix_outputs = [*annotate.outputs, annotate.tabs]
    for button in (fix_button, fix_auto_button):
        button.click(on_fix, [annotate.state, state], fix_outputs, **quiet)
    fix_source_button.click(on_fix_source, [annotate.state, state], fix_outputs, **quiet)

    key_names = {"y": "accept", "x": "reject", "a": "prev", "arrowleft": "prev", "d": "next", "arrowright": "next"}

    @ctx.handle_errors
    def on_key(ann: core.AnnotateState, rs: ReviewState, request: gr.Request, evt: gr.EventData) -> tuple[Any, ...]:
        key = event_key(evt)
        if key == "f":
            return (*respond(ann, rs, None, request), *open_in_annotator(ann, rs, False, request))
        name = key_names.get(key)
        msg = action(ann, rs, name) if name else None
        return (*respond(ann, rs, msg, request), *[gr.skip()] * len(fix_outputs))

    keys.click(on_key, [annotate.state, state], [*outputs, *fix_outputs], trigger_mode="multiple", **quiet)
