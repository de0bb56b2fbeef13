"""Pascal VOC XML: import and export.

XML is parsed with defusedxml with DTDs forbidden: a VOC file never needs one, and a file that
declares entities (billion laughs, external entities reading local files) is refused with a
clear message. VOC pixel coordinates are 1-based and inclusive: ``xmin=1`` is the first pixel
column and ``xmax=W`` the last, so the store box is ``(xmin - 1, ymin - 1, xmax, ymax)``.

Import takes the VOC folder (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/*.txt`` for
the splits) or any folder of ``.xml`` files with their images. Export writes the same layout;
coordinates are rounded to whole pixels as VOC readers expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from xml.etree import ElementTree as ET

import defusedxml
from defusedxml import ElementTree as SafeET
from PIL import Image

from sdaug.dataset.common import (
    ExportPlan,
    ImageIndex,
    ImageTask,
    ImportReport,
    ProgressFn,
    add_images,
    check_declared_size,
    copy_images,
    pixel_box,
    rel,
    split_of,
    to_project_classes,
)
from sdaug.dataset.inputs import read_bytes, read_text
from sdaug.dataset.store import Box, PreparedImage, Project
from sdaug.errors import InputError


@dataclass
class VocObject:
    name: str
    xyxy: tuple[float, float, float, float]
    where: str


@dataclass
class VocFile:
    path: Path
    filename: str
    size: tuple[int, int] | None
    objects: list[VocObject]
    # Objects left out because they were malformed: the image needs review.
    refused: int = 0


def parse_voc(path: Path, where: str, report: ImportReport, folder: Path | None = None) -> VocFile | None:
    """Parse one annotation file (a regular file inside ``folder``, default its own); problems
    are reported and bad objects left out."""
    try:
        root = SafeET.fromstring(read_bytes(path, folder or path.parent, where), forbid_dtd=True)
    except InputError as exc:
        report.problems.append(str(exc))
        return None
    except defusedxml.DefusedXmlException as exc:
        report.problem(where, f"refused: the XML declares a DTD or entities ({type(exc).__name__}); "
                              "this is how entity-expansion and file-disclosure attacks work. "
                              "VOC files need no DTD: remove the <!DOCTYPE ...> part")
        return None
    except ET.ParseError as exc:
        report.problem(f"{where}:{exc.position[0]}", f"not valid XML ({exc})")
        return None
    if root.tag != "annotation":
        report.problem(where, f"not a VOC file (the root element is <{root.tag}>, expected <annotation>)")
        return None
    size = _size(root)
    objects = []
    before = len(report.problems)
    for number, obj in enumerate(root.findall("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        obj_where = f"{where}: object {number}" + (f" ({name})" if name else "")
        if not name:
            report.problem(obj_where, "has no <name>; skipped")
            continue
        box = obj.find("bndbox")
        try:
            xmin, ymin, xmax, ymax = (float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (AttributeError, TypeError, ValueError):
            report.problem(obj_where, "needs <bndbox> with numbers <xmin> <ymin> <xmax> <ymax>; skipped")
            continue
        objects.append(VocObject(name, (xmin - 1, ymin - 1, xmax, ymax), obj_where))
    filename = (root.findtext("filename") or "").strip()
    return VocFile(path=path, filename=filename, size=size, objects=objects, refused=len(report.problems) - before)


def _size(root: ET.Element) -> tuple[int, int] | None:
    try:
        width, height = int(float(root.findtext("size/width"))), int(float(root.findtext("size/height")))
    except (TypeError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def _splits(root: Path) -> dict[str, str]:
    """Image stem -> split from ``ImageSets/Main/{trainval,train,val,test}.txt`` (later wins)."""
    result: dict[str, str] = {}
    main = root / "ImageSets" / "Main"
    for name, split in (("trainval", "train"), ("train", "train"), ("val", "val"), ("test", "test")):
        path = main / f"{name}.txt"
        if path.exists():
            for line in read_text(path, root, rel(path, root)).splitlines():
                if line.strip():
                    result[line.split()[0]] = split
    return result


def import_voc(project: Project, root: Path, report: ImportReport, on_progress: ProgressFn | None = None) -> None:
    """Import a VOC folder (see the module docstring)."""
    annotations = root / "Annotations"
    xml_files = sorted((annotations if annotations.is_dir() else root).rglob("*.xml"))
    if not xml_files:
        raise ValueError(f"{root}: no .xml annotation files found (expected Annotations/*.xml)")
    parsed = [f for f in (parse_voc(p, rel(p, root), report, root) for p in xml_files) if f is not None]
    # Class order: labels.txt / classes.txt when present, then names in order of appearance.
    names: list[str] = []
    for list_file in ("labels.txt", "classes.txt"):
        if (root / list_file).exists():
            names = [n.strip() for n in read_text(root / list_file, root, list_file).splitlines() if n.strip()]
            break
    for voc in parsed:
        names.extend(o.name for o in voc.objects if o.name not in names)
    class_ids = {record.name: record.id for record in to_project_classes(project, names, report)}
    splits = _splits(root)
    index = ImageIndex(root)
    tasks = []
    for voc in parsed:
        where = rel(voc.path, root)
        folders = [root / "JPEGImages", voc.path.parent, voc.path.parent.parent / "JPEGImages", root]
        found = index.find(voc.filename or voc.path.stem, folders)
        if isinstance(found, str) and not voc.filename:
            found = f"no <filename> and no image named like {voc.path.stem}"
        if isinstance(found, str):
            report.skipped += 1
            report.problem(where, found)
            continue
        split = splits.get(voc.path.stem) or splits.get(found.stem) or split_of(found, root)
        tasks.append(ImageTask(found, split, partial(_boxes, voc=voc, class_ids=class_ids, where=where,
                                                     report=report), voc.refused))
    add_images(project, report, root, tasks, on_progress)


def _boxes(image: PreparedImage, voc: VocFile, class_ids: dict[str, int], where: str,
           report: ImportReport) -> list[Box]:
    mismatch = check_declared_size(image, voc.size)
    if mismatch:
        report.problem(where, mismatch)
        return []
    boxes = []
    for obj in voc.objects:
        box = pixel_box(class_ids[obj.name], obj.xyxy, image, voc.size)
        if isinstance(box, str):
            report.problem(obj.where, f"{box}; skipped")
        else:
            boxes.append(box)
    return boxes


# Export --------------------------------------------------------------------------------------
def voc_xml(item_name: str, width: int, height: int, depth: int, objects: list[tuple[str, Box]]) -> bytes:
    """One VOC annotation document (coordinates 1-based, whole pixels)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = item_name
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "sdaug"
    size = ET.SubElement(root, "size")
    for key, value in (("width", width), ("height", height), ("depth", depth)):
        ET.SubElement(size, key).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for name, box in objects:
        obj = ET.SubElement(root, "object")
        for key, value in (("name", name), ("pose", "Unspecified"), ("truncated", "0"), ("difficult", "0")):
            ET.SubElement(obj, key).text = value
        xmin, ymin = min(round(box.x1) + 1, width), min(round(box.y1) + 1, height)
        xmax, ymax = max(round(box.x2), xmin), max(round(box.y2), ymin)
        bndbox = ET.SubElement(obj, "bndbox")
        for key, value in (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax)):
            ET.SubElement(bndbox, key).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_voc(plan: ExportPlan, out: Path, final_path: Path) -> None:
    """Write ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/{split}.txt`` and ``labels.txt``."""
    names = {c.id: c.name for c in plan.classes}
    for folder in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    copy_images(plan.items, lambda item: out / "JPEGImages")
    for split, items in plan.by_split().items():
        for item in items:
            with Image.open(item.source) as img:
                depth = len(img.getbands())
            xml = voc_xml(item.name, item.record.width, item.record.height, depth,
                          [(names[b.class_id], b) for b in item.boxes])
            (out / "Annotations" / f"{item.stem}.xml").write_bytes(xml)
        if items:
            text = "".join(f"{item.stem}\n" for item in items)
            (out / "ImageSets" / "Main" / f"{split}.txt").write_text(text, encoding="utf-8")
    (out / "labels.txt").write_text("".join(f"{c.name}\n" for c in plan.classes), encoding="utf-8")

