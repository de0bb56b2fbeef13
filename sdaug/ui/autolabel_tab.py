"""The "Auto-label" sub-tab of the Annotate tab: propose boxes, train a detector, next to label.

What each part does is :mod:`sdaug.autolabel.panel` (no gradio there); this module builds the
components and turns results into text in the user's language. The two runs (propose, train)
each have one big button that becomes Stop while they run (:func:`sdaug.ui.common.wire_run`);
the same settings again resume a stopped run. The project is the one open in "Draw boxes".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from sdaug.augment.jobs import format_duration
from sdaug.autolabel import panel
from sdaug.autolabel.jobs import DEFAULT_DETECTOR, AutolabelSpec
from sdaug.autolabel.train import TrainSpec
from sdaug.ui import annotate_core as core
from sdaug.ui import common, review
from sdaug.ui.context import AppContext

if TYPE_CHECKING:
    from sdaug.ui.annotate import AnnotateTab

NEXT_COLUMNS = ("al.col.file", "al.col.uncertainty", "al.col.proposals", "al.col.status")
DESCRIPTION_COLUMNS = ("al.col.class", "al.col.description")
RESULT_HEIGHT = 56  # room for the progress bar that runs on the (empty) result line

STRINGS: dict[str, tuple[str, str]] = {
    "al.tab": ("Auto-label", "自动标注"),
    "al.intro": ("A detector proposes boxes for your classes. Proposed boxes are **not labels** until you accept "
                 "them (Review queue → “Auto-labelled images”, or in Draw boxes); exports leave them out.",
                 "检测器为你的类别提出候选框。候选框在你接受之前**不是标注**（审核队列 →“自动标注的图片”，或在“画框”中）；"
                 "导出时不包含它们。"),
    "al.propose.title": ("### 1. Propose boxes", "### 1. 生成候选框"),
    "al.detector": ("Detector", "检测器"),
    "al.detector.info": ("OWLv2 finds your classes by their names (no training needed); trained:NAME is a detector "
                         "trained on your labels (step 2). You may also type a model folder or a hub id.",
                         "OWLv2 按类别名称查找物体（无需训练）；trained:名称 是用你的标注训练的检测器（第 2 步）。"
                         "也可以输入模型文件夹或 Hub ID。"),
    "al.threshold": ("Keep boxes scoring at least", "只保留分数不低于此值的框"),
    "al.only_unlabelled": ("Only images without labels", "只处理没有标注的图片"),
    "al.descriptions": ("Describe the classes (optional: helps the zero-shot detector)",
                        "描述各个类别（可选：帮助零样本检测器）"),
    "al.col.class": ("Class", "类别"),
    "al.col.description": ("Description, e.g. overflowing trash bin, lid open", "描述，例如：垃圾溢出、盖子打开的垃圾桶"),
    "al.propose.start": ("▶ Propose boxes", "▶ 生成候选框"),
    "al.stop": ("■ Stop", "■ 停止"),
    "al.propose.progress": ("{done}/{total} images · {failed} failed · ETA {eta}",
                            "已完成 {done}/{total} 张 · 失败 {failed} 张 · 剩余 {eta}"),
    "al.propose.result": ("Job #{job}: {done}/{total} images done, {failed} failed. **{boxes} boxes proposed on "
                          "{images} images**: they wait in the Review queue (“Auto-labelled images”) and are left out "
                          "of exports.",
                          "任务 #{job}：已完成 {done}/{total} 张，失败 {failed} 张。**在 {images} 张图片上提出了 {boxes} 个候选框**："
                          "它们在审核队列（“自动标注的图片”）中等待确认，导出时不包含。"),
    "al.propose.resume": (" Not finished: press the button again with the same settings to continue.",
                          " 尚未完成：用相同的设置再按一次按钮即可继续。"),
    "al.propose.failures": ("\n\nFailed images:\n\n{lines}", "\n\n失败的图片：\n\n{lines}"),
    "al.train.title": ("### 2. Train a detector on my labels", "### 2. 用我的标注训练检测器"),
    "al.train.help": ("Fine-tunes RT-DETR on the labelled and reviewed images of the **train** split ({train} now) and "
                      "measures `mAP@0.5` on the **val** split ({val} now). Then choose trained:NAME as the detector "
                      "above. The same name again continues from the last epoch.",
                      "在 **train** 划分中已标注和已审核的图片上微调 RT-DETR（目前 {train} 张），并在 **val** 划分上"
                      "测量 `mAP@0.5`（目前 {val} 张）。之后在上方选择 trained:名称 作为检测器。用同一名称再次训练会从上一轮继续。"),
    "al.train.name": ("Name", "名称"),
    "al.train.base": ("Start from", "基础模型"),
    "al.train.epochs": ("Epochs", "训练轮数"),
    "al.train.more": ("More settings", "更多设置"),
    "al.train.image_size": ("Image size (pixels)", "图片尺寸（像素）"),
    "al.train.batch_size": ("Batch size", "批大小"),
    "al.train.start": ("▶ Train", "▶ 开始训练"),
    "al.train.epoch": ("Epoch {epoch}/{epochs} · loss {loss} · ETA {eta}", "第 {epoch}/{epochs} 轮 · 损失 {loss} · 剩余 {eta}"),
    "al.train.result": ("Detector **{name}**: {epochs} epochs on {train} images; held-out **`mAP@0.5` {map50}** on {val} "
                        "val images. Use it: choose trained:{name} as the detector above.",
                        "检测器 **{name}**：在 {train} 张图片上训练了 {epochs} 轮；在 {val} 张 val 图片上的 **`mAP@0.5` 为 "
                        "{map50}**。使用方法：在上方选择 trained:{name} 作为检测器。"),
    "al.train.no_val": ("Detector **{name}**: {epochs} epochs on {train} images. No image of the val split is "
                        "labelled, so there is no held-out mAP: set the split of some labelled images to val. Use it: "
                        "choose trained:{name} as the detector above.",
                        "检测器 **{name}**：在 {train} 张图片上训练了 {epochs} 轮。val 划分中没有已标注的图片，因此无法测量 "
                        "mAP：请把一些已标注图片的划分设为 val。使用方法：在上方选择 trained:{name} 作为检测器。"),
    "al.train.resume": (" Stopped before the last epoch: press Train again with the same name to continue.",
                        " 在最后一轮之前停止：用同一名称再按“开始训练”即可继续。"),
    "al.next.title": ("### 3. Next to label", "### 3. 接下来标注哪张"),
    "al.next.why": ("Label the images in this order. The detector is **least sure** about the first ones (uncertainty "
                    "near 1: its scores are near 0.5), so labelling them teaches the next detector the most; images "
                    "it has not looked at yet come last.",
                    "请按这个顺序标注。检测器对排在前面的图片**最没有把握**（不确定度接近 1：分数接近 0.5），"
                    "所以标注它们对下一个检测器帮助最大；检测器还没看过的图片排在最后。"),
    "al.next.open": ("✎ Open the next image to label", "✎ 打开下一张要标注的图片"),
    "al.next.refresh": ("↻ Refresh", "↻ 刷新"),
    "al.next.none": ("Every source image is labelled.", "所有原图都已标注。"),
    "al.col.file": ("File", "文件"),
    "al.col.uncertainty": ("Uncertainty", "不确定度"),
    "al.col.proposals": ("Proposed boxes", "候选框"),
    "al.col.status": ("Status", "状态"),
    "al.no_project": ("Open a project first (Projects tab).", "请先打开一个项目（“项目”标签页）。"),
    "al.err.no_classes": (panel.MESSAGES["no_classes"], "项目还没有类别：请先在“画框”中添加检测器要查找的类别"),
    "al.err.no_train": (panel.MESSAGES["no_train"],
                        "train 划分中没有已标注的图片：请先标注（或审核）一些划分为 train 的图片，然后再训练"),
    "al.err.no_images": (panel.MESSAGES["no_images"], "没有未标注的图片：取消勾选“只处理没有标注的图片”即可为已标注的图片也生成候选框"),
    "al.err.no_proposals": (panel.MESSAGES["no_proposals"], "这张图片没有候选框"),
}


def eta_text(seconds: float | None) -> str:
    return format_duration(seconds) if seconds is not None else "—"


def propose_text(ctx: AppContext, lang: str, status: panel.ProposeStatus) -> str:
    text = ctx.tr("al.propose.result", lang, job=status.job_id, done=status.done, total=status.total,
                  failed=status.failed, boxes=status.boxes, images=status.images)
    if status.done + status.failed < status.total:
        text += ctx.tr("al.propose.resume", lang)
    if status.failures:
        text += ctx.tr("al.propose.failures", lang, lines="\n".join(f"- {line}" for line in status.failures[:10]))
    return text


def train_text(ctx: AppContext, lang: str, spec: TrainSpec, result: Any) -> str:
    values = {"name": spec.name, "epochs": result.epochs, "train": result.train_images, "val": result.val_images,
              "map50": f"{result.map50:.3f}"}
    text = ctx.tr("al.train.result" if result.val_images else "al.train.no_val", lang, **values)
    return text + (ctx.tr("al.train.resume", lang) if result.epochs < spec.epochs else "")


def table(ctx: AppContext, lang: str, keys: tuple[str, ...], rows: list[list[object]]) -> dict:
    return {"headers": [ctx.tr(k, lang) for k in keys], "data": rows or [["" for _ in keys]]}


def build(ctx: AppContext, annotate: AnnotateTab) -> None:
    """Build the sub-tab inside the Annotate tab's ``gr.Tabs``; the project is ``annotate``'s."""
    ctx.add_translations(STRINGS)
    label = ctx.label
    tiny = ctx.is_tiny
    quiet = {"show_progress": "hidden", "api_visibility": "undocumented"}
    with gr.Tab(label("al.tab"), id="autolabel") as tab:
        gr.Markdown(label("al.intro"))
        # 1. Propose boxes.
        gr.Markdown(label("al.propose.title"))
        with gr.Row(equal_height=True):
            detector = gr.Dropdown(panel.detector_choices(None, tiny), value=panel.TINY if tiny else DEFAULT_DETECTOR,
                                   allow_custom_value=True, label=label("al.detector"), info=label("al.detector.info"),
                                   scale=3)
            threshold = gr.Slider(0.01, 1.0, value=0.2, step=0.01, label=label("al.threshold"), scale=2)
            only_unlabelled = gr.Checkbox(value=True, label=label("al.only_unlabelled"), scale=1)
        with gr.Accordion(label("al.descriptions"), open=False):
            descriptions = gr.Dataframe(headers=[label(k) for k in DESCRIPTION_COLUMNS], type="array",
                                        interactive=True, column_count=(2, "fixed"), show_label=False)
        propose_buttons = common.RunButtons(
            gr.Button(label("al.propose.start"), variant="primary", size="lg", elem_id="sdaug-propose"),
            gr.Button(label("al.stop"), variant="stop", size="lg", visible=False, elem_id="sdaug-propose-stop"))
        propose_md = gr.Markdown(elem_id="sdaug-propose-result", min_height=RESULT_HEIGHT)
        # 2. Train a detector.
        gr.Markdown(label("al.train.title"))
        train_help = gr.Markdown()
        with gr.Row(equal_height=True):
            name = gr.Textbox(value="detector", label=label("al.train.name"), scale=2)
            base = gr.Dropdown(panel.base_choices(tiny), value=panel.TINY if tiny else panel.DEFAULT_BASE,
                               allow_custom_value=True, label=label("al.train.base"), scale=3)
            epochs = gr.Slider(1, 200, value=20, step=1, label=label("al.train.epochs"), scale=2)
        with gr.Accordion(label("al.train.more"), open=False), gr.Row():
            image_size = gr.Slider(64, 1024, value=TrainSpec.image_size, step=32, label=label("al.train.image_size"))
            batch_size = gr.Slider(1, 32, value=TrainSpec.batch_size, step=1, label=label("al.train.batch_size"))
        train_buttons = common.RunButtons(
            gr.Button(label("al.train.start"), variant="primary", size="lg", elem_id="sdaug-train"),
            gr.Button(label("al.stop"), variant="stop", size="lg", visible=False, elem_id="sdaug-train-stop"))
        train_md = gr.Markdown(elem_id="sdaug-train-result", min_height=RESULT_HEIGHT)
        # 3. Next to label.
        gr.Markdown(label("al.next.title"))
        gr.Markdown(label("al.next.why"))
        with gr.Row():
            open_next = gr.Button(label("al.next.open"), variant="primary", elem_id="sdaug-open-next")
            refresh = gr.Button(label("al.next.refresh"))
        next_table = gr.Dataframe(headers=[label(k) for k in NEXT_COLUMNS], interactive=False, max_height=360,
                                  show_label=False, elem_id="sdaug-next-table")

    def show(ann: core.AnnotateState, chosen: str, lang: str) -> tuple[Any, ...]:
        """Detector choices (with the project's trained ones), class descriptions, train counts, next table."""
        if not ann.folder:
            note = ctx.tr("al.no_project", lang)
            return gr.update(choices=panel.detector_choices(None, tiny)), gr.skip(), note, gr.skip()
        project = core.open_project(ann.folder)
        choices = panel.detector_choices(project, tiny)
        rows = [[c.name, c.description] for c in project.classes()]
        train_count, val_count = panel.labelled_counts(project)
        return (gr.update(choices=choices if chosen in choices else [*choices, chosen]),
                table(ctx, lang, DESCRIPTION_COLUMNS, rows), ctx.tr("al.train.help", lang, train=train_count,
                                                                   val=val_count),
                table(ctx, lang, NEXT_COLUMNS, [[*r[:3], ctx.tr(f"ann.status.{r[3]}", lang)]
                                                for r in panel.next_rows(project)]
                      or [[ctx.tr("al.next.none", lang), "", "", ""]]))

    shown = [detector, descriptions, train_help, next_table]

    @ctx.handle_errors
    def on_show(ann: core.AnnotateState, chosen: str, request: gr.Request) -> tuple[Any, ...]:
        return show(ann, chosen, ctx.lang(request))

    tab.select(on_show, [annotate.state, detector], shown, **quiet)
    refresh.click(on_show, [annotate.state, detector], shown, **quiet)

    @ctx.handle_errors
    def on_propose(ann: core.AnnotateState, chosen: str, score: float, only: bool, described: list[list[str]] | None,
                   request: gr.Request, progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
        lang, session = ctx.lang(request), common.session_of(request)
        project = core.require_project(ann)
        try:
            panel.set_descriptions(project, {str(r[0]): str(r[1] or "") for r in described or [] if r and r[0]})
            spec = AutolabelSpec(detector=(chosen or "").strip(), threshold=float(score), only_unlabelled=bool(only))

            def report(status: panel.ProposeStatus) -> None:
                progress(status.fraction, desc=ctx.tr("al.propose.progress", lang, done=status.done,
                                                      total=status.total, failed=status.failed,
                                                      eta=eta_text(status.eta_s)))

            progress(0.0, desc=ctx.tr("progress.starting", lang))
            status = panel.propose(project, spec, lambda: ctx.manager, ctx.settings, on_progress=report,
                                   stop=ctx.cancel_flag(session))
        finally:
            ctx.end_run(session)
        return (propose_text(ctx, lang, status), *show(ann, chosen, lang))

    common.wire_run(ctx, propose_buttons, on_propose, [annotate.state, detector, threshold, only_unlabelled,
                                                        descriptions], [propose_md, *shown],
                    api_name="autolabel_propose", api_visibility="undocumented", show_progress_on=[propose_md])

    @ctx.handle_errors
    def on_train(ann: core.AnnotateState, chosen: str, text: str, base_name: str, n: float, size: float,
                 batch: float, request: gr.Request, progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
        lang, session = ctx.lang(request), common.session_of(request)
        project = core.require_project(ann)
        spec = TrainSpec(name=(text or "").strip(), base=(base_name or "").strip(), epochs=common.whole(n),
                         image_size=common.whole(size), batch_size=common.whole(batch))
        pace = panel.Pace()

        def report(epoch: Any) -> None:
            pace.report(epoch.epoch)
            progress(epoch.epoch / epoch.epochs, desc=ctx.tr("al.train.epoch", lang, epoch=epoch.epoch,
                                                             epochs=epoch.epochs, loss=f"{epoch.loss:.3f}",
                                                             eta=eta_text(pace.eta(epoch.epochs - epoch.epoch))))

        try:
            progress(0.0, desc=ctx.tr("progress.starting", lang))
            result = panel.train(project, spec, lambda: ctx.manager, ctx.settings, on_epoch=report,
                                 stop=ctx.cancel_flag(session))
        finally:
            ctx.end_run(session)
        return (train_text(ctx, lang, spec, result), *show(ann, chosen, lang))

    common.wire_run(ctx, train_buttons, on_train, [annotate.state, detector, name, base, epochs, image_size,
                                                    batch_size], [train_md, *shown],
                    api_name="autolabel_train", api_visibility="undocumented", show_progress_on=[train_md])

    @ctx.handle_errors
    def on_open_next(ann: core.AnnotateState, request: gr.Request) -> tuple[Any, ...]:
        project = core.require_project(ann)
        image_id = panel.next_to_label(project)
        if image_id is None:
            raise ctx.user_error("al.next.none", request)
        return review.show_in_annotator(annotate, project, ann, image_id, ctx.lang(request))

    open_next.click(on_open_next, [annotate.state], [*annotate.outputs, annotate.tabs], **quiet)
