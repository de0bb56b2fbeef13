"""Pascal VOC XML: import and export.

XML is parsed with defusedxml with DTDs forbidden: a VOC file never needs one, and a file that
declares entities (billion laughs, external entities reading local files) is refused with a
clear message.

Coordinates: the VOC devkit's pixel coordinates are 1-based and inclusive (``xmin=1`` is the
first pixel column, ``xmax=W`` the last), so its store box is ``(xmin - 1, ymin - 1, xmax, ymax)``.
CVAT/datumaro (by default), LabelImg, Label Studio and globox write and read 0-based pixel
edges instead (the store box is ``(xmin, ymin, xmax, ymax)``). Export writes the devkit's
convention, whole pixels enclosing the box (as datumaro's ``coordinate_mode="voc-one-based"``).
Import reads a dataset as 0-based when any file shows it: a fractional coordinate, an
``xmin``/``ymin`` of 0, or a ``<source>`` naming a 0-based writer (``Unknown``: datumaro, CVAT,
LabelImg; ``MyDatabase``: Label Studio); otherwise as the devkit's 1-based.

Import takes the VOC folder (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/*.txt`` for
the splits) or any folder of ``.xml`` files with their images. An image listed in
``ImageSets/Main`` without an XML is a background: imported labelled, with no boxes. The class
order comes from ``labelmap.txt`` (CVAT/datumaro), ``class_names.txt`` (labelme),
``labels.txt`` or ``classes.txt``, then names in order of appearance; unused ``background``
placeholders are left out.

Export writes that layout: every image as JPEG in ``JPEGImages/`` (torchvision's
``VOCDetection`` builds ``JPEGImages/<id>.jpg``), ``ImageSets/Main/{train,val,trainval,test}.txt``
and a ``labelmap.txt`` that CVAT and datumaro need to accept the labels.
"""

from __future__ import annotations

import math
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
    drawn_on_raw_pixels,
    find_images,
    is_placeholder_name,
    pixel_box,
    rel,
    split_of,
    to_project_classes,
)
from sdaug.dataset.inputs import read_bytes, read_text
from sdaug.dataset.store import Box, ClassRecord, PreparedImage, Project
from sdaug.errors import InputError, Phrase, as_line


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
    database: str = ""  # <source><database>, lower case
    writer: str = ""  # all <source> and <owner> text, lower case: who wrote the file
    declared: int = 0  # <object> elements, usable or not
    # Objects left out because they were malformed: the image needs review.
    refused: int = 0

    @property
    def zero_based(self) -> bool:
        """Whether the file shows 0-based pixel edges (see the module docstring)."""
        if self.database in _ZERO_BASED_DATABASES or "label studio" in self.writer:
            return True
        return any(v != int(v) for o in self.objects for v in o.xyxy) or any(
            min(o.xyxy[0], o.xyxy[1]) == 0 for o in self.objects)


# <source><database> of tools that write 0-based pixel edges: datumaro/CVAT and LabelImg
# ("Unknown"), Label Studio ("MyDatabase").
_ZERO_BASED_DATABASES = ("unknown", "mydatabase")
# Class list files, in the order they are looked for.
_CLASS_LISTS = ("labelmap.txt", "class_names.txt", "labels.txt", "classes.txt")


def parse_voc(path: Path, where: str, report: ImportReport, folder: Path | None = None) -> VocFile | None:
    """Parse one annotation file (a regular file inside ``folder``, default its own); problems
    are reported and bad objects left out."""
    try:
        root = SafeET.fromstring(read_bytes(path, folder or path.parent, where), forbid_dtd=True)
    except InputError as exc:
        report.problems.append(as_line(exc))
        return None
    except defusedxml.DefusedXmlException as exc:
        report.problem(where, Phrase("report.voc_dtd", kind=type(exc).__name__))
        return None
    except ET.ParseError as exc:
        report.problem(f"{where}:{exc.position[0]}", Phrase("report.xml", reason=str(exc)))
        return None
    if root.tag != "annotation":
        report.problem(where, Phrase("report.not_voc", tag=root.tag))
        return None
    size = _size(root)
    objects = []
    before = len(report.problems)
    for number, obj in enumerate(root.findall("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        obj_where = Phrase("where.voc_object_named", where=where, number=number, name=name) if name \
            else Phrase("where.voc_object", where=where, number=number)
        if not name:
            report.problem(obj_where, Phrase("report.voc_no_name"))
            continue
        box = obj.find("bndbox")
        try:
            xmin, ymin, xmax, ymax = (float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (AttributeError, TypeError, ValueError):
            report.problem(obj_where, Phrase("report.voc_bndbox"))
            continue
        if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
            report.problem(obj_where, Phrase("report.voc_not_finite", coords=str([xmin, ymin, xmax, ymax])))
            continue
        objects.append(VocObject(name, (xmin, ymin, xmax, ymax), obj_where))
    filename = (root.findtext("filename") or "").strip()
    writer = " ".join(" ".join(e.itertext()) for e in (root.find("source"), root.find("owner")) if e is not None)
    return VocFile(path=path, filename=filename, size=size, objects=objects,
                   database=(root.findtext("source/database") or "").strip().lower(), writer=writer.lower(),
                   declared=len(root.findall("object")), refused=len(report.problems) - before)


def _to_edges(voc: VocFile) -> None:
    """Turn 1-based inclusive pixel numbers into 0-based pixel edges (in place)."""
    for obj in voc.objects:
        x1, y1, x2, y2 = obj.xyxy
        obj.xyxy = (x1 - 1, y1 - 1, x2, y2)


def read_class_list(root: Path) -> list[str]:
    """Class names from the first class list file found (``labelmap.txt``: ``name:color:parts:actions``)."""
    for name in _CLASS_LISTS:
        path = root / name
        if path.exists() or path.is_symlink():
            lines = [line.strip() for line in read_text(path, root, name).splitlines()]
            lines = [line for line in lines if line and not line.startswith("#")]
            return [line.split(":")[0].strip() for line in lines] if name == "labelmap.txt" else lines
    return []


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
    splits = _splits(root)
    if not xml_files and not splits:
        raise InputError("voc.no_xml", where=root)

    parsed = [f for f in (parse_voc(p, rel(p, root), report, root) for p in xml_files) if f is not None]
    if not any(voc.zero_based for voc in parsed):
        for voc in parsed:
            _to_edges(voc)
    # Class order: the class list file when present, then names in order of appearance.
    used = {o.name for voc in parsed for o in voc.objects}
    names = [n for n in read_class_list(root) if n in used or not is_placeholder_name(n)]
    for voc in parsed:
        names.extend(o.name for o in voc.objects if o.name not in names)
    class_ids = {record.name: record.id for record in to_project_classes(project, names, report)}
    index = ImageIndex(root)
    tasks = _background_tasks(root, splits, {voc.path.stem for voc in parsed}, report)
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
                                                     report=report), annotations=voc.declared,
                                                     refused=voc.refused))
    add_images(project, report, root, tasks, on_progress)


def _background_tasks(root: Path, splits: dict[str, str], annotated: set[str], report: ImportReport) -> list[ImageTask]:
    """Images listed in ``ImageSets/Main`` without an XML: labelled, with no boxes."""
    missing = {stem: split for stem, split in splits.items() if stem not in annotated}
    if not missing:
        return []
    folder = root / "JPEGImages" if (root / "JPEGImages").is_dir() else root
    by_stem = {path.stem: path for path in find_images(folder)}
    tasks = []
    for stem, split in missing.items():
        if stem in by_stem:
            tasks.append(ImageTask(by_stem[stem], split, lambda image: []))
        else:
            report.skipped += 1
            report.problem("ImageSets/Main", Phrase("report.voc_listed", stem=stem))
    return tasks


def _boxes(image: PreparedImage, voc: VocFile, class_ids: dict[str, int], where: str,
           report: ImportReport) -> list[Box]:
    mismatch = check_declared_size(image, voc.size)
    if mismatch:
        report.problem(where, mismatch)
        return []
    raw_pixels = drawn_on_raw_pixels(image, voc.size, [o.xyxy for o in voc.objects], "label studio" in voc.writer)
    boxes = []
    for obj in voc.objects:
        box = pixel_box(class_ids[obj.name], obj.xyxy, image, raw_pixels)
        if isinstance(box, str):
            report.problems.append(Phrase("report.skipped", where=obj.where, message=box))
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
        xmin, ymin = min(math.floor(box.x1) + 1, width), min(math.floor(box.y1) + 1, height)
        xmax, ymax = max(min(math.ceil(box.x2), width), xmin), max(min(math.ceil(box.y2), height), ymin)
        bndbox = ET.SubElement(obj, "bndbox")
        for key, value in (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax)):
            ET.SubElement(bndbox, key).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def labelmap(classes: list[ClassRecord]) -> str:
    """CVAT/datumaro's ``labelmap.txt``: ``name:r,g,b:parts:actions`` per class, background first."""
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for c in classes:
        rgb = ",".join(str(int(c.color[i:i + 2], 16)) for i in (1, 3, 5))
        lines.append(f"{c.name}:{rgb}::")
    return "\n".join(lines) + "\n"


def write_voc(plan: ExportPlan, out: Path, final_path: Path) -> None:
    """Write ``Annotations/``, ``JPEGImages/`` (JPEG), ``ImageSets/Main/*.txt`` and ``labelmap.txt``."""
    names = {c.id: c.name for c in plan.classes}
    for folder in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    copy_images(plan.items, lambda item: out / "JPEGImages", plan.jpeg_quality)
    lists = {}
    for split, items in plan.by_split().items():
        for item in items:
            with Image.open(out / "JPEGImages" / item.name) as img:
                depth = len(img.getbands())
            xml = voc_xml(item.name, item.record.width, item.record.height, depth,
                          [(names[b.class_id], b) for b in item.boxes])
            (out / "Annotations" / f"{item.stem}.xml").write_bytes(xml)
        lists[split] = [item.stem for item in items]
    lists["trainval"] = lists["train"] + lists["val"]
    for name, stems in lists.items():
        if stems:
            (out / "ImageSets" / "Main" / f"{name}.txt").write_text("".join(f"{s}\n" for s in stems), encoding="utf-8")
    (out / "labelmap.txt").write_text(labelmap(plan.classes), encoding="utf-8")
