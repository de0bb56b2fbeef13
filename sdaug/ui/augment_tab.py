"""The "Augment" section of the Dataset tab: choose presets, preview them, run the job.

"Preview" runs the chosen presets on 4 sample images of the project and shows them as a grid
with an estimate of the whole job's time (:func:`sdaug.augment.preview.preview`). "Start"
creates the job (or finds the same one: starting again resumes it) and runs it in the
background :class:`~sdaug.augment.jobs.JobRunner`, which lives in the server, not in the
browser tab: closing or reloading the page does not stop it, and the page shows the project's
latest job again on reload; "Start" with no preset ticked resumes that job (after a Stop or a
restart of the app), trying its failed images again up to the limit of tries; "Retry failed"
tries them again past it. The status names each failed image and why. A ``gr.Timer`` polls the
progress while a job runs.

"Run on" chooses the backend: this computer (in-process), or the Ray cluster that whoever
started the server named (``sdaug ui --ray-address auto|HOST:PORT|local``, or
``SDAUG_RAY_ADDRESS``); the choice is shown only when the server offers Ray. A Ray job shows
how many images each worker made; Stop and "Retry failed" (on the backend the job last ran on)
work the same on both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import gradio as gr

from sdaug.augment.jobs import (
    BACKENDS,
    ENGINES,
    MAX_ITEM_ATTEMPTS,
    JobSpec,
    JobStatus,
    create_job,
    failure_lines,
    format_duration,
    job_report,
    runner_for,
)
from sdaug.augment.presets import KINDS, load_presets
from sdaug.dataset.store import SPLITS, ImageFilter, Project
from sdaug.errors import InputError, describe
from sdaug.ui import common, i18n
from sdaug.ui.context import AppContext

PREVIEW_SAMPLES = 4
POLL_S = 1.0

STRINGS: dict[str, tuple[str, str]] = {
    "job.title": ("Augment: make weather and lighting variants", "扩充：生成天气和光照变体"),
    "job.presets.weather": ("Weather presets", "天气预设"),
    "job.presets.lighting": ("Lighting presets", "光照预设"),
    "job.variants": ("More variants per source image and preset (added to those already made)",
                     "每张原图每个预设再追加的变体数（加在已有变体之外）"),
    "job.preview.progress": ("Preview: preset {index}/{count} ({preset})", "预览：第 {index}/{count} 个预设（{preset}）"),
    "job.preview.step": ("step {step}/{steps}", "第 {step}/{steps} 步"),
    "job.cpu": ("No GPU: diffusion runs on the CPU and takes minutes per image. The preview makes {count} "
                "image(s) and measures the time per image for the whole job's estimate; Classic effects need no GPU.",
                "没有 GPU：扩散模型在 CPU 上运行，每张图需要几分钟。预览会生成 {count} 张图并实测每张的用时，"
                "用于估算整个任务；经典特效不需要 GPU。"),
    "job.cpu.start": ("No GPU: diffusion runs on the CPU and takes minutes per image. The status line shows the "
                      "time per image measured on this computer after the first images; Stop keeps what is done.",
                      "没有 GPU：扩散模型在 CPU 上运行，每张图需要几分钟。前几张完成后，状态行会显示本机实测的每张用时；"
                      "点“停止”会保留已完成的图片。"),
    "job.msg.generating": ("{preset}: making {count} image(s)", "{preset}：正在生成 {count} 张图片"),
    "job.grid.columns": ("Preview columns, left to right: {columns}.", "预览的列（从左到右）：{columns}。"),
    "job.grid.source": ("source photo", "原图"),
    "job.per_source": ("This job adds {n} more per source image and preset: {details}.",
                       "本任务为每张原图每个预设再追加 {n} 个：{details}。"),
    "job.per_source.item": ("{preset} {before} → {after} per source", "{preset} 每张原图 {before} → {after} 个"),
    "job.engine": ("Engine", "引擎"),
    "job.engine.diffusion": ("Stable Diffusion (GPU, realistic)", "Stable Diffusion（GPU，逼真）"),
    "job.engine.classic": ("Classic effects (CPU, fast, no model)", "经典特效（CPU，快速，无需模型）"),
    "job.split": ("Only source images of split", "只用这个划分的原图"),
    "job.split.any": ("(any)", "（全部）"),
    "job.preview": ("Preview on 4 images", "用 4 张图预览"),
    "job.start": ("▶ Start / resume", "▶ 开始 / 继续"),
    "job.stop": ("■ Stop", "■ 停止"),
    "job.retry": ("↻ Retry failed images", "↻ 重试失败的图片"),
    "job.grid": ("Preview (green box: passes the drift check; red: goes to review)",
                 "预览（绿框：通过偏移检查；红框：需要审核）"),
    "job.progress": ("Progress", "进度"),
    "job.report": ("Result per preset", "各预设结果"),
    "job.estimate": ("Whole job: {images} images ({sources} source images × {presets} presets × {variants}), "
                     "about {duration}.", "整个任务：{images} 张（{sources} 张原图 × {presets} 个预设 × {variants}），"
                     "约需 {duration}。"),
    "job.status": ("Job #{job} · {state} · {done}/{total} done · {failed} failed · {per_image} per image (measured) · "
                   "ETA {eta}",
                   "任务 #{job} · {state} · 已完成 {done}/{total} · 失败 {failed} · 每张 {per_image}（实测）· 剩余 {eta}"),
    "job.status.message": (" · {message}", " · {message}"),
    "job.status.workers": (" · per worker: {workers}", " · 各工作进程：{workers}"),
    "job.backend": ("Run on", "运行位置"),
    "job.backend.in-process": ("This computer", "本机"),
    "job.backend.ray": ("Ray cluster (several GPUs or machines)", "Ray 集群（多块 GPU 或多台机器）"),
    "job.status.error": ("\n\n⚠ {error}", "\n\n⚠ {error}"),
    "job.state.pending": ("waiting", "等待中"),
    "job.state.running": ("running", "运行中"),
    "job.state.stopping": ("stopping", "正在停止"),
    "job.state.stopped": ("stopped", "已停止"),
    "job.state.done": ("done", "已完成"),
    "job.state.failed": ("finished with failures", "已结束（有失败项）"),
    "job.failures": ("\n\n**{failed} image(s) failed:**\n\n{lines}",
                     "\n\n**{failed} 张图片失败：**\n\n{lines}"),
    "job.failures.retry": ("\n\nPress Start to try them again.", "\n\n点“开始”重试。"),
    "job.failures.gave_up": ("\n\n{n} failed {tries} times: fix them, then press Retry failed images.",
                             "\n\n{n} 张已失败 {tries} 次：修复后点“重试失败的图片”。"),
    "job.no_job": ("No job yet: choose presets and press Start.", "还没有任务：选择预设后点“开始”。"),
    "job.no_presets": ("Choose at least one preset (or open a project with a stopped job to resume it).",
                       "请至少选择一个预设（或打开有已停止任务的项目以继续该任务）。"),
    "job.col.preset": ("Preset", "预设"),
    "job.col.done": ("Done", "完成"),
    "job.col.failed": ("Failed", "失败"),
    "job.col.passed": ("Passed the drift check", "通过偏移检查"),
    "job.col.review": ("To review", "待审核"),
}


@dataclass
class AugmentState:
    """The job the session shows (the latest job of the project when the page opens)."""

    job_id: int | None = None


def preset_key(kind: str, name: str) -> str:
    return f"job.preset.{kind}.{name}"


def make_spec(presets: list[str], variants: float, engine: str, split: str, model: str) -> JobSpec:
    """The :class:`JobSpec` of the form (the model only matters to the diffusion engine)."""
    if not presets:
        raise InputError("job.choose_preset")
    return JobSpec(presets=tuple(presets), variants=int(variants or 1), engine=engine,
                   model=model if engine == "diffusion" else "", split=split or None)


def latest_job(project: Project) -> int | None:
    jobs = project.jobs("augment")
    return jobs[-1].id if jobs else None


def status_params(status: JobStatus) -> dict[str, object]:
    return {"job": status.job_id, "state": status.state, "done": status.done, "total": status.total,
            "failed": status.failed, "rate": f"{status.images_per_s:.2f}",
            "per_image": common.format_seconds(1 / status.images_per_s) if status.images_per_s else "—",
            "eta": format_duration(status.eta_s) if status.eta_s is not None else "—"}


def per_source_counts(project: Project, presets: list[str], where: ImageFilter) -> dict[str, float]:
    """Variants already made per source image, for each preset (averaged over the sources)."""
    sources = project.count_images(where)
    return {name: project.count_images(ImageFilter(kind="variant", condition=name)) / sources if sources else 0.0
            for name in presets}


def per_source_note(ctx: AppContext, lang: str, project: Project, presets: list[str], n: int,
                    where: ImageFilter) -> str:
    """"This job adds N more per source: fog 2 → 6 per source, …" (variants add up across jobs)."""
    if not presets:
        return ""
    details = ", ".join(ctx.tr("job.per_source.item", lang, preset=common.preset_title(ctx, lang, name),
                               before=f"{before:g}", after=f"{before + n:g}")
                        for name, before in per_source_counts(project, presets, where).items())
    return ctx.tr("job.per_source", lang, n=n, details=details)


_STEP = re.compile(r"^step (?P<step>\d+)/(?P<steps>\d+)$")
_GENERATING = re.compile(r"^(?P<preset>.+): generating (?P<count>\d+) image\(s\)$")


def job_message(ctx: AppContext, lang: str, message: str) -> str:
    """A job runner's progress message ("fog: generating 4 image(s)", "step 3/20", an engine
    phase) in ``lang``."""
    if match := _STEP.match(message):
        return ctx.tr("job.preview.step", lang, **match.groupdict())
    if match := _GENERATING.match(message):
        return ctx.tr("job.msg.generating", lang, preset=common.preset_title(ctx, lang, match["preset"]),
                      count=match["count"])
    return i18n.translate_phase(message, lang)


def report_rows(ctx: AppContext, lang: str, project: Project, job_id: int) -> list[list[object]]:
    return [[common.preset_title(ctx, lang, r.preset), f"{r.done}/{r.total}", r.failed,
             f"{r.passed} ({r.pass_rate:.0%})" if r.pass_rate is not None else r.passed, r.review]
            for r in job_report(project, job_id)]


REPORT_COLUMNS = ("job.col.preset", "job.col.done", "job.col.failed", "job.col.passed", "job.col.review")


def build(ctx: AppContext, folder: gr.Textbox) -> None:
    """Build the section inside the current block; ``folder`` is the Dataset tab's project name."""
    ctx.add_translations(STRINGS)
    common.add_preset_titles(ctx)
    label = ctx.label
    pickers = {}
    for kind in KINDS:
        presets = load_presets(kind, ctx.settings)
        ctx.add_translations({preset_key(kind, p.name): (p.title_en, p.title_zh or p.title_en) for p in presets})
        pickers[kind] = [(label(preset_key(kind, p.name)), p.name) for p in presets]
    state = gr.State(AugmentState())
    with gr.Row():
        weather = gr.CheckboxGroup(pickers["weather"], label=label("job.presets.weather"))
        lighting = gr.CheckboxGroup(pickers["lighting"], label=label("job.presets.lighting"))
    with gr.Row():
        variants = gr.Slider(1, 20, value=1, step=1, label=label("job.variants"))
        engine = gr.Radio([(label(f"job.engine.{e}"), e) for e in ENGINES], value="classic" if ctx.is_tiny else
                          "diffusion", label=label("job.engine"))
        ray_address = ctx.settings.ray_address
        backend = gr.Radio([(label(f"job.backend.{b}"), b) for b in BACKENDS], value="in-process",
                           label=label("job.backend"), info=f"Ray: {ray_address}", visible=bool(ray_address))
        split = gr.Dropdown([(label("job.split.any"), ""), *((s, s) for s in SPLITS)], value="",
                            label=label("job.split"))
    per_source = gr.Markdown()
    with gr.Row():
        preview_button = gr.Button(label("job.preview"))
        start_button = gr.Button(label("job.start"), variant="primary")
        stop_button = gr.Button(label("job.stop"), variant="stop")
        retry_button = gr.Button(label("job.retry"))
    estimate = gr.Markdown()
    grid = gr.Image(label=label("job.grid"), show_label=False, type="pil", interactive=False, format="jpeg")
    status_md = gr.Markdown(label("job.no_job"))
    report = gr.Dataframe(label=label("job.report"), interactive=False, visible=False)
    timer = gr.Timer(POLL_S, active=False)
    form = [folder, weather, lighting, variants, engine, split]

    def project_of(name: str) -> Project:
        return ctx.open_project(name)

    def spec_of(weather_names: list[str], lighting_names: list[str], n: float, eng: str, split_name: str) -> JobSpec:
        return make_spec([*(weather_names or []), *(lighting_names or [])], n, eng, split_name, ctx.model)

    def show(project: Project, st: AugmentState, request: gr.Request) -> tuple[Any, ...]:
        """Status line, per-preset table and whether to keep polling."""
        lang = ctx.lang(request)
        if st.job_id is None:
            st.job_id = latest_job(project)
        if st.job_id is None:
            return st, ctx.tr("job.no_job", lang), gr.skip(), gr.Timer(active=False)
        runner = runner_for(project, st.job_id, ctx.settings)
        status = runner.status()
        params = status_params(status)
        params["state"] = ctx.tr(f"job.state.{status.state}", lang)
        text = ctx.tr("job.status", lang, **params)
        if status.message:
            text += ctx.tr("job.status.message", lang, message=job_message(ctx, lang, status.message))
        if status.workers:
            workers = ", ".join(f"{name} {count}" for name, count in status.workers.items())
            text += ctx.tr("job.status.workers", lang, workers=workers)
        if status.error:
            error = describe(status.failure, lang) if status.failure is not None else status.error
            text += ctx.tr("job.status.error", lang, error=error)
        if status.failed and not runner.running:
            lines = "\n".join(f"- {line}" for line in failure_lines(project, st.job_id, lang=lang))
            text += ctx.tr("job.failures", lang, failed=status.failed, lines=lines)
            if status.failed > status.gave_up:
                text += ctx.tr("job.failures.retry", lang)
            if status.gave_up:
                text += ctx.tr("job.failures.gave_up", lang, n=status.gave_up, tries=MAX_ITEM_ATTEMPTS)
        table = {"headers": [ctx.tr(k, lang) for k in REPORT_COLUMNS], "data": report_rows(ctx, lang, project, st.job_id)}
        return st, text, gr.update(value=table, visible=True), gr.Timer(active=runner.running)

    @ctx.handle_errors
    def on_preview(text: str, weather_names: list[str], lighting_names: list[str], n: float, eng: str,
                   split_name: str, request: gr.Request, progress: gr.Progress = common.PROGRESS) -> tuple[Any, ...]:
        from sdaug.augment.jobs import source_filter
        from sdaug.augment.preview import preview

        project = project_of(text)
        spec = spec_of(weather_names, lighting_names, n, eng, split_name)
        spec.validate()
        where = source_filter(project, spec)
        manager = ctx.manager if eng == "diffusion" else None
        lang = ctx.lang(request)
        if manager is not None and manager.device == "cpu":
            gr.Warning(ctx.tr("job.cpu", lang, count=PREVIEW_SAMPLES * len(spec.presets)),
                       title=ctx.tr("warn.cpu.title", lang))

        def report(index: int, count: int, step: int, steps: int) -> None:
            done = (index + (step / steps if steps else 0.0)) / count
            desc = ctx.tr("job.preview.progress", lang, index=index + 1, count=count,
                          preset=common.preset_title(ctx, lang, spec.presets[index]))
            if steps:
                desc += " · " + ctx.tr("job.preview.step", lang, step=step, steps=steps)
            progress(done, desc=desc)

        picture, seconds = preview(project, spec.presets, eng, n=PREVIEW_SAMPLES, variants=spec.variants,
                                   model=spec.model, where=where, settings=ctx.settings, manager=manager,
                                   on_progress=report, header=False)
        sources = project.count_images(where)
        line = ctx.tr("job.estimate", request, images=sources * len(spec.presets) * spec.variants, sources=sources,
                      presets=len(spec.presets), variants=spec.variants, duration=format_duration(seconds))
        columns = " · ".join([ctx.tr("job.grid.source", lang), *(common.preset_title(ctx, lang, name)
                                                                  for name in spec.presets)])
        line = f"{ctx.tr('job.grid.columns', lang, columns=columns)} {ctx.tr('job.grid', lang)}\n\n{line}"
        return picture, line

    @ctx.handle_errors
    def on_form(text: str, weather_names: list[str], lighting_names: list[str], n: float, eng: str,
                split_name: str, request: gr.Request) -> str:
        from sdaug.augment.jobs import source_filter

        names = [*(weather_names or []), *(lighting_names or [])]
        if not (text or "").strip() or not names:
            return ""
        project = project_of(text)
        spec = spec_of(weather_names, lighting_names, n, eng, split_name)
        return per_source_note(ctx, ctx.lang(request), project, names, spec.variants, source_filter(project, spec))

    for component in (weather, lighting, variants, split):
        component.change(on_form, form, per_source, show_progress="hidden", api_visibility="undocumented")

    api = {"api_visibility": "undocumented"}  # internal events: callable, not listed on the API page
    preview_button.click(on_preview, form, [grid, estimate], **ctx.gpu_event, **api)

    @ctx.handle_errors
    def on_start(st: AugmentState, text: str, weather_names: list[str], lighting_names: list[str], n: float,
                 eng: str, split_name: str, where: str, request: gr.Request) -> tuple[Any, ...]:
        project = project_of(text)
        if weather_names or lighting_names:
            job_id = create_job(project, spec_of(weather_names, lighting_names, n, eng, split_name), ctx.settings).id
        elif st.job_id is not None:  # no preset chosen: resume the job shown (e.g. after a restart)
            job_id = st.job_id
        else:
            raise ctx.user_error("job.no_presets", request)
        if where not in BACKENDS or (where == "ray" and not ctx.settings.ray_address):
            where = "in-process"  # Ray only where the server offers it
        return run_job(project, st, job_id, where, False, request)

    def run_job(project: Project, st: AugmentState, job_id: int, where: str | None, retry_failed: bool,
                request: gr.Request) -> tuple[Any, ...]:
        """Start ``job_id`` on backend ``where`` (``None``: the one it last ran on in this server)."""
        st.job_id = job_id
        runner = runner_for(project, job_id, ctx.settings, backend=where, address=ctx.settings.ray_address)
        if runner.backend == "in-process" and runner.spec.engine == "diffusion" and runner.manager is None:
            runner.manager = ctx.manager  # share the app's model cache instead of loading a second copy
        if runner.spec.engine == "diffusion" and ctx.manager.device == "cpu":
            gr.Warning(ctx.tr("job.cpu.start", request), title=ctx.tr("warn.cpu.title", request))
        runner.start(retry_failed=retry_failed)
        return show(project, st, request)

    outputs = [state, status_md, report, timer]
    start_button.click(on_start, [state, *form, backend], outputs, **api)

    @ctx.handle_errors
    def on_stop(st: AugmentState, text: str, request: gr.Request) -> tuple[Any, ...]:
        project = project_of(text)
        if st.job_id is not None:
            runner_for(project, st.job_id, ctx.settings).stop()
        return show(project, st, request)

    stop_button.click(on_stop, [state, folder], outputs, **api)

    @ctx.handle_errors
    def on_retry(st: AugmentState, text: str, request: gr.Request) -> tuple[Any, ...]:
        """Run the job shown again, trying all its failed images (also those past the limit)."""
        project = project_of(text)
        job_id = st.job_id if st.job_id is not None else latest_job(project)
        if job_id is None:
            raise ctx.user_error("job.no_job", request)
        return run_job(project, st, job_id, None, True, request)

    retry_button.click(on_retry, [state, folder], outputs, **api)

    @ctx.handle_errors
    def on_tick(st: AugmentState, text: str, request: gr.Request) -> tuple[Any, ...]:
        if not (text or "").strip():
            return st, gr.skip(), gr.skip(), gr.Timer(active=False)
        return show(project_of(text), st, request)

    timer.tick(on_tick, [state, folder], outputs, show_progress="hidden", **api)

    def on_folder(text: str, request: gr.Request) -> tuple[Any, ...]:
        """Another project: show its latest job (and poll it if it runs)."""
        return on_tick(AugmentState(), text, request)

    folder.change(on_folder, [folder], outputs, show_progress="hidden", **api)
