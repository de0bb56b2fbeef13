"""The texts of :data:`sdaug.errors.MESSAGES`: ``key: (english, chinese)`` with the same
``{placeholders}`` in both (a test checks). Grouped by the module that raises them; data only.

``ZH_WORDS`` are English words that fill a placeholder (field names, statuses, splits, ...) and
their Chinese, used when a message is shown in Chinese.
"""

from __future__ import annotations

_RAISE = "start sdaug with --limit {option}=N (or set SDAUG_{option_upper}) to allow more"

MESSAGES: dict[str, tuple[str, str]] = {
    # Limits (sdaug.limits).
    "limit.prompt_chars": (
        "The {field} is {count} characters long, more than the limit of {limit}. Shorten it, or " + _RAISE + ".",
        "{field}长 {count} 个字符，超过上限 {limit}。请缩短；或用 --limit {option}=N 启动 sdaug（或设置环境变量 "
        "SDAUG_{option_upper}）以提高上限。",
    ),
    "limit.prompt_tokens": (
        "The {field} is {count} CLIP tokens long, more than the limit of {limit}. Shorten it, or " + _RAISE + ".",
        "{field}有 {count} 个 CLIP 词元，超过上限 {limit}。请缩短；或用 --limit {option}=N 启动 sdaug 以提高上限。",
    ),
    "limit.infotext": (
        "{where}: the generation parameters stored in it are {count} characters long, more than the limit of "
        "{limit}; they were not read. If you trust the file, " + _RAISE + ".",
        "{where}：其中保存的生成参数长 {count} 个字符，超过上限 {limit}，未读取。若信任该文件，可用 --limit "
        "{option}=N 启动 sdaug。",
    ),
    "limit.pixels": (
        "{where}: the image is {width}x{height} pixels ({megapixels} megapixels), more than the limit of {limit} "
        "megapixels. Make it smaller, or " + _RAISE + ".",
        "{where}：图片为 {width}x{height} 像素（{megapixels} 百万像素），超过上限 {limit} 百万像素。请缩小图片；"
        "或用 --limit {option}=N 启动 sdaug。",
    ),
    "limit.boxes": (
        "{where}: {count} boxes, more than the limit of {limit} per image. Split the image, or " + _RAISE + ".",
        "{where}：{count} 个框，超过每张图片 {limit} 个的上限。请拆分图片；或用 --limit {option}=N 启动 sdaug。",
    ),
    "limit.boxes_kept": (
        "{where}: {count} boxes, more than the limit of {limit} per image. Split the image, or " + _RAISE + ". "
        "The first {limit} were kept.",
        "{where}：{count} 个框，超过每张图片 {limit} 个的上限，只保留了前 {limit} 个。请拆分图片；或用 --limit "
        "{option}=N 启动 sdaug。",
    ),
    "limit.classes": (
        "{where}: {count} classes, more than the limit of {limit}. Check the class list or the class numbers "
        "in the labels, or " + _RAISE + ".",
        "{where}：{count} 个类别，超过上限 {limit}。请检查类别列表或标签中的类别编号；或用 --limit {option}=N 启动 sdaug。",
    ),
    "limit.file_size": (
        "{where}: the file is {size}, more than the limit of {limit} for this kind of file; it was not read. "
        "If it is right, " + _RAISE + ".",
        "{where}：文件大小 {size}，超过此类文件 {limit} 的上限，未读取。若文件无误，可用 --limit {option}=N 启动 sdaug。",
    ),
    "limit.zip_bytes": (
        "{where}: unpacks to {size}, more than the limit of {limit}; nothing was extracted. Unpack it yourself "
        "and import the folder, or " + _RAISE + ".",
        "{where}：解压后有 {size}，超过上限 {limit}，未解压任何文件。请自行解压后导入文件夹；或用 --limit {option}=N 启动 sdaug。",
    ),
    "limit.zip_ratio": (
        "{where}: {member} is compressed {ratio} times, more than the limit of {limit}; this looks like a zip "
        "bomb, so nothing was extracted. If you trust the archive, " + _RAISE + ".",
        "{where}：{member} 的压缩比为 {ratio} 倍，超过上限 {limit}，看起来像“压缩炸弹”，未解压任何文件。若信任该压缩包，"
        "可用 --limit {option}=N 启动 sdaug。",
    ),
    "limit.zip_members": (
        "{where}: {count} entries, more than the limit of {limit}; nothing was extracted. Split the archive, "
        "or " + _RAISE + ".",
        "{where}：含 {count} 个条目，超过上限 {limit}，未解压任何文件。请拆分压缩包；或用 --limit {option}=N 启动 sdaug。",
    ),
    "limit.path_depth": (
        "{where}: the entry {member} is {depth} folders deep, more than the limit of {limit}; nothing was "
        "extracted. Re-create the archive with a flatter layout.",
        "{where}：条目 {member} 有 {depth} 层文件夹，超过上限 {limit}，未解压任何文件。请用更浅的目录结构重新打包。",
    ),
    "limit.nesting": (
        "{where}: the data is nested more than {limit} levels deep (a COCO or YAML file needs fewer than 10); "
        "it was not read.",
        "{where}：数据嵌套超过 {limit} 层（COCO 或 YAML 文件不到 10 层），未读取。",
    ),
    "limit.option": (
        "--limit takes NAME=VALUE with NAME one of {names}; got {value!r}",
        "--limit 的格式是 NAME=VALUE，NAME 为 {names} 之一；当前为 {value!r}。",
    ),
    "image.pillow_bomb": (
        "{reason}",
        "图片像素过多，可能是恶意的“解压炸弹”，未读取（{reason}）。请使用更小的图片。",
    ),
    # Annotation files.
    "yaml.alias": (
        "{where}: uses YAML aliases (*name), which sdaug refuses (they can expand without bound); write the "
        "values out in full.",
        "{where}：使用了 YAML 别名（*name）。别名可能无限展开，sdaug 拒绝读取；请把内容完整写出。",
    ),
    "file.not_regular": (
        "{where}: not a regular file (a pipe, device or socket); skipped.",
        "{where}：不是普通文件（管道、设备或套接字），已跳过。",
    ),
    "file.outside": (
        "{where}: a link to a file outside the folder being imported; skipped. Copy the file in instead.",
        "{where}：是指向导入文件夹之外的链接，已跳过。请把文件复制进来。",
    ),
    "file.encoding": (
        "{where}: not UTF-8 text ({reason}); save it as UTF-8 and import again.",
        "{where}：不是 UTF-8 文本（{reason}），请另存为 UTF-8 后重新导入。",
    ),
    "coco.duplicate_id": (
        "{where}: {what} id {id} is used twice ({first} and {second}); the file was not imported. Give each "
        "{what} its own id.",
        "{where}：{what} id {id} 重复出现（{first} 和 {second}），该文件未导入。请为每个{what}使用不同的 id。",
    ),
    "coco.bad_id": (
        "{where}: {what} {entry} needs a whole-number 'id' from 0 to 2^63-1, got {id}; skipped.",
        "{where}：{what} {entry} 的 'id' 必须是 0 到 2^63-1 之间的整数，实际为 {id}，已跳过。",
    ),
    # Zip archives.
    "zip.bad": (
        "{where}: not a readable zip file ({reason}). Download or create the archive again.",
        "{where}：不是可读取的 zip 文件（{reason}）。请重新下载或重新打包。",
    ),
    "zip.damaged": (
        "{where}: the entry {member} is damaged ({reason}); nothing was imported. Download or create the "
        "archive again.",
        "{where}：条目 {member} 已损坏（{reason}），未导入任何内容。请重新下载或重新打包。",
    ),
    "zip.encrypted": (
        "{where}: the entry {member} is encrypted (password-protected); unpack it yourself and import the folder.",
        "{where}：条目 {member} 已加密（有密码），请自行解压后导入文件夹。",
    ),
    "zip.compression": (
        "{where}: the entry {member} uses a compression method Python cannot read ({method}, e.g. Deflate64 "
        "from Windows Explorer for large files); re-create the archive with normal Deflate compression.",
        "{where}：条目 {member} 使用了无法读取的压缩方法（{method}，例如 Windows 资源管理器对大文件使用的 "
        "Deflate64），请用普通 Deflate 压缩重新打包。",
    ),
    "zip.clash": (
        "{where}: {member} is both a file and a folder in the archive; nothing was extracted. Re-create the archive.",
        "{where}：{member} 在压缩包中既是文件又是文件夹，未解压任何文件。请重新打包。",
    ),
    "zip.name_too_long": (
        "{where}: the entry name {member} has a part longer than 255 bytes, which no file system stores; "
        "nothing was extracted.",
        "{where}：条目名 {member} 中有超过 255 字节的部分，文件系统无法保存，未解压任何文件。",
    ),
    # Files and disks (OSError).
    "os.no_space": (
        "The disk is full (writing {path}). Free some space or choose a folder on another disk, then run "
        "again; nothing half-written was kept.",
        "磁盘已满（写入 {path} 时）。请释放空间或改用其他磁盘上的文件夹，然后重新运行；未保留写了一半的文件。",
    ),
    "os.too_large": (
        "Cannot write {path}: the file is larger than this disk or your account allows. Choose a folder on "
        "another disk.",
        "无法写入 {path}：文件超过此磁盘或当前账户允许的大小。请选择其他磁盘上的文件夹。",
    ),
    "os.read_only": (
        "Cannot write {path}: the disk is read-only. Choose a folder you can write to.",
        "无法写入 {path}：磁盘为只读。请选择可以写入的文件夹。",
    ),
    "os.permission": (
        "Permission denied for {path}. Choose a file or folder your user may read and write, or fix its "
        "permissions.",
        "没有访问 {path} 的权限。请选择当前用户可读写的文件或文件夹，或修改其权限。",
    ),
    "os.not_found": (
        "{path} does not exist (was it moved or deleted while sdaug was running?). Check the path and run again.",
        "{path} 不存在（是否在 sdaug 运行时被移动或删除？）。请检查路径后重新运行。",
    ),
    "os.is_dir": ("{path} is a folder where a file was expected.", "{path} 是文件夹，而这里需要文件。"),
    "os.not_dir": ("{path}: a part of this path is a file, not a folder.", "{path}：路径中的某一部分是文件而不是文件夹。"),
    "os.name_too_long": ("{path}: the name is too long for the file system.", "{path}：名称太长，文件系统无法保存。"),
    "os.other": ("Cannot access {path}: {reason}.", "无法访问 {path}：{reason}。"),
    # Project database (sqlite3).
    "db.locked": (
        "The project database{where} is busy: another sdaug program is writing to it. Wait until it finishes "
        "(or close it) and try again.",
        "项目数据库{where}正忙：另一个 sdaug 程序正在写入。请等它完成（或关闭它）后重试。",
    ),
    "db.corrupt": (
        "The project database{where} is damaged or not a database ({reason}). Restore project.sqlite from a "
        "backup, or move it away and import the images again.",
        "项目数据库{where}已损坏或不是数据库（{reason}）。请从备份恢复 project.sqlite，或把它移走后重新导入图片。",
    ),
    "db.no_space": (
        "The disk holding the project database{where} is full. Free some space and run again; the last "
        "change was not saved, earlier ones are kept.",
        "项目数据库{where}所在磁盘已满。请释放空间后重新运行；最后一次修改未保存，之前的修改都在。",
    ),
    "db.read_only": (
        "The project database{where} is read-only. Make the project folder writable, or copy it to a folder "
        "you can write to.",
        "项目数据库{where}为只读。请让项目文件夹可写，或把项目复制到可写的文件夹。",
    ),
    "db.other": ("The project database{where} reported an error: {reason}.", "项目数据库{where}报错：{reason}。"),
    # Models and LoRAs.
    "model.bad_file": (
        "{where} is not a valid .safetensors file ({reason}). It is damaged, cut short, or another kind of "
        "file renamed (a pickled .ckpt?). Download it again.",
        "{where} 不是有效的 .safetensors 文件（{reason}）。文件已损坏、不完整，或是被改名的其他类型文件"
        "（例如 pickle 格式的 .ckpt）。请重新下载。",
    ),
    "model.lora_mismatch": (
        "LoRA {where} does not fit this model ({reason}). Use a LoRA made for the same base model "
        "(SD 1.5 LoRAs for SD 1.5 checkpoints).",
        "LoRA {where} 与当前模型不匹配（{reason}）。请使用为同一基础模型训练的 LoRA（SD 1.5 的 LoRA 配 SD 1.5 模型）。",
    ),
    # Inputs too big for memory or the parser.
    "input.memory": (
        "Ran out of memory on this input ({reason}); it is too large or malformed. Use a smaller input.",
        "处理此输入时内存不足（{reason}）：输入过大或格式异常。请使用更小的输入。",
    ),
    "input.recursion": (
        "The input is nested too deeply to read (JSON, YAML or XML with thousands of levels); it is malformed.",
        "输入嵌套层数过多（数千层的 JSON、YAML 或 XML），无法读取，文件格式异常。",
    ),
    # Phrases that name where something happened (sdaug.errors.Phrase), filled into messages.
    "where.archive": ("the archive", "压缩包"),
    "where.annotation": ("{where}: annotation id {id}", "{where}：标注 {id}"),
    "where.coco_image": ("{where}: image id {id}", "{where}：图片 {id}"),
    "where.voc_object": ("{where}: object {number}", "{where}：第 {number} 个物体"),
    "where.voc_object_named": ("{where}: object {number} ({name})", "{where}：第 {number} 个物体（{name}）"),
    "where.few_hundred": ("a few hundred", "数百"),
    "where.archive_whole": ("the archive as a whole", "整个压缩包"),
    "where.entry": ("the entry {member}", "条目 {member}"),
    "where.model_file": ("the model file", "模型文件"),
    "where.class_list": ("the imported class list", "导入的类别列表"),
    "where.image": ("image id {id}", "编号为 {id} 的图片"),
    "where.variant": ("the variant of image id {id}", "编号为 {id} 的图片的变体"),
    "where.source": ("source image {id} ({name}, file {path})", "源图片 {id}（{name}，文件 {path}）"),
    "where.source_image": ("the source image", "源图片"),
    # Checked values (any module): {field} is a field or option name, translated by ZH_WORDS.
    "value.choice": (
        "{field} must be one of {allowed}, got {value!r}",
        "{field}必须是 {allowed} 之一，当前为 {value!r}。",
    ),
    "value.range": ("{field} must be from {low} to {high}, got {value!r}", "{field}必须在 {low} 到 {high} 之间，当前为 {value!r}。"),
    "value.whole_range": (
        "{field} must be a whole number from {low} to {high}, got {value!r}",
        "{field}必须是 {low} 到 {high} 之间的整数，当前为 {value!r}。",
    ),
    "value.number_range": (
        "{field} must be a number from {low} to {high}, got {value!r}",
        "{field}必须是 {low} 到 {high} 之间的数字，当前为 {value!r}。",
    ),
    "value.whole": ("{field} must be a whole number, got {value!r}", "{field}必须是整数，当前为 {value!r}。"),
    "value.whole_min": ("{field} must be a whole number >= {low}, got {value!r}",
                        "{field}必须是不小于 {low} 的整数，当前为 {value!r}。"),
    "value.number": ("{field} must be a number, got {value!r}", "{field}必须是数字，当前为 {value!r}。"),
    "value.finite": ("{field} must be a finite number, got {value!r}", "{field}必须是有限的数字，当前为 {value!r}。"),
    "value.text": ("{field} must be text, got {value!r}", "{field}必须是文本，当前为 {value!r}。"),
    "value.text_type": ("{field} must be text, got {kind}", "{field}必须是文本，当前为 {kind} 类型。"),
    "value.bool": ("{field} must be true or false, got {value!r}", "{field}必须是 true 或 false，当前为 {value!r}。"),
    "error.in_file": ("{where}: {error}", "文件 {where} 有误：{error}"),
    "path.missing": ("{path} does not exist", "{path} 不存在，请检查路径。"),
    # Projects and their classes, images and boxes (sdaug.dataset.store, records, projects, schema).
    "project.is_file": ("{path} is a file; a project is a folder", "{path} 是文件，而项目是文件夹。请选择项目文件夹。"),
    "project.not_project": (
        "{path} is not a project folder (no {db}); import images into it first",
        "{path} 不是项目文件夹（没有 {db}），请先向其中导入图片。",
    ),
    "project.outside": (
        "{path} is not in the projects folder {root}: give a project name, or move the project folder there",
        "{path} 不在项目文件夹 {root} 中：请填写项目名称，或把项目文件夹移到那里。",
    ),
    "project.newer": (
        "{path} was made by a newer sdaug (schema {version}, this version knows {known}); update sdaug to open it",
        "{path} 由更新版本的 sdaug 创建（数据结构版本 {version}，当前版本只支持到 {known}），请升级 sdaug 后再打开。",
    ),
    "class.missing": ("class id {id} does not exist in this project", "本项目中没有编号为 {id} 的类别。"),
    "class.missing_add": (
        "class id {id} does not exist in this project; add the class first",
        "本项目中没有编号为 {id} 的类别，请先添加该类别。",
    ),
    "class.exists": ("a class named {name!r} already exists", "已有名为 {name!r} 的类别，请换一个名称。"),
    "class.empty": ("class name must not be empty", "类别名称不能为空，请填写名称。"),
    "class.one_line": ("class name must be one line without tabs, got {name!r}",
                       "类别名称必须是一行且不含制表符，当前为 {name!r}。"),
    "class.color": ("colour must look like #rrggbb, got {value!r}", "颜色必须形如 #rrggbb，当前为 {value!r}。"),
    "class.description_long": (
        "a class description may be at most {limit} characters, got {count}",
        "类别说明最多 {limit} 个字符，当前有 {count} 个，请缩短。",
    ),
    "class.reorder": (
        "reorder needs every class id exactly once: {expected}, got {got}",
        "调整顺序时每个类别编号必须恰好出现一次：应为 {expected}，当前为 {got}。",
    ),
    "class.in_use": (
        "class id {id} is used by {count} boxes; change or delete those boxes first",
        "编号为 {id} 的类别被 {count} 个框使用，请先修改或删除这些框。",
    ),
    "class.locked": (
        "cannot {action} classes: the class order is locked since the first export (exported labels use it). "
        "Renaming and adding classes is still possible.",
        "无法{action}类别：自首次导出后类别顺序已锁定（导出的标签依赖此顺序）。仍可重命名和添加类别。",
    ),
    "image.missing": ("image id {id} does not exist in this project", "本项目中没有编号为 {id} 的图片。"),
    "box.missing": ("box id {id} does not exist in this project", "本项目中没有编号为 {id} 的框。"),
    "box.not_finite": ("box coordinates must be finite numbers, got {coords}", "框的坐标必须是有限的数字，当前为 {coords}。"),
    "box.no_area": (
        "box {coords} has no area inside the {width}x{height} image",
        "框 {coords} 在 {width}x{height} 的图片内面积为零，请重新画框。",
    ),
    # Image files (sdaug.dataset.image_files).
    "image.not_regular": (
        "{where}: not a regular file (a folder, pipe or device); skipped",
        "{where}：不是普通文件（文件夹、管道或设备），已跳过。",
    ),
    "file.cannot_read": ("{where}: cannot read ({reason})", "{where}：无法读取（{reason}）。"),
    "image.format": (
        "{where}: format {format} is not supported; use one of {allowed}",
        "{where}：不支持 {format} 格式，请使用 {allowed} 之一。",
    ),
    "image.unreadable": ("{where}: not a readable image ({reason})", "{where}：不是可读取的图片（{reason}）。"),
    "image.no_pixels": ("{where}: image has no pixels ({width}x{height})", "{where}：图片没有像素（{width}x{height}）。"),
    # Imports and uploads (sdaug.dataset.importers, uploads, coco, voc, yolo, archive).
    "import.problem": ("{where}: {message}", "{where}：{message}"),
    # Import report lines (sdaug.dataset.common, coco, voc, yolo, uploads): "<where>: <message>".
    "report.skipped": ("{where}: {message}; skipped", "{where}：{message}，已跳过。"),
    "report.not_found_beside": (
        "image file {name!r} not found beside the annotation file or in its images folder",
        "在标注文件旁边及其图片文件夹中都找不到图片文件 {name!r}",
    ),
    "report.same_name": (
        "{count} files are named {name!r}; keep one or use distinct names",
        "有 {count} 个文件都叫 {name!r}，请只保留一个或改用不同的名称",
    ),
    "report.not_found_under": ("image file {name!r} not found under {root}", "在 {root} 下找不到图片文件 {name!r}"),
    "report.box_not_numbers": ("coordinates must be numbers, got {coords}", "坐标必须是数字，当前为 {coords}"),
    "report.box_no_area": (
        "box {box} has no area (the second corner must be right of and below the first)",
        "框 {box} 面积为零（第二个角必须在第一个角的右下方）",
    ),
    "report.box_outside": ("box {box} lies outside the {width}x{height} image", "框 {box} 在 {width}x{height} 的图片之外"),
    "report.box_no_area_inside": (
        "box {box} has no area inside the {width}x{height} image",
        "框 {box} 在 {width}x{height} 的图片内面积为零",
    ),
    "report.size_mismatch": (
        "the annotation says the image is {declared_width}x{declared_height} but it is {width}x{height}; its boxes "
        "were not imported",
        "标注中图片尺寸为 {declared_width}x{declared_height}，实际为 {width}x{height}，其框未导入",
    ),
    "report.yolo_fields": (
        "expected 'class cx cy w h' (5 values) or a polygon, got {count} values",
        "应为 'class cx cy w h'（5 个值）或多边形，当前有 {count} 个值",
    ),
    "report.yolo_numbers": ("values must be numbers, got {text!r}", "各个值必须是数字，当前为 {text!r}"),
    "report.yolo_finite": ("values must be finite numbers", "各个值必须是有限的数字"),
    "report.yolo_class": ("class must be a whole number 0 or more, got {text!r}", "类别必须是不小于 0 的整数，当前为 {text!r}"),
    "report.yolo_undefined": (
        "class {id} is not defined (the names list has {count} classes: 0..{last})",
        "类别 {id} 未定义（names 列表有 {count} 个类别：0..{last}）",
    ),
    "report.yolo_over_limit": (
        "class {id} is more than the limit of {limit} classes (raise it with --limit max_classes=N)",
        "类别 {id} 超过 {limit} 个类别的上限（可用 --limit max_classes=N 提高）",
    ),
    "report.yolo_pixels": (
        "coordinates must be normalised to 0..1, got {text} (pixel coordinates? divide by the image width and "
        "height)",
        "坐标必须归一化到 0..1，当前为 {text}（是像素坐标吗？请除以图片的宽和高）",
    ),
    "report.yolo_no_size": ("box has no width or height (w={w}, h={h})", "框的宽或高为零（w={w}，h={h}）"),
    "report.yolo_no_image": ("no image with this name; skipped", "没有同名的图片，已跳过"),
    "report.yolo_no_classes": (
        "no data.yaml or classes.txt found; classes are named by their numbers (0, 1, ...). Rename them in the "
        "class list.",
        "没有找到 data.yaml 或 classes.txt，类别以编号命名（0、1……）。请在类别列表中重命名。",
    ),
    "report.yaml": ("not valid YAML ({reason})", "不是有效的 YAML（{reason}）"),
    "report.label_unreadable": ("cannot read the label file ({reason})", "无法读取标签文件（{reason}）"),
    "report.json": ("not valid JSON ({reason})", "不是有效的 JSON（{reason}）"),
    "report.unreadable": ("cannot read ({reason})", "无法读取（{reason}）"),
    "report.not_coco": (
        "not a COCO detection file (needs 'images' and 'categories' lists); skipped",
        "不是 COCO 检测标注文件（需要 'images' 和 'categories' 列表），已跳过",
    ),
    "report.coco_no_name": ("category {entry} needs a 'name'; skipped", "类别 {entry} 缺少 'name'，已跳过"),
    "report.coco_no_file": ("image entry {entry} needs a 'file_name'; skipped", "图片条目 {entry} 缺少 'file_name'，已跳过"),
    "report.coco_crowd": (
        "{count} crowd annotations (iscrowd=1) skipped: they mark a region of many objects",
        "跳过了 {count} 个人群标注（iscrowd=1）：它们标的是包含许多物体的区域",
    ),
    "report.coco_not_object": ("annotation {entry} is not an object", "标注 {entry} 不是对象"),
    "report.coco_image_id": ("image_id {id} is not in 'images'", "image_id {id} 不在 'images' 中"),
    "report.coco_category_id": ("category_id {id} is not in 'categories'", "category_id {id} 不在 'categories' 中"),
    "report.coco_bbox": (
        "bbox must be [x, y, width, height] numbers, got {bbox}",
        "bbox 必须是 [x, y, 宽, 高] 四个数字，当前为 {bbox}",
    ),
    "report.coco_bbox_size": ("bbox {bbox} has no width or height", "bbox {bbox} 的宽或高为零"),
    "report.voc_dtd": (
        "refused: the XML declares a DTD or entities ({kind}); this is how entity-expansion and file-disclosure "
        "attacks work. VOC files need no DTD: remove the <!DOCTYPE ...> part",
        "已拒绝：该 XML 声明了 DTD 或实体（{kind}），实体膨胀和文件泄露攻击就是这样进行的。VOC 文件不需要 DTD：请删除 "
        "<!DOCTYPE ...> 部分",
    ),
    "report.xml": ("not valid XML ({reason})", "不是有效的 XML（{reason}）"),
    "report.not_voc": (
        "not a VOC file (the root element is <{tag}>, expected <annotation>)",
        "不是 VOC 文件（根元素为 <{tag}>，应为 <annotation>）",
    ),
    "report.voc_no_name": ("has no <name>; skipped", "缺少 <name>，已跳过"),
    "report.voc_bndbox": (
        "needs <bndbox> with numbers <xmin> <ymin> <xmax> <ymax>; skipped",
        "需要含数字 <xmin> <ymin> <xmax> <ymax> 的 <bndbox>，已跳过",
    ),
    "report.voc_not_finite": (
        "coordinates must be finite numbers, got {coords}; skipped",
        "坐标必须是有限的数字，当前为 {coords}，已跳过",
    ),
    "report.voc_listed": (
        "{stem!r} is listed but has neither an XML nor an image; skipped",
        "{stem!r} 在列表中，但既没有 XML 也没有图片，已跳过",
    ),
    "report.not_a_photo": (
        "not a photo (.jpg, .png, .webp, …) or a .zip; skipped",
        "不是照片（.jpg、.png、.webp……）也不是 .zip，已跳过",
    ),
    "import.file_not_folder": (
        "{path} is a file; give the dataset folder or a .zip for format {format}",
        "{path} 是单个文件；{format} 格式请选择数据集文件夹或 .zip 压缩包。",
    ),
    "import.root_not_folder": ("--import-root {root} is not a folder", "--import-root {root} 不是文件夹，请指定一个文件夹。"),
    "coco.no_json": ("{where}: no .json annotation file found", "{where}：没有找到 .json 标注文件。"),
    "voc.no_xml": (
        "{where}: no .xml annotation files found (expected Annotations/*.xml)",
        "{where}：没有找到 .xml 标注文件（应在 Annotations/*.xml）。",
    ),
    "yolo.names_keys": (
        "{where}: names keys must be class numbers 0, 1, 2, ...",
        "{where}：names 的键必须是类别编号 0、1、2……",
    ),
    "yolo.names_gaps": (
        "{where}: names must number the classes 0..{last} without gaps, got {got}",
        "{where}：names 必须为类别连续编号 0..{last}，不能有空缺，当前为 {got}。",
    ),
    "yolo.names_type": (
        "{where}: names must be a list or a {{number: name}} mapping, got {kind}",
        "{where}：names 必须是列表或 {{编号: 名称}} 映射，当前为 {kind}。",
    ),
    "zip.absolute": (
        "zip entry {member!r} has an absolute path; refusing the archive",
        "压缩包条目 {member!r} 使用了绝对路径，拒绝导入该压缩包。",
    ),
    "zip.dotdot": (
        "zip entry {member!r} points outside the archive ('..'); refusing the archive",
        "压缩包条目 {member!r} 指向压缩包之外（'..'），拒绝导入该压缩包。",
    ),
    "zip.symlink": (
        "zip entry {member!r} is a symbolic link; refusing the archive",
        "压缩包条目 {member!r} 是符号链接，拒绝导入该压缩包。",
    ),
    "zip.outside": (
        "zip entry {member!r} would be written outside {root}",
        "压缩包条目 {member!r} 会被解压到 {root} 之外，已拒绝。",
    ),
    # Exports (sdaug.dataset.exporters).
    "export.split_numbers": (
        "split must be numbers like 0.8,0.1,0.1, got {text!r}",
        "划分比例必须是形如 0.8,0.1,0.1 的数字，当前为 {text!r}。",
    ),
    "export.split_ratios": (
        "split needs 2 or 3 ratios (train,val[,test]) of 0 or more, got {text!r}",
        "划分比例需要 2 或 3 个不小于 0 的数（训练,验证[,测试]），当前为 {text!r}。",
    ),
    "export.voc_jpeg": (
        "VOC exports hold JPEG images (JPEGImages/); image format {format!r} is for YOLO and COCO",
        "VOC 导出只含 JPEG 图片（JPEGImages/）；图片格式 {format!r} 只用于 YOLO 和 COCO，请改选 jpeg。",
    ),
    "export.not_empty": (
        "{path} exists and is not an earlier sdaug export; choose a new or empty folder",
        "{path} 已存在，且不是以前的 sdaug 导出，请选择新的或空的文件夹。",
    ),
    "export.no_classes": (
        "the project has no classes; add classes and label images before exporting",
        "项目还没有类别，请先添加类别并标注图片，再导出。",
    ),
    "export.nothing": (
        "nothing to export: no image is labelled or reviewed yet ({counts})",
        "没有可导出的内容：还没有已标注或已审核的图片（{counts}）。请先标注图片。",
    ),
    "export.empty": (
        "nothing to export: no image is labelled or reviewed yet (the project is empty)",
        "没有可导出的内容：项目是空的。请先导入并标注图片。",
    ),
    "export.summary": (
        "{count} images ({splits}), {boxes} boxes written to {out}",
        "已写出 {count} 张图片（{splits}）、{boxes} 个框，位于 {out}",
    ),
    "export.warning": ("warning: {warning}", "警告：{warning}"),
    "export.left_out": ("left out: {counts}", "未导出：{counts}"),
    "export.zip": ("zip: {path}", "zip 压缩包：{path}"),
    "export.split_empty": (
        "the {split} split is empty although its ratio is {ratio}: there are too few source images (a source and "
        "its variants always stay together)",
        "{split}是空的，尽管其比例为 {ratio}：源图片太少（源图片与其变体总在同一划分中）。",
    ),
    "export.no_val": (
        "no validation images: trainers will validate on the training images. Give a split such as 0.8,0.2 or mark "
        "some images as val",
        "没有验证集图片：训练程序将用训练集图片做验证。请设置划分比例（例如 0.8,0.2），或把一些图片标为验证集。",
    ),
    # Jobs (sdaug.dataset.job_store, job_lock, sdaug.augment.jobs).
    "job.missing": ("job id {id} does not exist in this project", "本项目中没有编号为 {id} 的任务。"),
    "job.item_missing": ("job item {id} does not exist in this project", "本项目中没有编号为 {id} 的任务项。"),
    "job.item_done": ("job item {id} does not exist or is already done", "编号为 {id} 的任务项不存在或已完成。"),
    "job.running": (
        "job {job} is already running (process {pid} on {host} since {since}); wait for it to end or stop it, "
        "then run the same command again to resume",
        "任务 {job} 正在运行（{host} 上的进程 {pid}，自 {since} 起）。请等它结束或停止它，然后重新运行同一命令以继续。",
    ),
    "job.running_elsewhere": (
        "job {job} is already running (another process); wait for it to end or stop it, then run the same "
        "command again to resume",
        "任务 {job} 正在由另一个进程运行。请等它结束或停止它，然后重新运行同一命令以继续。",
    ),
    "variant.same_image": (
        "this variant is pixel-identical to image id {id}; not added twice",
        "此变体与编号为 {id} 的图片逐像素相同，不重复添加。",
    ),
    "variant.same_batch": (
        "this variant is pixel-identical to another variant of this batch; not added twice",
        "此变体与本批次中的另一个变体逐像素相同，不重复添加。",
    ),
    "job.no_preset": ("give at least one preset (--preset NAME)", "请至少选择一个预设（--preset NAME）。"),
    "job.preset_twice": ("a preset is listed twice: {presets}", "有预设被列出了两次：{presets}。"),
    "job.no_class": (
        "class {name!r} is not in this project; classes: {classes}",
        "本项目中没有类别 {name!r}；现有类别：{classes}。",
    ),
    "job.no_class_none": (
        "class {name!r} is not in this project; classes: (none)",
        "本项目中没有类别 {name!r}；项目还没有任何类别。",
    ),
    "job.no_sources": (
        "no source images match (status {status}, split {split}, class {class_name}); label some images first "
        "or change the filter",
        "没有符合条件的源图片（状态 {status}，划分 {split}，类别 {class_name}）。请先标注一些图片，或更改筛选条件。",
    ),
    "job.no_sources_any": (
        "no source images match (status {status}, split {split}, class any); label some images first or change "
        "the filter",
        "没有符合条件的源图片（状态 {status}，划分 {split}，任意类别）。请先标注一些图片，或更改筛选条件。",
    ),
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

# Words filled into messages, in Chinese mode: field and option names that a person meets in the
# UI, statuses, splits and other words of ours. A value the message quotes ({name!r}) is never
# translated (it is the user's own text).
ZH_WORDS = {
    "prompt": "提示词", "negative prompt": "反向提示词", "image": "图片", "category": "类别",
    # Generation fields (sdaug.engine.request) and pasted parameters (sdaug.prompts.params).
    "mode": "模式", "steps": "步数", "cfg_scale": "CFG 引导强度", "width": "宽度", "height": "高度",
    "batch_size": "每批张数", "batch_count": "批次数", "denoising_strength": "改变强度",
    "control_weight": "控制权重", "control_start": "控制开始", "control_end": "控制结束", "clip_skip": "CLIP 跳过层数",
    "seed": "种子", "seeds": "种子", "negative_prompt": "反向提示词", "sampler": "采样器",
    "schedule_type": "调度类型", "control_type": "控制类型", "model": "模型", "controlnet_model": "ControlNet 模型",
    "Steps": "步数", "CFG scale": "CFG 引导强度", "Seed": "种子", "Denoising strength": "改变强度",
    "Clip skip": "CLIP 跳过层数", "Schedule type": "调度类型", "RNG": "随机数来源",
    # Jobs, exports, settings.
    "format": "格式", "image format": "图片格式", "JPEG quality": "JPEG 质量", "split": "数据划分",
    "status": "状态", "engine": "引擎", "backend": "运行方式", "variants": "每张源图的变体数",
    "batch size": "每批张数", "preset kind": "预设类型", "epochs": "训练轮数", "image_size": "图片尺寸",
    "device": "设备", "dtype": "数据类型", "memory_mode": "显存模式", "lang": "语言", "attention": "注意力实现",
    "variant_format": "变体图片格式", "variant_quality": "变体图片质量",
    # Statuses, splits and other words.
    "unlabelled": "未标注", "labelled": "已标注", "review": "待审核", "reviewed": "已审核", "rejected": "已拒绝",
    "train": "训练集", "val": "验证集", "test": "测试集", "any": "任意", "unknown": "未知",
    "origin": "来源", "weather": "天气", "lighting": "光照", "control type": "控制类型", "box_strength": "框内强度",
    "background_strength": "背景强度", "strength": "改变强度（strength）",
    "reorder": "调整顺序", "delete": "删除", "CLIP model": "CLIP 模型", "detector": "检测器", "workers": "工作进程数",
    "only .bin pickled weights": "只有 .bin 格式的 pickle 权重",
}
