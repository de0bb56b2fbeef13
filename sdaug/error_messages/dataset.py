"""Messages of projects, their images and boxes, imports, exports and jobs (sdaug.dataset)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
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
    "job.failed_item": ("{preset} #{number} of image {image} (failed {attempts} of {tries} tries): {error}",
                        "图片 {image} 的 {preset} 第 {number} 张（{tries} 次尝试中失败 {attempts} 次）：{error}"),
    "job.failed_more": ("... and {count} more", "……还有 {count} 个"),
    "job.failed_times": ("failed {count} times: {error}", "失败 {count} 次：{error}"),
    "job.worker_failed": ("the Ray worker failed ({kind})", "Ray 工作进程出错（{kind}）"),
    "job.no_variant": ("no variant was made", "没有生成变体"),
    "job.not_recorded": ("the variant was not recorded", "变体未能保存到项目中"),
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
}
