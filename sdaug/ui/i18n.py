"""English and 简体中文 for every label, button and message of the app.

Two paths use the same table:

- Static text (labels, buttons, tab names, dropdown choices) is a :class:`gradio.i18n.I18nData`
  key made by :func:`label`; the browser translates it with the :class:`gradio.I18n` built by
  :func:`build_i18n`, so one page serves both languages.
- Text made in Python while handling an event (progress, ``gr.Error``, status lines) is
  translated here with :func:`tr`, in the language of that browser (see :func:`request_lang`).

The locale is picked by the browser, forced by ``--lang``, or chosen in the Settings tab; the
page script in :mod:`sdaug.ui.app` stores it in the ``sdaug_lang`` cookie so Python sees it too.

The core's refusals are :class:`~sdaug.errors.InputError` s that carry their Chinese text
(:mod:`sdaug.error_messages`); in 中文 the UI shows them with :func:`sdaug.errors.describe`.
:func:`translate_error` handles the rest: the range checks of
:class:`~sdaug.engine.request.GenerationRequest` get their field labels, and any other plain
message is prefixed with a translated "Error:" so nothing is lost; :func:`translate_phase` does the same
for the engine's progress phases ("loading model …"). Written here rather than with gettext
because gradio's own i18n needs the same table as dictionaries, and the table is small.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import gradio as gr
from gradio.i18n import I18nData

LANGS = ("en", "zh")
COOKIE = "sdaug_lang"
# gradio's locale names for our languages; "zh" also catches zh-TW / zh-HK browsers.
GRADIO_LOCALES = {"en": ("en",), "zh": ("zh-CN", "zh")}

STRINGS: dict[str, tuple[str, str]] = {
    # App shell
    "app.title": ("sdaug — dataset augmentation with Stable Diffusion", "sdaug — 用 Stable Diffusion 扩充数据集"),
    "app.tiny_note": (
        "⚠ The model is **tiny** (random weights for testing): pictures will be coloured noise.",
        "⚠ 当前模型是 **tiny**（测试用的随机权重）：生成的图片只是彩色噪点。",
    ),
    "app.model_note": ("Model: {model}", "模型：{model}"),
    "app.project_note": ("Project: {project}", "项目：{project}"),
    "tab.generate": ("Generate", "生成"),
    "tab.weather": ("Weather", "天气"),
    "tab.lighting": ("Lighting", "光照"),
    "tab.annotate": ("Annotate", "标注"),
    "tab.dataset": ("Dataset", "数据集"),
    "tab.pnginfo": ("PNG Info", "图片信息"),
    "tab.settings": ("Settings", "设置"),
    # Prompt and run buttons
    "prompt.label": ("Prompt", "提示词"),
    "prompt.placeholder": (
        "Describe the picture, e.g. a garbage bin on a street, rainy day, photo",
        "描述想要的画面，例如：a garbage bin on a street, rainy day, photo",
    ),
    "negative.label": ("Negative prompt (what to avoid)", "反向提示词（不想出现的内容）"),
    "negative.placeholder": ("e.g. blurry, cartoon, text", "例如：blurry, cartoon, text"),
    "run.generate": ("Generate", "生成"),
    "run.stop": ("Stop", "停止"),
    "run.results": ("Results", "结果"),
    "run.info": ("Parameters of the selected image", "所选图片的参数"),
    "run.status": ("Status", "状态"),
    # Advanced settings
    "adv.title": ("Advanced settings", "高级设置"),
    "adv.quality": ("Quality", "质量"),
    "adv.quality.info": ("More steps: better pictures, slower.", "步数越多，画面越好，速度越慢。"),
    "quality.fast": ("Fast (10 steps)", "快速（10 步）"),
    "quality.balanced": ("Balanced (20 steps)", "均衡（20 步）"),
    "quality.quality": ("Quality (30 steps)", "高质量（30 步）"),
    "quality.custom": ("Custom", "自定义"),
    "adv.steps": ("Steps", "步数"),
    "adv.sampler": ("Sampler", "采样器"),
    "adv.schedule": ("Schedule type", "调度类型"),
    "adv.cfg": ("Prompt strength (CFG scale)", "提示词引导强度（CFG）"),
    "adv.cfg.info": ("How closely to follow the prompt; 5–8 is usual.", "越大越贴近提示词，常用 5–8。"),
    "adv.seed": ("Seed (-1 = random)", "种子（-1 为随机）"),
    "adv.seed_random": ("⚄ Random", "⚄ 随机"),
    "adv.seed_reuse": ("♻ Reuse last", "♻ 沿用上次"),
    "adv.size": ("Size", "尺寸"),
    "size.square_512": ("Square 512×512", "正方形 512×512"),
    "size.portrait_512": ("Portrait 512×768", "竖图 512×768"),
    "size.landscape_768": ("Landscape 768×512", "横图 768×512"),
    "size.square_768": ("Square 768×768", "正方形 768×768"),
    "size.square_1024": ("Square 1024×1024 (SDXL)", "正方形 1024×1024（SDXL）"),
    "size.landscape_1024": ("Landscape 1024×768", "横图 1024×768"),
    "size.custom": ("Custom", "自定义"),
    "adv.width": ("Width", "宽度"),
    "adv.height": ("Height", "高度"),
    "adv.batch_size": ("Images per batch", "每批张数"),
    "adv.batch_size.info": ("Made together; needs more memory.", "同时生成，占用更多显存。"),
    "adv.batch_count": ("Number of batches", "批次数"),
    "adv.clip_skip": ("Clip skip", "CLIP 跳过层数"),
    "adv.rng": ("Random number source", "随机数来源"),
    "adv.rng.info": ("As in AUTOMATIC1111. CPU and NV give the same noise on every machine; GPU needs CUDA.",
                     "与 AUTOMATIC1111 相同。CPU 和 NV 在任何机器上噪声都相同；GPU 需要 CUDA。"),
    "adv.rng.auto": ("Automatic (GPU with CUDA, else CPU)", "自动（有 CUDA 用 GPU，否则用 CPU）"),
    "adv.compat": ("AUTOMATIC1111 compatibility", "AUTOMATIC1111 兼容选项"),
    # The compatibility flags, by their A1111 infotext names (English keeps A1111's wording).
    "compat.Old prompt editing timelines": ("Old prompt editing timelines", "旧版提示词编辑时间线"),
    "compat.Pad conds v0": ("Pad conds v0", "旧版条件填充（v0）"),
    "compat.Downcast alphas_cumprod": ("Downcast alphas_cumprod", "alphas_cumprod 降为 float16"),
    "compat.Refiner switch by sampling steps": ("Refiner switch by sampling steps", "按采样步数切换 Refiner"),
    "adv.compat.info": ("Older A1111 versions made images this way; pasted parameters set these from their Version.",
                        "旧版 A1111 按这些方式生成图片；粘贴的参数会根据其 Version 自动勾选。"),
    "adv.variants": ("Variants per image", "每张图的变体数"),
    # Weather and Lighting
    "aug.inputs": ("Input photos", "输入照片"),
    "aug.preset": ("Preset", "预设"),
    "aug.no_preset": ("(none)", "（无）"),
    "aug.strength": ("Change strength", "改变强度"),
    "aug.strength.info": (
        "Low keeps the photo (and its boxes) as it is; high changes more.",
        "低：保留原图（标注框仍然对得上）；高：改变更多。",
    ),
    "aug.compare": ("Before / after", "前后对比"),
    "light.control_type": ("Control type", "控制类型"),
    "light.control_type.info": ("What of the photo's structure to keep.", "保留原图的哪种结构。"),
    "light.control_weight": ("Control weight", "控制权重"),
    "light.control_weight.info": ("How strictly to keep the structure.", "保持结构的严格程度。"),
    "light.control_image": ("Control image", "控制图"),
    "light.preview": ("Preview control image", "预览控制图"),
    "light.unavailable": ("{name} (not available: {reason})", "{name}（不可用：{reason}）"),
    # PNG Info
    "png.image": ("Drop an image made by sdaug or AUTOMATIC1111", "拖入 sdaug 或 AUTOMATIC1111 生成的图片"),
    "png.text": ("Parameters (you can also paste them here)", "参数（也可以直接粘贴到这里）"),
    "png.fields": ("Parameters read", "读取到的参数"),
    "png.send_generate": ("Send to Generate", "发送到生成"),
    "png.send_weather": ("Send to Weather", "发送到天气"),
    "png.send_lighting": ("Send to Lighting", "发送到光照"),
    "png.none": ("This image carries no generation parameters.", "这张图片不含生成参数。"),
    "png.sent": ("Parameters sent to {tab}.", "参数已发送到{tab}。"),
    "png.model_selected": ("Model {model} selected.", "已选择模型 {model}。"),
    "png.compat": ("To reproduce this image, AUTOMATIC1111 compatibility options are on: {flags}.",
                   "为了复现这张图片，已开启 AUTOMATIC1111 兼容选项：{flags}。"),
    # Settings
    "set.model": ("Model", "模型"),
    "set.model.info": ("A local file or folder from the models folder, or 'tiny' for a quick test.",
                       "模型文件夹中的本地文件或文件夹，或用于快速测试的 tiny。"),
    "set.hub_id": ("…or a Hugging Face hub id", "……或 Hugging Face Hub ID"),
    "set.hub_id.placeholder": ("e.g. stable-diffusion-v1-5/stable-diffusion-v1-5",
                               "例如 stable-diffusion-v1-5/stable-diffusion-v1-5"),
    "set.use_model": ("Use this model", "使用此模型"),
    "set.refresh": ("⟳ Refresh lists", "⟳ 刷新列表"),
    "set.model_set": ("Model set to {model}; it loads at the next generation.", "模型已设为 {model}，将在下次生成时加载。"),
    "set.loras": ("LoRA", "LoRA"),
    "set.lora_weight": ("LoRA weight", "LoRA 权重"),
    "set.insert_lora": ("Insert into prompt", "插入到提示词"),
    "set.lora_inserted": ("Added {tag} to the Generate prompt.", "已把 {tag} 加入生成页的提示词。"),
    "set.no_lora": ("Choose a LoRA first (put .safetensors files in {folder}).",
                    "请先选择一个 LoRA（把 .safetensors 文件放到 {folder}）。"),
    "set.memory_mode": ("Memory mode", "显存模式"),
    "set.memory_mode.info": ("Use an offload mode if you run out of GPU memory.", "显存不足时请选择卸载模式。"),
    "mem.auto": ("Automatic", "自动"),
    "mem.full": ("Full GPU (fastest)", "全部放在 GPU（最快）"),
    "mem.model-offload": ("Model offload (less memory)", "模型卸载（省显存）"),
    "mem.sequential-offload": ("Sequential offload (least memory, slow)", "逐层卸载（最省显存，较慢）"),
    "set.memory_set": ("Memory mode set to {mode}; the model reloads at the next generation.",
                       "显存模式已设为 {mode}，模型将在下次生成时重新加载。"),
    "set.memory_report": ("Memory", "内存 / 显存"),
    "set.show_memory": ("Show memory use", "查看内存占用"),
    "set.folders": ("Folders", "文件夹"),
    "set.folders.text": (
        "Data folder: `{home}`  \nModels: `{models}`  \nLoRA: `{loras}`  \nOutputs: `{outputs}`",
        "数据文件夹：`{home}`  \n模型：`{models}`  \nLoRA：`{loras}`  \n输出：`{outputs}`",
    ),
    "set.language": ("Language", "语言"),
    "lang.auto": ("Browser's language", "跟随浏览器"),
    "lang.en": ("English", "English"),
    "lang.zh": ("简体中文", "简体中文"),
    # Progress and results
    "progress.step": ("{done}/{total} images done · step {step}/{steps}", "已完成 {done}/{total} 张 · 第 {step}/{steps} 步"),
    "progress.eta": ("{seconds} s left", "剩余 {seconds} 秒"),
    "progress.input": ("Photo {index}/{count}", "照片 {index}/{count}"),
    "progress.starting": ("Starting the engine … (the first run takes a while)", "正在启动引擎 …（第一次较慢）"),
    "phase.loading_model": ("loading model {name} …", "正在加载模型 {name} …"),
    "phase.downloading": ("downloading {name} …", "正在下载 {name} …"),
    "phase.loading_controlnet": ("loading ControlNet {name} …", "正在加载 ControlNet {name} …"),
    "phase.loading_lora": ("loading LoRA {name} …", "正在加载 LoRA {name} …"),
    "phase.oom_retry": ("out of GPU memory: retrying with batch size {name}", "显存不足：改为每批 {name} 张重试"),
    "status.done": ("{count} image(s) in {seconds} s, saved to {folder}", "{count} 张图片，用时 {seconds} 秒，已保存到 {folder}"),
    "status.stopped": ("Stopped: kept the {count} image(s) already finished, saved to {folder}",
                       "已停止：保留已完成的 {count} 张图片，保存在 {folder}"),
    "status.note": ("Note: {text}", "注意：{text}"),
    "phase.lora_missing": ("LoRA {name} is not in {folder}; going on without it (LoRAs there: {known})",
                           "LoRA {name} 不在 {folder} 中，已跳过并继续生成（现有 LoRA：{known}）"),
    "phase.rng_gpu": ("RNG source GPU needs a CUDA GPU: this machine draws the noise with the CPU generator "
                      "(RNG: CPU). Choose NV for A1111's imitation of a CUDA GPU's numbers",
                      "随机数来源 GPU 需要 CUDA 显卡：本机改用 CPU 生成噪声（RNG: CPU）。"
                      "选择 NV 可得到 A1111 模拟的 CUDA 显卡随机数"),
    "status.stopping": ("Stopping after this step …", "将在当前步骤后停止 …"),
    # Result lines and diffusion on a CPU (issue 14, ui14)
    "set.refreshed": ("Lists refreshed: {models} model file(s), {loras} LoRA(s).",
                      "列表已刷新：{models} 个模型文件，{loras} 个 LoRA。"),
    "warn.cpu.title": ("Running on the CPU", "正在用 CPU 运行"),
    "warn.cpu": ("No GPU: each image takes about {seconds} s here (measured), so {images} image(s) take about "
                 "{total}. Press Stop to keep what is finished; Classic effects need no GPU.",
                 "没有 GPU：这里每张图约需 {seconds} 秒（实测），{images} 张约需 {total}。"
                 "点“停止”可保留已完成的图片；经典特效不需要 GPU。"),
    # Errors
    "error.title": ("Error", "出错了"),
    "error.prefix": ("Error: {message}", "出错了：{message}"),
    "error.invalid": ("Invalid value: {message}", "参数无效：{message}"),
    "error.range": ("{field} must be from {low} to {high}; got {value}.", "{field}必须在 {low} 到 {high} 之间，当前为 {value}。"),
    "error.whole": ("{field} must be a whole number from {low} to {high}; got {value}.",
                    "{field}必须是 {low} 到 {high} 之间的整数，当前为 {value}。"),
    "error.number": ("{field} must be a number; got {value}.", "{field}必须是数字，当前为 {value}。"),
    "error.oom": (
        "Out of GPU memory. Make fewer images per batch, a smaller size, or choose a memory mode with "
        "offload in Settings. Details: {message}",
        "显存不足。请减少每批张数、缩小尺寸，或在设置中选择带“卸载”的显存模式。详情：{message}",
    ),
    "error.unexpected": ("Something went wrong ({message}). The details are in the app's log; the app keeps running.",
                         "出现意外错误（{message}）。详情见程序日志；程序仍在运行。"),
    "error.no_input": ("Add at least one input photo first.", "请先添加至少一张输入照片。"),
    "error.bad_image": ("{name} is not an image that can be opened: {reason}", "{name} 不是可以打开的图片：{reason}"),
    "error.no_preset": ("Unknown preset {name}; choose one of: {names}.", "未知预设 {name}，可选：{names}。"),
    "error.empty_model": ("Choose a model or type a hub id first.", "请先选择模型或填写 Hub ID。"),
    "error.control_unavailable": ("Control type {name} is not available: {reason}", "控制类型 {name} 不可用：{reason}"),
    "error.no_parameters": ("There are no parameters to send: drop an image or paste its parameters first.",
                            "没有可发送的参数：请先拖入图片或粘贴参数。"),
    # Field names used in translated range errors
    "field.steps": ("Steps", "步数"),
    "field.cfg_scale": ("CFG scale", "CFG 引导强度"),
    "field.width": ("Width", "宽度"),
    "field.height": ("Height", "高度"),
    "field.batch_size": ("Images per batch", "每批张数"),
    "field.batch_count": ("Number of batches", "批次数"),
    "field.denoising_strength": ("Change strength", "改变强度"),
    "field.control_weight": ("Control weight", "控制权重"),
    "field.control_start": ("Control start", "控制开始"),
    "field.control_end": ("Control end", "控制结束"),
    "field.clip_skip": ("Clip skip", "CLIP 跳过层数"),
    "field.seed": ("Seed", "种子"),
}

# Engine phase messages (Progress.message) -> string key; the group is the name.
_PHASE_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^loading model (?P<name>.+?) …$"), "phase.loading_model"),
    (re.compile(r"^downloading (?P<name>.+?) …$"), "phase.downloading"),
    (re.compile(r"^loading ControlNet (?P<name>.+?) …$"), "phase.loading_controlnet"),
    (re.compile(r"^loading LoRA (?P<name>.+?) …$"), "phase.loading_lora"),
    (re.compile(r"^out of GPU memory: retrying with batch size (?P<name>\d+)$"), "phase.oom_retry"),
    (re.compile(r"^LoRA (?P<name>.+) not found in (?P<folder>.+?): put .+ there \(LoRAs found: (?P<known>.*)\); "
                r"going on without it$"), "phase.lora_missing"),
    (re.compile(r"^RNG source GPU needs a CUDA GPU: .*$"), "phase.rng_gpu"),
)
# Shapes of GenerationRequest.validate() messages -> string key.
_ERROR_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?P<field>\w+) must be a whole number from (?P<low>\S+) to (?P<high>\S+), got (?P<value>.+)$"),
     "error.whole"),
    (re.compile(r"^(?P<field>\w+) must be from (?P<low>\S+) to (?P<high>\S+), got (?P<value>.+)$"), "error.range"),
    (re.compile(r"^(?P<field>\w+) must be a number, got (?P<value>.+)$"), "error.number"),
)


def normalize_lang(code: str | None) -> str | None:
    """Map a browser or user locale (``zh-CN``, ``en-US``, ``zh``) to ``"en"`` or ``"zh"``.

    Returns ``None`` for an empty code; other languages fall back to English.
    """
    if not code:
        return None
    code = code.strip().lower()
    if not code or code == "auto":
        return None
    return "zh" if code.startswith("zh") else "en"


def request_lang(request: gr.Request | None, default: str = "en") -> str:
    """The language of the browser that sent ``request``: the ``sdaug_lang`` cookie set by the
    page, else the ``Accept-Language`` header, else ``default``."""
    if request is not None:
        cookies = getattr(request, "cookies", None) or {}
        from_cookie = normalize_lang(cookies.get(COOKIE))
        if from_cookie:
            return from_cookie
        headers = getattr(request, "headers", None) or {}
        accept = headers.get("accept-language", "")
        from_header = normalize_lang(accept.split(",")[0].split(";")[0])
        if from_header:
            return from_header
    return default


def tr(key: str, lang: str, **values: object) -> str:
    """Translate ``key`` into ``lang`` (``"en"`` or ``"zh"``) and fill ``{placeholders}``."""
    en, zh = STRINGS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def label(key: str) -> I18nData:
    """A translation key for static text of a component (translated by the browser)."""
    if key not in STRINGS:
        raise KeyError(f"no translation for {key!r}; add it to sdaug.ui.i18n.STRINGS")
    return I18nData(key)


def translate_error(message: str, lang: str) -> str:
    """A core ``ValueError`` message in ``lang``: known shapes translated, others prefixed."""
    for pattern, key in _ERROR_SHAPES:
        match = pattern.match(message)
        if match:
            values = match.groupdict()
            field = values.pop("field", None)
            if field is None:
                return tr(key, lang, **values)
            field_key = f"field.{field}"
            field_name = tr(field_key, lang) if field_key in STRINGS else field
            return tr(key, lang, field=field_name, **values)
    if lang == "en":
        return message
    return tr("error.prefix", lang, message=message)


def translate_phase(message: str, lang: str) -> str:
    """An engine progress message ("loading model X …") in ``lang``; unknown ones unchanged."""
    for pattern, key in _PHASE_SHAPES:
        match = pattern.match(message)
        if match:
            return tr(key, lang, **match.groupdict())
    return message


def build_i18n(extra: Mapping[str, tuple[str, str]] | None = None) -> gr.I18n:
    """The :class:`gradio.I18n` of the page: :data:`STRINGS` plus ``extra`` (keys added by tabs,
    such as preset titles)."""
    table = {**STRINGS, **(extra or {})}
    by_locale: dict[str, dict[str, str]] = {}
    for index, lang in enumerate(LANGS):
        texts = {key: pair[index] for key, pair in table.items()}
        for locale in GRADIO_LOCALES[lang]:
            by_locale[locale] = texts
    return gr.I18n(**by_locale)
