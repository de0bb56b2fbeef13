"""COCO object-detection JSON: import and export.

Import takes one ``.json`` file or a folder holding them (``annotations/instances_train2017.json``
with the images in ``train2017/``, Roboflow's ``_annotations.coco.json`` beside its images, ...);
the split comes from the file name. Images are looked up beside the JSON, in an
``images`` folder, under the folder given, and finally by unique file name anywhere below it.
``iscrowd=1`` regions are not boxes around single objects and are skipped (and counted). An
image without annotations is imported ``unlabelled`` (COCO cannot say "checked, nothing here").
Placeholder categories are not classes and are skipped when no annotation uses them: Roboflow's
workspace category (the ``supercategory`` of the others) and ``_background_`` (labelme).

Export writes ``annotations/instances_{split}.json`` and ``images/{split}/``. Category ids are
1-based in class order (id = YOLO class number + 1), so every reader orders the classes as the
YOLO and VOC exports do. Image and annotation ids are the store's ids, so they stay the same
across exports. Boxes carry ``"segmentation": []`` (a box is no mask; a rectangle polygon makes
readers build a full-image mask per box or count each object twice).
"""

from __future__ import annotations

import json
import math
import time
from functools import partial
from pathlib import Path

from sdaug.dataset.common import (
    ExportPlan,
    ImageIndex,
    ImageTask,
    ImportReport,
    ProgressFn,
    add_images,
    check_declared_size,
    copy_images,
    drawn_on_raw_pixels,
    is_placeholder_name,
    pixel_box,
    rel,
    to_project_classes,
)
from sdaug.dataset.inputs import load_json
from sdaug.dataset.store import SPLITS, Box, PreparedImage, Project
from sdaug.errors import InputError, Phrase, as_line


def find_json(path: Path) -> list[Path]:
    """The COCO files to import: ``path`` itself, or the ``.json`` files below the folder."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.json")
                  if not any(part.startswith(".") for part in p.relative_to(path).parts))


def _split_of_file(path: Path) -> str:
    """The split named in the file name (instances_val2017) or its folder (Roboflow's valid/)."""
    for text in (path.stem.lower(), path.parent.name.lower()):
        for word in ("val", "test", "train"):
            if word in text:
                return word
    return "train"


def import_coco(project: Project, path: Path, report: ImportReport, on_progress: ProgressFn | None = None) -> None:
    """Import every COCO JSON file at ``path`` (see the module docstring)."""
    # The COCO layout keeps annotations/ beside the image folders: search from its parent.
    root = path if path.is_dir() else path.parent
    if root.name.lower() == "annotations":
        root = root.parent
    files = find_json(path)
    if not files:
        raise InputError("coco.no_json", where=path)

    # A lone .json (say in Downloads) names its images' folders: its parent is not searched.
    index = ImageIndex(root, search=path.is_dir())
    for json_path in files:
        _import_file(project, json_path, root, index, report, on_progress)


def _load(json_path: Path, root: Path, where: str, report: ImportReport) -> dict | None:
    try:
        data = load_json(json_path, root, where)
    except json.JSONDecodeError as exc:
        report.problem(f"{where}:{exc.lineno}", Phrase("report.json", reason=exc.msg))
        return None
    except InputError as exc:
        report.problems.append(as_line(exc))
        return None
    except OSError as exc:
        report.problem(where, Phrase("report.unreadable", reason=exc.strerror or str(exc)))
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "categories")):
        report.problem(where, Phrase("report.not_coco"))
        return None
    return data


def _by_id(entries: list, what: str, where: str, report: ImportReport) -> dict[int, dict] | None:
    """``entries`` (images or categories) by id. Bad ids are reported and skipped; a duplicate id
    refuses the whole file (which entry is meant is unknowable), naming both entries."""
    result: dict[int, dict] = {}
    for entry in entries:
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(entry_id, bool) or not isinstance(entry_id, int) or not 0 <= entry_id < 2**63:
            report.problems.append(Phrase("coco.bad_id", where=where, what=what, entry=_short(entry),
                                         id=_short(entry_id)))
            continue
        if entry_id in result:
            report.problems.append(Phrase("coco.duplicate_id", where=where, what=what, id=entry_id,
                                         first=_short(result[entry_id]), second=_short(entry)))
            return None
        result[entry_id] = entry
    return result


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _import_file(project: Project, json_path: Path, root: Path, index: ImageIndex, report: ImportReport,
                 on_progress: ProgressFn | None) -> None:
    where = rel(json_path, root)
    data = _load(json_path, root, where, report)
    if data is None:
        return
    # 1. Categories and images by id (a duplicate id refuses the file).
    by_id = _by_id(data["categories"], "category", where, report), _by_id(data["images"], "image", where, report)
    if by_id[0] is None or by_id[1] is None:
        return
    # 2. Categories, in id order, become project classes (placeholders left out).
    categories: dict[int, str] = {}
    for cat_id, cat in by_id[0].items():
        if not str(cat.get("name", "")).strip():
            report.problem(where, Phrase("report.coco_no_name", entry=_short(cat)))
            continue
        categories[cat_id] = str(cat["name"]).strip()
    for cat_id in _placeholders(data, categories, by_id[0]):
        del categories[cat_id]
    records = to_project_classes(project, [categories[k] for k in sorted(categories)], report)
    class_ids = {cat_id: record.id for cat_id, record in zip(sorted(categories), records, strict=True)}
    # 3. Images by id.
    images: dict[int, dict] = {}
    for image_id, entry in by_id[1].items():
        if not entry.get("file_name"):
            report.problem(where, Phrase("report.coco_no_file", entry=_short(entry)))
            continue
        images[image_id] = entry
    # 4. Annotations grouped by image, bad ones reported (their image then needs review).
    per_image: dict[int, list[dict]] = {image_id: [] for image_id in images}
    refused: dict[int, int] = {}
    crowd = 0
    annotations = data.get("annotations", [])
    for ann in annotations if isinstance(annotations, list) else []:
        ann_where = Phrase("where.annotation", where=where, id=_short(ann.get("id", "?"))) if isinstance(ann, dict) \
            else where
        problem = _check_annotation(ann, images, class_ids)
        if problem == "crowd":
            crowd += 1
        elif problem:
            report.problems.append(Phrase("report.skipped", where=ann_where, message=problem))
            image_id = ann.get("image_id") if isinstance(ann, dict) else None
            if isinstance(image_id, int) and image_id in images:
                refused[image_id] = refused.get(image_id, 0) + 1
        else:
            per_image[ann["image_id"]].append(ann)
    if crowd:
        report.problem(where, Phrase("report.coco_crowd", count=crowd))
    # 5. Add every image with its boxes.
    info = data.get("info")
    upright_writer = isinstance(info, dict) and "label studio" in str(info.get("contributor", "")).lower()
    split = _split_of_file(json_path)
    folders = [json_path.parent, json_path.parent / "images", root, root / "images", root / "images" / split,
               root / split, root / json_path.stem.removeprefix("instances_")]
    tasks = []
    for image_id, entry in images.items():
        found = index.find(str(entry["file_name"]), folders)
        if isinstance(found, str):
            report.skipped += 1
            report.problem(Phrase("where.coco_image", where=where, id=image_id), found)
            continue
        anns = per_image[image_id]
        tasks.append(ImageTask(found, split, None if not anns and not refused.get(image_id) else partial(
            _boxes, anns=anns, entry=entry, class_ids=class_ids, where=where, report=report,
            upright_writer=upright_writer), annotations=len(anns), refused=refused.get(image_id, 0)))
    add_images(project, report, root, tasks, on_progress)


def _placeholders(data: dict, categories: dict[int, str], entries: dict[int, dict]) -> list[int]:
    """Ids of categories that no annotation uses and that are the supercategory of every other
    category (Roboflow's workspace) or carry a background name (labelme)."""
    annotations = data.get("annotations")
    used = ({a["category_id"] for a in annotations if isinstance(a, dict) and isinstance(a.get("category_id"), int)}
            if isinstance(annotations, list) else set())
    parent = {cat_id: str(entries[cat_id].get("supercategory", "")).strip() for cat_id in categories}
    result = []
    for cat_id, name in categories.items():
        others = [parent[other] for other in categories if other != cat_id]
        workspace = bool(others) and all(p == name for p in others)
        if cat_id not in used and (workspace or is_placeholder_name(name)):
            result.append(cat_id)
    return result


def _check_annotation(ann: object, images: dict[int, dict], class_ids: dict[int, int]) -> str | None:
    if not isinstance(ann, dict):
        return Phrase("report.coco_not_object", entry=str(ann)[:60])
    if ann.get("iscrowd", 0) == 1:
        return "crowd"
    image_id, category_id = ann.get("image_id"), ann.get("category_id")
    if not isinstance(image_id, int) or image_id not in images:
        return Phrase("report.coco_image_id", id=_short(image_id))
    if not isinstance(category_id, int) or category_id not in class_ids:
        return Phrase("report.coco_category_id", id=_short(category_id))
    bbox = ann.get("bbox")
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(_is_number(v) for v in bbox)):
        return Phrase("report.coco_bbox", bbox=_short(bbox))
    if bbox[2] <= 0 or bbox[3] <= 0:
        return Phrase("report.coco_bbox_size", bbox=str(bbox))
    return None


def _is_number(value: object) -> bool:
    """A finite JSON number of a sane size (a 400-digit integer does not fit a float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) < 2**53 if isinstance(value, int) else math.isfinite(value)


def _boxes(image: PreparedImage, anns: list[dict], entry: dict, class_ids: dict[int, int], where: str,
           report: ImportReport, upright_writer: bool = False) -> list[Box]:
    declared = (entry.get("width"), entry.get("height"))
    declared = declared if all(isinstance(v, int) for v in declared) else None
    mismatch = check_declared_size(image, declared)
    if mismatch:
        report.problem(Phrase("where.coco_image", where=where, id=entry["id"]), mismatch)
        return []
    xyxys = [(x, y, x + w, y + h) for x, y, w, h in (ann["bbox"] for ann in anns)]
    raw_pixels = drawn_on_raw_pixels(image, declared, xyxys, upright_writer)
    boxes = []
    for ann, xyxy in zip(anns, xyxys, strict=True):
        box = pixel_box(class_ids[ann["category_id"]], xyxy, image, raw_pixels)
        if isinstance(box, str):
            report.problems.append(Phrase("report.skipped", where=Phrase("where.annotation", where=where, id=ann.get("id", "?")),
                                          message=box))
        else:
            boxes.append(box)
    return boxes


# Export --------------------------------------------------------------------------------------
def coco_document(plan: ExportPlan, split: str) -> dict:
    """The COCO dictionary of one split."""
    items = plan.by_split()[split]
    category_id = {c.id: c.position + 1 for c in plan.classes}
    images, annotations = [], []
    for item in items:
        images.append({"id": item.record.id, "file_name": item.name, "width": item.record.width,
                       "height": item.record.height, "license": 1})
        for box in item.boxes:
            x, y, w, h = box.x1, box.y1, box.width, box.height
            annotations.append({
                "id": box.id, "image_id": item.record.id, "category_id": category_id[box.class_id],
                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0, "segmentation": [],
            })
    return {
        "info": {"description": f"sdaug export ({split})", "version": "1.0", "year": time.gmtime().tm_year,
                 "contributor": "sdaug", "date_created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "licenses": [{"id": 1, "name": "unknown", "url": ""}],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c.position + 1, "name": c.name, "supercategory": "object"} for c in plan.classes],
    }


def write_coco(plan: ExportPlan, out: Path, final_path: Path) -> None:
    """Write ``annotations/instances_{split}.json`` and ``images/{split}/`` for each non-empty split."""
    splits = plan.by_split()
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        if not splits[split]:
            continue
        copy_images(splits[split], lambda item: out / "images" / item.split, plan.jpeg_quality)
        text = json.dumps(coco_document(plan, split), ensure_ascii=False, indent=1)
        (out / "annotations" / f"instances_{split}.json").write_text(text, encoding="utf-8")
