"""Messages of variants, presets, Ray, generation requests, models, prompts and auto-labelling."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # Making variants (sdaug.augment.making, attach, reapply).
    "source.too_large": (
        "{where}: {width}x{height} is too large (more than {limit} pixels); import a smaller copy of it",
        "{where}：{width}x{height} 太大（超过 {limit} 像素），请导入缩小后的副本。",
    ),
    "source.missing": ("{where}: the file is missing; import the image again", "{where}：文件不见了，请重新导入这张图片。"),
    "source.unreadable": (
        "{where}: the file cannot be read ({reason}); import the image again",
        "{where}：文件无法读取（{reason}），请重新导入这张图片。",
    ),
    "source.changed": (
        "{where}: the file is {width}x{height} but the image was imported as {imported_width}x{imported_height}; "
        "it was changed outside sdaug, import it again",
        "{where}：文件为 {width}x{height}，但导入时为 {imported_width}x{imported_height}，它在 sdaug 之外被修改过，"
        "请重新导入。",
    ),
    "source.undecodable": (
        "{where}: the file cannot be decoded ({reason}); import the image again",
        "{where}：文件无法解码（{reason}），请重新导入这张图片。",
    ),
    "attach.no_variants": ("there are no variants to add: run Weather or Lighting first",
                           "没有可添加的变体：请先运行“天气”或“光照”。"),
    "attach.no_preset": ("choose the preset the variants were made with", "请选择生成这些变体时使用的预设。"),
    "reapply.variant": (
        "image #{id} is a variant; apply the boxes of its source #{source}",
        "图片 #{id} 是变体，请改为应用其源图片 #{source} 的框。",
    ),
    # Presets (sdaug.augment.presets, classic).
    "preset.unknown": (
        "unknown preset {name!r}. Known presets: {names}",
        "未知预设 {name!r}。可用预设：{names}。",
    ),
    "preset.unknown_close": (
        "unknown preset {name!r}. Did you mean {close!r}? Known presets: {names}",
        "未知预设 {name!r}。您是否要找 {close!r}？可用预设：{names}。",
    ),
    "preset.clash": (
        "{path}: the name {name!r} is also a {what} preset; rename one of them (use {kind}/{name} to pick this one)",
        "{path}：名称 {name!r} 也是一个{what}预设，请重命名其中一个（用 {kind}/{name} 可选中这一个）。",
    ),
    "preset.file_name": (
        "the file name may use only letters, digits, '_' and '-' (it is the preset's name)",
        "文件名只能使用字母、数字、'_' 和 '-'（文件名就是预设名称）。",
    ),
    "preset.not_utf8": ("the file is not UTF-8 text; save it as UTF-8", "文件不是 UTF-8 文本，请另存为 UTF-8。"),
    "preset.not_toml": ("not valid TOML ({reason})", "不是有效的 TOML 文件（{reason}）。"),
    "preset.missing_key": (
        "missing key {setting!r} (every preset needs {required})",
        "缺少键 {setting!r}（每个预设都需要 {required}）。",
    ),
    "preset.unknown_key": (
        "unknown key {where}{setting!r}; allowed: {allowed}",
        "未知的键 {where}{setting!r}；可用的键：{allowed}。",
    ),
    "preset.unknown_key_close": (
        "unknown key {where}{setting!r} (did you mean {close!r}?); allowed: {allowed}",
        "未知的键 {where}{setting!r}（您是否要写 {close!r}？）；可用的键：{allowed}。",
    ),
    "preset.not_table": (
        "{setting} must be a table: a line [{setting}] followed by name = value lines",
        "{setting} 必须是一个表：先写一行 [{setting}]，再写若干行 名称 = 值。",
    ),
    "preset.not_text": ("{setting} must be text in double quotes, got {value!r}", "{setting} 必须是双引号中的文本，当前为 {value!r}。"),
    "preset.empty": ("{setting} must not be empty", "{setting} 不能为空。"),
    "classic.no_setting": (
        "[classic] effect {effect!r} has no setting {setting!r} (allowed: {allowed})",
        "[classic] 效果 {effect!r} 没有设置项 {setting!r}（可用：{allowed}）。",
    ),
    "classic.color_list": (
        "{field} must be a list of 3 numbers like [255, 180, 95], got {value!r}",
        "{field}必须是 3 个数字的列表，例如 [255, 180, 95]，当前为 {value!r}。",
    ),
    "classic.color_range": (
        "{field} values must be from {low} to {high}, got {value!r}",
        "{field}的各个值必须在 {low} 到 {high} 之间，当前为 {value!r}。",
    ),
    # Ray (sdaug.augment.ray_backend).
    "ray.missing": (
        "the Ray backend needs the 'ray' package: pip install 'ray>=2.40' (or use the in-process backend)",
        "Ray 运行方式需要安装 'ray' 包：pip install 'ray>=2.40'（或改用本机运行方式）。",
    ),
    "ray.connect": (
        "cannot reach the Ray cluster at {address!r}: {reason}. Start it with `ray start --head` (and "
        "`ray start --address=HOST:PORT` on the other machines), or leave the address out to start a local Ray "
        "instance",
        "无法连接 {address!r} 上的 Ray 集群：{reason}。请用 `ray start --head` 启动它（其他机器上运行 "
        "`ray start --address=HOST:PORT`），或不填地址以在本机启动 Ray。",
    ),
    "ray.address": (
        "the Ray address must be auto or HOST:PORT (e.g. 10.0.0.5:6379), got {address!r}",
        "Ray 地址必须是 auto 或 HOST:PORT（例如 10.0.0.5:6379），当前为 {address!r}。",
    ),
    "ray.unreachable": (
        "cannot reach the Ray cluster at {address} ({reason}); start it there with `ray start --head`, or leave "
        "the address out to start a local Ray instance",
        "无法连接 {address} 上的 Ray 集群（{reason}）。请在那里运行 `ray start --head`，或不填地址以在本机启动 Ray。",
    ),
    "ray.workers_gone": (
        "every Ray worker is gone; see `ray status` and the Ray logs on the workers",
        "所有 Ray 工作进程都已退出；请查看 `ray status` 和各工作机器上的 Ray 日志。",
    ),
    # Previews (sdaug.augment.preview).
    "preview.count": ("n must be from 1 to 16 sample images, got {value!r}", "样例图片数必须在 1 到 16 之间，当前为 {value!r}。"),
    "preview.no_preset": ("choose at least one preset to preview", "请至少选择一个要预览的预设。"),
    "preview.no_image": ("give at least one image to preview", "请至少提供一张要预览的图片。"),
    "preview.no_sources": (
        "the project has no labelled source images to preview; label some images first",
        "项目中没有可预览的已标注源图片，请先标注一些图片。",
    ),
    # Pasted generation parameters (sdaug.prompts.params).
    "params.no_sampler": (
        "Sampler is empty: give a sampler name such as 'DPM++ 2M'",
        "Sampler 为空：请填写采样器名称，例如 'DPM++ 2M'。",
    ),
    "params.empty_schedule": ("{field} is empty: give one of {allowed}", "{field}为空：请填写 {allowed} 之一。"),
    "params.size": (
        "Size must be WIDTHxHEIGHT such as 512x768, got {value!r}",
        "Size 必须是 宽x高 的形式，例如 512x768，当前为 {value!r}。",
    ),
    # Generation requests (sdaug.engine.request).
    "request.seed": (
        "seed must be -1 (random) or from 0 to {high}, got {value!r}",
        "种子必须是 -1（随机）或 0 到 {high} 之间的数，当前为 {value!r}。",
    ),
    "request.seeds_count": ("seeds lists {count} seeds for {images} images",
                            "种子列表有 {count} 个种子，但要生成 {images} 张图片，数量必须相同。"),
    "request.seeds_range": ("seeds must be from 0 to {high}, got {value!r}", "种子必须在 0 到 {high} 之间，当前为 {value!r}。"),
    "request.rng": (
        "rng must be one of {allowed} (or empty for the default), got {value!r}",
        "随机数来源必须是 {allowed} 之一（留空则用默认值），当前为 {value!r}。",
    ),
    "request.compat": (
        "unknown compatibility flag {flag!r}; known flags: {known}",
        "未知的兼容选项 {flag!r}；可用选项：{known}。",
    ),
    "request.control_order": (
        "control_start ({start}) must be smaller than control_end ({end})",
        "控制开始（{start}）必须小于控制结束（{end}）。",
    ),
    "request.img2img_no_image": ("img2img needs an input image (init_images is empty)", "图生图需要输入图片，请先添加一张图片。"),
    "request.init_count": (
        "init_images holds {count} images; give 1 or batch_size ({batch_size})",
        "输入图片有 {count} 张，请提供 1 张或与每批张数（{batch_size}）相同的张数。",
    ),
    "request.controlnet_no_image": (
        "controlnet needs a control image or an input image to make one from",
        "ControlNet 需要控制图，或用来生成控制图的输入图片。",
    ),
    "request.background_needs_box": (
        "background_strength needs box_strength (the strength inside the boxes)",
        "设置背景强度时也要设置框内强度（box_strength）。",
    ),
    "request.box_needs_image": (
        "box_strength needs an input image (img2img or ControlNet img2img)",
        "框内强度需要输入图片（图生图或 ControlNet 图生图）。",
    ),
    "request.region_count": (
        "region_boxes holds {count} box lists for {images} input images; give one list per input image",
        "区域框有 {count} 组，但输入图片有 {images} 张，请为每张输入图片提供一组框。",
    ),
    "request.region_box": (
        "region box must be (x0, y0, x1, y1) with x0 < x1 and y0 < y1, got {box!r}",
        "区域框必须是 (x0, y0, x1, y1)，且 x0 < x1、y0 < y1，当前为 {box!r}。",
    ),
    # Models (sdaug.engine.sources, manager).
    "model.no_controlnet": (
        "no ControlNet model given: choose one (hub id, local folder or file)",
        "没有指定 ControlNet 模型：请选择一个（Hub ID、本地文件夹或文件）。",
    ),
    "model.single_file": (
        "{what} {model!r} is a single file; give a transformers folder (config.json and weights) or a hub id",
        "{what} {model!r} 是单个文件，请提供 transformers 文件夹（含 config.json 和权重）或 Hub ID。",
    ),
    "model.no_default_controlnet": (
        "control type {control_type!r} has no default ControlNet model: choose one (default models exist for "
        "{known})",
        "控制类型 {control_type!r} 没有默认的 ControlNet 模型，请选择一个（有默认模型的类型：{known}）。",
    ),
    "model.not_diffusers": (
        "{path} is a folder but not a diffusers {what} (it has no model_index.json or config.json); give a "
        "diffusers folder or a .safetensors file",
        "{path} 是文件夹，但不是 diffusers 格式的{what}（没有 model_index.json 或 config.json），请提供 diffusers "
        "文件夹或 .safetensors 文件。",
    ),
    "model.unknown_file": (
        "{path} is not a {what} file sdaug can load: use a .safetensors checkpoint (or a diffusers folder)",
        "{path} 不是 sdaug 能加载的{what}文件，请使用 .safetensors 模型（或 diffusers 文件夹）。",
    ),
    "model.not_found": (
        "{what} {name!r} not found: it is not a file or folder, not in {folder} (found there: {known}), and not a "
        "Hugging Face id like 'owner/name'. Put a .safetensors file into {folder} or give a hub id.",
        "找不到{what} {name!r}：它不是文件或文件夹，不在 {folder} 中（那里有：{known}），也不是 'owner/name' 形式的 "
        "Hugging Face ID。请把 .safetensors 文件放入 {folder}，或填写 Hub ID。",
    ),
    "model.lora_not_found": (
        "LoRA {name!r} not found in {folder}: put {stem}.safetensors there (LoRAs found: {known})",
        "在 {folder} 中找不到 LoRA {name!r}：请把 {stem}.safetensors 放到那里（已有的 LoRA：{known}）。",
    ),
    "model.offline": (
        "Model {repo!r} is not in the local Hugging Face cache and could not be downloaded ({reason}). To get it, "
        "run `hf download {repo}` (older huggingface_hub: `huggingface-cli download {repo}`) on a machine with "
        "internet access; set HF_ENDPOINT to use a mirror (for example HF_ENDPOINT=https://hf-mirror.com). Or put "
        "a .safetensors checkpoint into {folder} and choose it by its file name.",
        "模型 {repo!r} 不在本地 Hugging Face 缓存中，也无法下载（{reason}）。请在能上网的机器上运行 "
        "`hf download {repo}`（旧版 huggingface_hub：`huggingface-cli download {repo}`）；可设置 HF_ENDPOINT 使用镜像"
        "（例如 HF_ENDPOINT=https://hf-mirror.com）。也可以把 .safetensors 模型放入 {folder}，再按文件名选择。",
    ),
    "model.single_file_failed": (
        "cannot load {location}: {reason}. Without internet sdaug can load Stable Diffusion 1.x checkpoints and "
        "ControlNets, and any file that has its diffusers config (model_index.json and the component folders, or "
        "a ControlNet's config.json) in a folder named {name}.config next to it.",
        "无法加载 {location}：{reason}。没有网络时，sdaug 能加载 Stable Diffusion 1.x 模型和 ControlNet，以及旁边"
        "有名为 {name}.config 的文件夹存放其 diffusers 配置（model_index.json 与各组件文件夹，或 ControlNet 的 "
        "config.json）的任何文件。",
    ),
    "model.pickle": (
        "{name} is a pickled checkpoint ({what}): loading it can run any code hidden in the file. Use a "
        ".safetensors version of it, or, only if you trust where it came from, start sdaug with --allow-pickle "
        "(or SDAUG_ALLOW_PICKLE=1).",
        "{name} 是 pickle 格式的模型（{what}）：加载它可能运行文件中隐藏的任意代码。请使用它的 .safetensors 版本；"
        "只有在信任其来源时，才用 --allow-pickle（或 SDAUG_ALLOW_PICKLE=1）启动 sdaug。",
    ),
    # Prompts, pasted parameters and PNG Info (sdaug.prompts).
    "network.no_name": (
        "{tag} at position {position} has no name: write <{kind}:NAME:0.8>",
        "{tag}（位置 {position}）缺少名称：请写成 <{kind}:NAME:0.8>。",
    ),
    "network.at": ("{error} (at position {position})", "{error}（位置 {position}）"),
    "network.weight": (
        "{tag}: weight {value!r} is not a number; write it like <{kind}:{name}:0.8>",
        "{tag}：权重 {value!r} 不是数字，请写成 <{kind}:{name}:0.8> 这样的形式。",
    ),
    "prompt.too_deep": (
        "brackets nest more than {limit} levels deep at position {position}: close them, or write \\( \\[ for "
        "literal brackets",
        "括号在位置 {position} 处嵌套超过 {limit} 层：请补上右括号，或用 \\( \\[ 表示括号字符本身。",
    ),
    "infotext.bad_key": (
        "infotext key {name!r} cannot be written: use letters, digits, _, space, - or /, at least 2 characters, "
        "starting with a letter or digit",
        "无法写入参数名 {name!r}：请只用字母、数字、_、空格、- 或 /，至少 2 个字符，并以字母或数字开头。",
    ),
    "infotext.reserved_key": (
        "infotext key {name!r} is reserved for the prompt text",
        "参数名 {name!r} 已留给提示词文本使用，请换一个名称。",
    ),
    "image.not_found": ("image file not found: {path}", "找不到图片文件：{path}"),
    "image.cannot_read": ("cannot read {path} as an image: {reason}", "无法把 {path} 作为图片读取：{reason}"),
    "file.not_found": ("file not found: {path}", "找不到文件：{path}"),
    "lora.hashes_entry": (
        "Lora hashes entry {entry!r} is not 'name: hash' with a {length}-hex-digit hash",
        "Lora hashes 中的条目 {entry!r} 不是 'name: hash' 的形式（哈希为 {length} 位十六进制数）。",
    ),
    "safetensors.short": (
        "{path} is not a safetensors file: it is shorter than its 8-byte header length",
        "{path} 不是 safetensors 文件：它比 8 字节的头部长度还短。",
    ),
    "safetensors.header": (
        "{path} is not a valid safetensors file: its header length ({header} bytes) is larger than the file "
        "({size} bytes)",
        "{path} 不是有效的 safetensors 文件：头部长度（{header} 字节）大于文件本身（{size} 字节）。",
    ),
    # Samplers, LoRAs in a batch, regions, control images, devices (sdaug.engine).
    "sampler.unknown": ("unknown sampler {name!r}; known samplers: {known}", "未知的采样器 {name!r}；可用的采样器：{known}。"),
    "sampler.unknown_schedule": (
        "unknown schedule type {name!r}; known types: {known}",
        "未知的调度类型 {name!r}；可用的类型：{known}。",
    ),
    "sampler.torchsde": (
        "sampler 'DPM++ SDE' needs the torchsde package: run `pip install torchsde`, or pick another sampler such "
        "as 'DPM++ 2M SDE'",
        "采样器 'DPM++ SDE' 需要 torchsde 包：请运行 `pip install torchsde`，或改选其他采样器，例如 'DPM++ 2M SDE'。",
    ),
    "sampler.schedule": (
        "sampler {name!r} cannot use the {schedule!r} schedule; use one of: {allowed}",
        "采样器 {name!r} 不能使用调度 {schedule!r}，请使用：{allowed}。",
    ),
    "lora.batch_weights": (
        "LoRA {name!r} has weights {first} and {second} in one batch; a batch runs with one set of LoRA weights: "
        "keep one <lora:{name}:...> tag (or use batch size 1 with wildcards)",
        "LoRA {name!r} 在同一批中有两种权重 {first} 和 {second}，而一批只能使用一组 LoRA 权重：请只保留一个 "
        "<lora:{name}:...> 标签（使用通配符时可把每批张数设为 1）。",
    ),
    "region.feather": (
        "box feather must be a whole number of pixels from 0 to {high}, got {value!r}",
        "框边缘羽化必须是 0 到 {high} 之间的整数像素，当前为 {value!r}。",
    ),
    "control.unavailable": ("control type {name!r} is not available: {reason}", "控制类型 {name!r} 不可用：{reason}"),
    "control.canny_order": (
        "canny low_threshold ({low}) must not be above high_threshold ({high})",
        "Canny 低阈值（{low}）不能高于高阈值（{high}）。",
    ),
    "model.controlnet_needed": ("mode 'controlnet' needs a ControlNet model", "ControlNet 模式需要选择 ControlNet 模型。"),
    "device.no_cuda": (
        "device 'cuda' was asked for but PyTorch sees no CUDA GPU; use device auto or cpu",
        "设置了设备 'cuda'，但 PyTorch 找不到 CUDA 显卡；请把设备设为 auto 或 cpu。",
    ),
    "device.no_mps": (
        "device 'mps' was asked for but Apple MPS is not available; use device auto or cpu",
        "设置了设备 'mps'，但 Apple MPS 不可用；请把设备设为 auto 或 cpu。",
    ),
    "request.clip_skip_model": (
        "clip_skip must be from 1 to {high} for this model, got {value!r}",
        "此模型的 CLIP 跳过层数必须在 1 到 {high} 之间，当前为 {value!r}。",
    ),
    "job.choose_preset": ("choose at least one preset", "请至少选择一个预设。"),
    # Automatic labels and detector training (sdaug.autolabel).
    "autolabel.no_detector": (
        "give a detector: 'tiny', a folder in <data folder>/models or a hub id",
        "请指定检测器：'tiny'、<数据文件夹>/models 中的文件夹，或 Hub ID。",
    ),
    "autolabel.threshold": (
        "threshold must be above 0 and at most 1, got {value!r}",
        "阈值必须大于 0 且不超过 1，当前为 {value!r}。",
    ),
    "autolabel.no_classes": (
        "the project has no classes: add the classes the detector should look for first",
        "项目还没有类别：请先添加检测器要寻找的类别。",
    ),
    "autolabel.no_images": (
        "no images to label: every image has labels already (use --all to get proposals for them too)",
        "没有需要标注的图片：每张图片都已有标签（使用 --all 可为它们也生成候选框）。",
    ),
    "autolabel.no_trained": (
        "the project has no trained detector {name!r}: run sdaug train-detector first",
        "项目中没有训练好的检测器 {name!r}，请先运行 sdaug train-detector。",
    ),
    "autolabel.classes_changed": (
        "detector {name!r} was trained on the classes {classes}; the project's have changed since: train it again",
        "检测器 {name!r} 是用类别 {classes} 训练的，而项目的类别已改变，请重新训练。",
    ),
    "train.name": (
        "detector name may use letters, digits, - and _ only, got {name!r}",
        "检测器名称只能使用字母、数字、- 和 _，当前为 {name!r}。",
    ),
    "train.learning_rate": (
        "learning rate must be between 0 and 1, got {value!r}",
        "学习率必须在 0 和 1 之间，当前为 {value!r}。",
    ),
    "train.no_classes": (
        "the project has no classes: add the classes to train on first",
        "项目还没有类别：请先添加要训练的类别。",
    ),
    "train.no_train_images": (
        "no training images: label some images of the train split first",
        "没有训练图片：请先标注训练集中的一些图片。",
    ),
    "train.no_val_images": (
        "no validation images: put some labelled images in the val split",
        "没有验证图片：请把一些已标注的图片放入验证集。",
    ),
    "train.no_images": (
        "no labelled images in the train split: label some images first",
        "训练集中没有已标注的图片，请先标注一些图片。",
    ),
    "train.other_classes": (
        "detector {name!r} was trained with other classes, base or image size; give another --name to train a "
        "new one",
        "检测器 {name!r} 是用其他类别、基础模型或图片尺寸训练的，请用另一个 --name 训练新的检测器。",
    ),
    # Everything else.
    "error.plain": ("{message}", "错误：{message}"),
    "error.unexpected": (
        "Unexpected error ({kind}: {reason}). This is a bug in sdaug: run the command again with -v and report "
        "the traceback.",
        "意外错误（{kind}：{reason}）。这是 sdaug 的缺陷：请加 -v 重新运行命令，并报告完整的错误信息。",
    ),
}
