"""Messages of any module: limits, files and disks, archives, the database, inputs, checked values."""

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
}
