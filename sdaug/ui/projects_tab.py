"""Projects tab: pick, create, rename and delete projects by name; add photos from the browser;
export as a download.

Everything here names a project, never a folder: the browser sends a name and the server finds
the folder with :class:`~sdaug.dataset.projects.ProjectRegistry`. Photos arrive as uploads
(many files, a folder, a ``.zip``, or a labelled dataset as a ``.zip``) or from a folder the
person who started the server allowed with ``--import-root`` (chosen from a list); exports are
written to the project's ``exports/`` folder and offered as a download.

The project a browser has open, and its tab, are kept in the browser (``gr.BrowserState``), so a
reload or a language switch comes back to them; each user has their own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageOps

from sdaug.dataset.common import IMAGE_EXTENSIONS
from sdaug.dataset.projects import MESSAGES, ProjectInfo, format_time, parse_classes
from sdaug.dataset.store import Project
from sdaug.errors import text_of
from sdaug.prompts.metadata import write_atomic
from sdaug.ui import annotate_core as core
from sdaug.ui import common
from sdaug.ui.annotate import AnnotateTab
from sdaug.ui.context import AppContext

logger = logging.getLogger(__name__)

TAB_ID = "projects"
IMPORT_FORMATS = ("images", "yolo", "coco", "voc")
EXPORT_FORMATS = ("yolo", "coco", "voc")
THUMB_PIXELS = 256
PROBLEMS_SHOWN = 20
DEFAULT_BROWSER_STATE = {"project": "", "tab": ""}
# After the page load has restored the saved tab, tab changes are remembered (see sdaug.ui.app).
RESTORED_JS = "() => { window.sdaugRestored = true; }"

# The strings of this tab (one block, to keep merges with other tabs' strings easy).
STRINGS: dict[str, tuple[str, str]] = {
    "tab.projects": ("Projects", "项目"),
    "prj.list": ("Your projects (click one to open it)", "你的项目（点击打开）"),
    "prj.none": ("No project yet: create one on the right.", "还没有项目：请在右边新建。"),
    "prj.col.name": ("Project", "项目"),
    "prj.col.images": ("Images", "图片"),
    "prj.col.boxes": ("Boxes", "框"),
    "prj.col.classes": ("Classes", "类别"),
    "prj.col.opened": ("Last opened", "上次打开"),
    "prj.pick": ("Project", "项目"),
    "prj.open": ("Open", "打开"),
    "prj.refresh": ("↻ Refresh list", "↻ 刷新列表"),
    "prj.current": ("Open project: **{name}** · {images} images · {boxes} boxes · classes: {classes}",
                    "当前项目：**{name}** · {images} 张图片 · {boxes} 个框 · 类别：{classes}"),
    "prj.current.none": ("No project is open.", "没有打开的项目。"),
    "prj.no_classes": ("none yet", "暂无"),
    "prj.new": ("New project", "新建项目"),
    "prj.new.name": ("Name", "名称"),
    "prj.new.name.placeholder": ("e.g. bins", "例如 bins"),
    "prj.new.classes": ("Classes (comma-separated or one per line)", "类别（用逗号分隔，或每行一个）"),
    "prj.new.classes.placeholder": ("bin not full, bin overflowing, garbage", "bin not full, bin overflowing, garbage"),
    "prj.new.create": ("+ Create and open", "+ 新建并打开"),
    "prj.manage": ("Rename or delete the open project", "重命名或删除当前项目"),
    "prj.rename.name": ("New name", "新名称"),
    "prj.rename": ("Rename", "重命名"),
    "prj.delete": ("Delete project…", "删除项目…"),
    "prj.delete.confirm": ("Type the project's name to delete it with all its images, boxes and exports. "
                           "This cannot be undone.",
                           "输入项目名称以确认删除项目及其所有图片、框和导出。此操作无法撤销。"),
    "prj.delete.typed": ("Name of the project to delete", "要删除的项目名称"),
    "prj.delete.run": ("Delete for good", "永久删除"),
    "prj.delete.cancel": ("Cancel", "取消"),
    "prj.add": ("Add photos or a dataset", "添加照片或数据集"),
    "prj.add.files": ("Drop photos, a .zip of photos, or a labelled dataset (.zip) here",
                      "把照片、照片 .zip 或带标注的数据集（.zip）拖到这里"),
    "prj.add.folder": ("…or upload a whole folder of photos", "……或上传整个照片文件夹"),
    "prj.add.format": ("What is it?", "内容是什么？"),
    "prj.format.images": ("Photos (no boxes yet)", "照片（还没有框）"),
    "prj.format.yolo": ("YOLO dataset", "YOLO 数据集"),
    "prj.format.coco": ("COCO dataset", "COCO 数据集"),
    "prj.format.voc": ("Pascal VOC dataset", "Pascal VOC 数据集"),
    "prj.add.run": ("⬆ Add to the project", "⬆ 添加到项目"),
    "prj.add.root": ("…or a folder on the server (allowed by whoever started it)", "……或服务器上的文件夹（由启动者允许）"),
    "prj.add.root_run": ("Import the chosen folder", "导入所选文件夹"),
    "prj.add.report": ("Added **{added}** images with {boxes} boxes · {duplicates} duplicates not added again · "
                       "{skipped} files skipped.", "已添加 **{added}** 张图片、{boxes} 个框 · {duplicates} 张重复未再添加 · "
                       "跳过 {skipped} 个文件。"),
    "prj.add.classes": ("New classes: {names}", "新类别：{names}"),
    "prj.add.duplicates": ("Duplicates (first {count}):", "重复（前 {count} 个）："),
    "prj.add.problems": ("Problems (first {count}):", "问题（前 {count} 条）："),
    "prj.add.nothing": ("Choose photos, a folder or a .zip first.", "请先选择照片、文件夹或 .zip。"),
    "prj.export": ("Export (download)", "导出（下载）"),
    "prj.export.format": ("Format", "格式"),
    "prj.export.ratios": ("Random split train,val,test (empty: keep each image's split)",
                          "随机划分 train,val,test（留空：保留每张图的划分）"),
    "prj.export.seed": ("Seed of the random split", "随机划分的种子"),
    "prj.export.train_only": ("Variants only in train", "生成的变体只放入训练集"),
    "prj.export.run": ("Export", "导出"),
    "prj.export.download": ("⬇ Download the .zip", "⬇ 下载 .zip"),
    "prj.export.done": ("Exported in {seconds} s.", "导出完成，用时 {seconds} 秒。"),
    "prj.msg.opened": ("Opened {name}.", "已打开 {name}。"),
    "prj.msg.created": ("Created {name} with {count} classes.", "已新建 {name}，共 {count} 个类别。"),
    "prj.msg.renamed": ("Renamed to {name}.", "已重命名为 {name}。"),
    "prj.msg.deleted": ("Deleted {name}.", "已删除 {name}。"),
    "prj.msg.confirm_mismatch": ("The name typed is not {name}; nothing was deleted.",
                                 "输入的名称不是 {name}；没有删除任何内容。"),
    "prj.msg.open_first": ("Open or create a project first.", "请先打开或新建项目。"),
    "prj.msg.job_running": ("Job #{job} is running on {name}: stop it (Dataset tab) before renaming or deleting "
                            "the project.", "任务 #{job} 正在项目 {name} 上运行：请先停止（数据集页），再重命名或删除项目。"),
    "prj.msg.gone": ("The project {name} no longer exists (renamed or deleted by another user).",
                     "项目 {name} 已不存在（可能被其他用户重命名或删除）。"),
    # Refusals of sdaug.dataset.projects.ProjectError, by key (English as in MESSAGES).
    "prj.err.empty": (MESSAGES["empty"], "项目名称为空：请输入名称，例如 bins"),
    "prj.err.long": (MESSAGES["long"], "项目名称太长（{length} 个字符）；最多 {limit} 个"),
    "prj.err.dot": (MESSAGES["dot"], "项目名称 {name!r} 以点开头；请以字母或数字开头"),
    "prj.err.char": (MESSAGES["char"], "项目名称 {name!r} 含有 {char!r}；请只用字母、数字、空格、- 和 _"),
    "prj.err.link": (MESSAGES["link"], "项目 {name!r} 是指向项目文件夹之外的链接；不能在应用中打开"),
    "prj.err.missing": (MESSAGES["missing"], "没有名为 {name!r} 的项目；请先新建"),
    "prj.err.taken": (MESSAGES["taken"], "已经有名为 {name!r} 的项目；请换一个名称"),
    "prj.err.no_upload": (MESSAGES["no_upload"], "没有上传文件：请先选择照片、文件夹或 .zip"),
    "prj.err.zip_needed": (MESSAGES["zip_needed"], "{format} 数据集请打包成一个 .zip 上传：把数据集文件夹压缩后上传 .zip"),
    "prj.err.not_root": (MESSAGES["not_root"], "{choice!r} 不在本服务器允许导入的文件夹中"),
}


@dataclass
class ProjectsTab:
    """The built tab: ``connect(annotate, browser_state, header, tabs)`` wires its events once the
    Annotate tab exists (the Projects tab comes first on the page)."""

    connect: Callable[[AnnotateTab, gr.BrowserState, gr.Markdown, gr.Tabs], None]


def thumbnail(path: Path | None) -> str | None:
    """A small JPEG of ``path`` in the temp folder (made once per image; stored names are hashes)."""
    if path is None or not path.is_file():
        return None
    folder = Path(tempfile.gettempdir()) / "sdaug-thumbs"
    target = folder / f"{hashlib.sha1(str(path).encode()).hexdigest()[:16]}.jpg"
    if not target.exists():
        with Image.open(path) as img:
            small = ImageOps.exif_transpose(img).convert("RGB")
        small.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
        _save_jpeg(small, target)
    return str(target)


def _save_jpeg(image: Image.Image, target: Path) -> None:
    """Write ``target`` whole or not at all (other sessions and processes may read it meanwhile)."""
    write_atomic(target, lambda handle: image.save(handle, "JPEG", quality=85))


TABLE_COLUMNS = ("prj.col.name", "prj.col.images", "prj.col.boxes", "prj.col.classes", "prj.col.opened")


def table_row(info: ProjectInfo) -> list[object]:
    return [info.name, info.images, info.boxes, ", ".join(info.classes), format_time(info.last_opened)]


def current_text(ctx: AppContext, lang: str, project: Project | None) -> str:
    if project is None:
        return ctx.tr("prj.current.none", lang)
    info = ctx.projects.info(project.folder.name)
    return ctx.tr("prj.current", lang, name=info.name, images=info.images, boxes=info.boxes,
                  classes=", ".join(info.classes) or ctx.tr("prj.no_classes", lang))


def report_text(ctx: AppContext, lang: str, report: Any) -> str:
    """An :class:`~sdaug.dataset.common.ImportReport` for people: counts, duplicates, problems."""
    lines = [ctx.tr("prj.add.report", lang, added=report.images_added, boxes=report.boxes,
                    duplicates=report.duplicates, skipped=report.skipped)]
    if report.classes_added:
        lines.append(ctx.tr("prj.add.classes", lang, names=", ".join(report.classes_added)))
    for key, items in (("prj.add.duplicates", report.duplicate_files), ("prj.add.problems", report.problems)):
        if items:
            shown = [text_of(item, lang) for item in items[:PROBLEMS_SHOWN]]
            lines += ["", ctx.tr(key, lang, count=len(shown)), "```", *shown, "```"]
    return "\n".join(lines)


def build(ctx: AppContext) -> ProjectsTab:
    """Build the tab inside the current ``gr.Tab``; call ``connect`` on the result later."""
    ctx.add_translations(STRINGS)
    label = ctx.label
    names_state = gr.State([])  # project names in gallery order, for this session
    with gr.Row():
        with gr.Column(scale=3):
            current = gr.Markdown(label("prj.current.none"))
            gallery = gr.Gallery(label=label("prj.list"), columns=6, rows=1, height=190, allow_preview=False,
                                 preview=False, object_fit="cover", buttons=[], interactive=False,
                                 elem_id="sdaug-projects-gallery")
            table = gr.Dataframe(interactive=False, max_height=300, wrap=True)
            with gr.Row(equal_height=True):
                pick = gr.Dropdown([], label=label("prj.pick"), scale=4, allow_custom_value=True)  # checked by name
                open_button = gr.Button(label("prj.open"), variant="primary", scale=1, min_width=100)
                refresh = gr.Button(label("prj.refresh"), scale=1, min_width=100)
        with gr.Column(scale=2):
            with gr.Accordion(label("prj.new"), open=True):
                new_name = gr.Textbox(label=label("prj.new.name"), placeholder=label("prj.new.name.placeholder"),
                                      max_length=64)
                new_classes = gr.Textbox(label=label("prj.new.classes"), lines=2, max_length=4000,
                                         placeholder=label("prj.new.classes.placeholder"))
                create = gr.Button(label("prj.new.create"), variant="primary")
            with gr.Accordion(label("prj.manage"), open=False):
                with gr.Row(equal_height=True):
                    rename_to = gr.Textbox(label=label("prj.rename.name"), max_length=64, scale=3)
                    rename = gr.Button(label("prj.rename"), scale=1, min_width=100)
                delete = gr.Button(label("prj.delete"), variant="stop", size="sm")
                with gr.Group(visible=False) as confirm_group:
                    gr.Markdown(label("prj.delete.confirm"))
                    typed = gr.Textbox(label=label("prj.delete.typed"), max_length=64)
                    with gr.Row():
                        delete_run = gr.Button(label("prj.delete.run"), variant="stop", size="sm")
                        delete_cancel = gr.Button(label("prj.delete.cancel"), size="sm")
    message = gr.Markdown()
    with gr.Accordion(label("prj.add"), open=True):
        with gr.Row():
            files = gr.File(label=label("prj.add.files"), file_count="multiple", type="filepath", height=140,
                            file_types=[*sorted(IMAGE_EXTENSIONS), ".zip", ".json"], elem_id="sdaug-upload")
            folder_files = gr.File(label=label("prj.add.folder"), file_count="directory", type="filepath",
                                   height=140, elem_id="sdaug-folder-upload")
        with gr.Row(equal_height=True):
            fmt = gr.Radio([(label(f"prj.format.{f}"), f) for f in IMPORT_FORMATS], value="images",
                           label=label("prj.add.format"), scale=3)
            add_button = gr.Button(label("prj.add.run"), variant="primary", scale=1)
        roots = ctx.import_roots.choices() if ctx.import_roots.roots else []
        with gr.Row(equal_height=True, visible=bool(roots)):
            root_pick = gr.Dropdown(roots, value=None, label=label("prj.add.root"), scale=4,
                                    allow_custom_value=True)  # checked by ImportRoots.resolve, with a message
            root_button = gr.Button(label("prj.add.root_run"), scale=1)
        add_report = gr.Markdown()
    with gr.Accordion(label("prj.export"), open=False):
        with gr.Row():
            export_format = gr.Dropdown(list(EXPORT_FORMATS), value="yolo", label=label("prj.export.format"))
            export_ratios = gr.Textbox(label=label("prj.export.ratios"), placeholder="0.8,0.1,0.1", max_length=64)
            export_seed = gr.Number(value=0, precision=0, label=label("prj.export.seed"))
            export_train_only = gr.Checkbox(label=label("prj.export.train_only"), value=False)
        export_button = gr.Button(label("prj.export.run"), variant="primary")
        export_report = gr.Markdown()
        download = gr.DownloadButton(label("prj.export.download"), visible=False)

    def connect(annotate: AnnotateTab, browser_state: gr.BrowserState, header: gr.Markdown, tabs: gr.Tabs) -> None:
        """Wire the events (needs the Annotate tab, built after this one)."""
        api = {"api_visibility": "undocumented"}  # internal events: callable, not listed on the API page
        quiet = {"show_progress": "hidden", **api}

        # The list ----------------------------------------------------------------------------------
        def listing(lang: str, selected: str | None) -> tuple[Any, ...]:
            infos = ctx.projects.infos()
            items = [(thumbnail(i.thumbnail) or _blank(), i.name) for i in infos]
            names = [i.name for i in infos]
            pick_update = gr.update(choices=names, value=selected if selected in names else None)
            rows = [table_row(i) for i in infos] or [["" for _ in TABLE_COLUMNS]]
            return (names, gr.update(value=items or None, label=ctx.tr("prj.list" if items else "prj.none", lang)),
                    {"headers": [ctx.tr(k, lang) for k in TABLE_COLUMNS], "data": rows}, pick_update)

        list_outputs = [names_state, gallery, table, pick]

        @ctx.handle_errors
        def on_list(st: core.AnnotateState, request: gr.Request) -> tuple[Any, ...]:
            return listing(ctx.lang(request), _name_of(st))

        refresh.click(on_list, [annotate.state], list_outputs, **quiet)

        # Opening -----------------------------------------------------------------------------------
        def opened(project: Project | None, st: core.AnnotateState, outcome: core.Outcome, saved: dict,
                   text: str, request: gr.Request) -> tuple[Any, ...]:
            """Values for ``open_outputs`` once ``st`` shows ``project`` (or none)."""
            from sdaug.ui import settings_tab

            lang = ctx.lang(request)
            name = project.folder.name if project is not None else ""
            saved = {**restored_state(saved), "project": name}
            return (*annotate.render(project, st, outcome, lang), *listing(lang, name), saved,
                    current_text(ctx, lang, project), text,
                    settings_tab.header_text(ctx, lang, project=name))

        open_outputs = [*annotate.outputs, *list_outputs, browser_state, current, message, header]

        def show(name: str, st: core.AnnotateState, saved: dict, key: str, request: gr.Request) -> tuple[Any, ...]:
            project = ctx.open_project(name)
            _, outcome = core.open_folder(st, str(project.folder))
            return opened(project, st, outcome, saved, ctx.tr(key, request, name=project.folder.name), request)

        @ctx.handle_errors
        def on_open(name: str | None, st: core.AnnotateState, saved: dict, request: gr.Request) -> tuple[Any, ...]:
            if not name:
                raise ctx.user_error("prj.msg.open_first", request)
            return show(name, st, saved, "prj.msg.opened", request)

        open_button.click(on_open, [pick, annotate.state, browser_state], open_outputs, **api)

        @ctx.handle_errors
        def on_gallery(names: list[str], st: core.AnnotateState, saved: dict, request: gr.Request,
                       evt: gr.SelectData) -> tuple[Any, ...]:
            index = evt.index if isinstance(evt.index, int) else evt.index[0]
            if not 0 <= index < len(names):
                return tuple(gr.skip() for _ in open_outputs)
            return show(names[index], st, saved, "prj.msg.opened", request)

        gallery.select(on_gallery, [names_state, annotate.state, browser_state], open_outputs, **api)

        @ctx.handle_errors
        def on_table(st: core.AnnotateState, saved: dict, request: gr.Request, evt: gr.SelectData) -> tuple[Any, ...]:
            name = evt.row_value[0] if evt.row_value else ""
            if not name:
                return tuple(gr.skip() for _ in open_outputs)
            return show(str(name), st, saved, "prj.msg.opened", request)

        table.select(on_table, [annotate.state, browser_state], open_outputs, **api)

        @ctx.handle_errors
        def on_create(name: str, classes: str, st: core.AnnotateState, saved: dict,
                      request: gr.Request) -> tuple[Any, ...]:
            names = parse_classes(classes)
            project = ctx.projects.create(name, names)
            _, outcome = core.open_folder(st, str(project.folder))
            text = ctx.tr("prj.msg.created", request, name=project.folder.name, count=len(names))
            return opened(project, st, outcome, saved, text, request)

        create.click(on_create, [new_name, new_classes, annotate.state, browser_state], open_outputs, **api).success(
            lambda: ("", ""), None, [new_name, new_classes], queue=False, **quiet)

        @ctx.handle_errors
        def on_rename(new: str, st: core.AnnotateState, saved: dict, request: gr.Request) -> tuple[Any, ...]:
            old = _require_idle(ctx, st, request)
            folder = ctx.projects.rename(old, new)
            return show(folder.name, st, saved, "prj.msg.renamed", request)

        rename.click(on_rename, [rename_to, annotate.state, browser_state], open_outputs, **api).success(
            lambda: "", None, rename_to, queue=False, **quiet)

        delete.click(lambda: (gr.Group(visible=True), ""), None, [confirm_group, typed], queue=False, **quiet)
        delete_cancel.click(lambda: gr.Group(visible=False), None, confirm_group, queue=False, **quiet)

        @ctx.handle_errors
        def on_delete(typed_name: str, st: core.AnnotateState, saved: dict, request: gr.Request) -> tuple[Any, ...]:
            name = _require_idle(ctx, st, request)
            if (typed_name or "").strip() != name:
                raise ctx.user_error("prj.msg.confirm_mismatch", request, name=name)
            ctx.projects.delete(name)
            st.folder, st.image_id = "", None
            return opened(None, st, core.Outcome(), saved, ctx.tr("prj.msg.deleted", request, name=name), request)

        delete_run.click(on_delete, [typed, annotate.state, browser_state], open_outputs, **api).success(
            lambda: gr.Group(visible=False), None, confirm_group, queue=False, **quiet)

        # Restoring on page load: the browser's own project and tab --------------------------------
        @ctx.handle_errors
        def on_load(st: core.AnnotateState, saved: dict, request: gr.Request) -> tuple[Any, ...]:
            saved = restored_state(saved)
            name = saved["project"] or (ctx.project.name if ctx.project is not None else "")
            tab_ids = {t.id for t in tabs.children if isinstance(t, gr.Tab)}
            tab = gr.Tabs(selected=saved["tab"]) if saved["tab"] in tab_ids else gr.skip()
            if name and _exists(ctx, name):
                project = ctx.open_project(name)
                _, outcome = core.open_folder(st, str(project.folder))
                return (*opened(project, st, outcome, saved, "", request), tab)
            st.folder = ""
            return (*opened(None, st, core.Outcome(), saved, "", request), tab)

        root = gr.context.Context.root_block
        if root is None:
            raise RuntimeError("build the Projects tab inside a gr.Blocks")
        root.load(on_load, [annotate.state, browser_state], [*open_outputs, tabs], show_progress="hidden",
                  **api).then(None, js=RESTORED_JS, queue=False, show_progress="hidden", api_visibility="private")

        # Adding photos -----------------------------------------------------------------------------
        def added(project: Project, st: core.AnnotateState, report: Any, request: gr.Request) -> tuple[Any, ...]:
            lang = ctx.lang(request)
            outcome = core.Outcome(page=True, classes=True, canvas=st.image_id is None)
            if st.image_id is None:
                outcome = outcome.merge(core.go(project, st, +1))
            return (*annotate.render(project, st, outcome, lang), *listing(lang, project.folder.name),
                    report_text(ctx, lang, report), current_text(ctx, lang, project), None, None)

        add_outputs = [*annotate.outputs, *list_outputs, add_report, current, files, folder_files]

        @ctx.handle_errors
        def on_add(st: core.AnnotateState, uploaded: list[str] | None, folder_upload: list[str] | None, kind: str,
                   request: gr.Request, progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
            from sdaug.dataset.uploads import import_uploads

            project = _require_project(ctx, st, request)
            paths = [*(uploaded or []), *(folder_upload or [])]
            if not paths:
                raise ctx.user_error("prj.add.nothing", request)
            report = import_uploads(project, paths, kind, on_progress=lambda done, total: progress((done, total)))
            return added(project, st, report, request)

        add_button.click(on_add, [annotate.state, files, folder_files, fmt], add_outputs, **api)

        @ctx.handle_errors
        def on_add_root(st: core.AnnotateState, choice: str | None, kind: str, request: gr.Request,
                        progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
            from sdaug.dataset.importers import import_path

            project = _require_project(ctx, st, request)
            source = ctx.import_roots.resolve(choice or "")
            report = import_path(project, source, kind, on_progress=lambda done, total: progress((done, total)))
            return added(project, st, report, request)

        root_button.click(on_add_root, [annotate.state, root_pick, fmt], add_outputs, **api)

        # Export ------------------------------------------------------------------------------------
        @ctx.handle_errors
        def on_export(st: core.AnnotateState, kind: str, ratios: str, seed: float, train_only: bool,
                      request: gr.Request) -> tuple[Any, ...]:
            from sdaug.dataset.exporters import export_project, parse_ratios

            project = _require_project(ctx, st, request)
            if kind not in EXPORT_FORMATS:
                raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {kind!r}")
            report = export_project(project, kind, project.exports_dir / kind,
                                    ratios=parse_ratios(ratios) if (ratios or "").strip() else None,
                                    seed=int(seed or 0), zip_output=True, variants_train_only=bool(train_only))
            summary = report.summary(ctx.lang(request)).replace(str(project.folder), project.folder.name)
            text = f"{ctx.tr('prj.export.done', request, seconds=f'{report.seconds:.1f}')}\n\n```\n{summary}\n```"
            download = offered(report.zip_path, f"{project.folder.name}-{kind}.zip")
            return text, gr.DownloadButton(value=download, visible=True)

        export_button.click(on_export, [annotate.state, export_format, export_ratios, export_seed, export_train_only],
                            [export_report, download], **api)

    return ProjectsTab(connect=connect)


def restored_state(saved: object) -> dict[str, str]:
    """The browser's saved state, with anything that is not a string name dropped (the browser
    may hold an old or a tampered value)."""
    values = saved if isinstance(saved, dict) else {}
    return {key: value if isinstance(value := values.get(key), str) else default
            for key, default in DEFAULT_BROWSER_STATE.items()}


def _exists(ctx: AppContext, name: str) -> bool:
    try:
        return ctx.projects.exists(name)
    except ValueError:
        return False


def _name_of(st: core.AnnotateState) -> str | None:
    return Path(st.folder).name if st.folder else None


def _require_name(ctx: AppContext, st: core.AnnotateState, request: gr.Request) -> str:
    name = _name_of(st)
    if not name:
        raise ctx.user_error("prj.msg.open_first", request)
    if not ctx.projects.exists(name):
        raise ctx.user_error("prj.msg.gone", request, name=name)
    return name


def _require_idle(ctx: AppContext, st: core.AnnotateState, request: gr.Request) -> str:
    """The session's project name, refused while one of its jobs runs (rename and delete)."""
    from sdaug.augment.jobs import running_jobs

    name = _require_name(ctx, st, request)
    jobs = running_jobs(ctx.projects.folder(name))
    if jobs:
        raise ctx.user_error("prj.msg.job_running", request, job=jobs[0], name=name)
    return name


def _require_project(ctx: AppContext, st: core.AnnotateState, request: gr.Request) -> Project:
    return ctx.open_project(_require_name(ctx, st, request))


def offered(path: Path, name: str) -> str:
    """A link (or copy) of an export named ``name`` in a fresh temp folder, for gradio to serve:
    each export gets its own, so a download never shows an earlier export of the same name."""
    folder = Path(tempfile.mkdtemp(prefix="sdaug-download-"))
    target = folder / name
    try:
        os.link(path, target)
    except OSError:
        shutil.copyfile(path, target)
    return str(target)


def _blank() -> str:
    """A grey square for a project without images."""
    path = Path(tempfile.gettempdir()) / "sdaug-thumbs" / "empty.jpg"
    if not path.exists():
        _save_jpeg(Image.new("RGB", (THUMB_PIXELS, THUMB_PIXELS), (225, 228, 232)), path)
    return str(path)
