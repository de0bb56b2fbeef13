"""What the Annotate tab does, without gradio: one browser session's state and its handlers.

Every handler takes the open :class:`~sdaug.dataset.store.Project` and the session's
:class:`AnnotateState`, changes the store and the state, and returns an :class:`Outcome` that
says which parts of the page must be sent again. :mod:`sdaug.ui.annotate` wires them to gradio
components; tests and ``tests/bench/bench_annotate.py`` call them directly.

The canvas is ``gradio_image_annotation.image_annotator``. Its value is
``{"image": path, "boxes": [{"xmin", "ymin", "xmax", "ymax", "label", "color"}]}`` with boxes in
pixels of the ORIGINAL image: the browser scales the picture to the canvas, keeps each box with
the ``scaleFactor`` it was drawn at, and the component divides by it on the way back. The tab
reads the raw payload (``preprocess=False``) so that a change never decodes the image again and
so that the boxes are written to the image they were drawn on (named by the payload's file
name) even when a navigation event overtook the change event. :func:`payload_boxes` therefore
repeats the component's three-line scaling (``preprocess_boxes``); a test checks both agree.

Autosave: every change of the canvas replaces the image's boxes with one ``set_boxes`` call
(one transaction). Boxes the user did not touch keep their stored record (float coordinates,
origin ``carried``, drift score); the browser only knows whole pixels, so "untouched" means
"same class and same coordinates rounded to whole pixels".
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from sdaug.dataset.projects import shared_project
from sdaug.dataset.store import (
    DEFAULT_PALETTE,
    SPLITS,
    STATUSES,
    Box,
    ClassRecord,
    ImageFilter,
    ImageRecord,
    Project,
)
from sdaug.errors import KeyedError

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
HISTORY_DEPTH = 100          # undo steps kept per image
HISTORY_IMAGES = 200         # images whose history a session keeps
MIN_BOX_PIXELS = 1.0         # a drawn box smaller than this (a click, a box being started) is ignored
HOTKEY_CLASSES = 9           # keys 1-9

Message = tuple[str, dict[str, object]]
BoxKey = tuple[int, int, int, int]


# Refusals ------------------------------------------------------------------------------------
# Messages of the refusals a person can meet here, by key; the UI shows them translated by key
# (``ann.err.<key>`` in :data:`sdaug.ui.annotate.STRINGS`).
MESSAGES = {
    "no_project": "open a project first (Projects tab)",
    "no_image": "no image is open: add photos in the Projects tab or change the filter",
    "no_class_picked": "pick a class in the class list first",
    "class_empty": "type a name for the class first",
    "class_exists": "a class named {name!r} already exists",
    "clicked": "a clicked box is 4 numbers x1, y1, x2, y2, got {box}",
    "no_variant": "there is no variant to review: run an augment job first",
}


class AnnotateError(KeyedError):
    """A refused action of the Annotate tab; ``key`` names the message (see :data:`MESSAGES`)."""

    messages = MESSAGES
    prefix = "ann.err."


# Projects ------------------------------------------------------------------------------------
def open_project(folder: str | Path) -> Project:
    """The open :class:`Project` in ``folder``, shared by all sessions; ``ValueError`` when there
    is none (any more: another user may have renamed or deleted it).

    ``folder`` comes from the server (the session's state, set by opening a project by name in
    the Projects tab), never from a browser."""
    text = str(folder or "").strip()
    if not text:
        raise AnnotateError("no_project")
    return shared_project(text, create=False)


# Session state -------------------------------------------------------------------------------
@dataclass
class AnnotateState:
    """One browser session of the Annotate tab (kept in a ``gr.State``)."""

    folder: str = ""
    image_id: int | None = None
    # Filters of the image list: "" = any.
    status: str = ""
    split: str = ""
    class_id: int | None = None
    page: int = 0
    active_class_id: int | None = None
    # The box the user selected in the box list (class keys 1-9 and Delete act on it); a box
    # clicked on the canvas comes with the key event instead. Drawing a box never selects it.
    target_box: BoxKey | None = None
    # Boxes drawn before the project had a class: saved once the user names the first class.
    pending: list[DrawnBox] = field(default_factory=list)
    # Per image, the boxes (class, whole pixels) it had before the server last changed them (a
    # key, undo, a copy): a canvas change showing exactly those is the browser's late echo of
    # the old state (a click's change event overtaken by the key), not an edit.
    stale: dict[int, Counter] = field(default_factory=dict)
    selected_class_id: int | None = None        # row picked in the class editor
    min_score: float = 0.0                      # proposals scored below this are hidden from the canvas
    canvas_version: int = 0                     # pushes of the canvas's value so far (see sdaug.ui.annotate)
    undo: dict[int, list[tuple[Box, ...]]] = field(default_factory=dict)
    redo: dict[int, list[tuple[Box, ...]]] = field(default_factory=dict)

    def where(self) -> ImageFilter:
        return ImageFilter(status=self.status or None, split=self.split or None, class_id=self.class_id)


@dataclass
class Outcome:
    """Which parts of the page a handler changed (the rest is left as the browser has it)."""

    canvas: bool = False      # image or boxes changed on the server: send the canvas value again
    page: bool = False        # the image list (page, filter or rows) changed
    classes: bool = False     # the class list changed: class widgets and the canvas labels
    message: Message | None = None

    def merge(self, other: Outcome) -> Outcome:
        return Outcome(canvas=self.canvas or other.canvas, page=self.page or other.page,
                       classes=self.classes or other.classes, message=other.message or self.message)


def require_project(state: AnnotateState) -> Project:
    if not state.folder:
        raise AnnotateError("no_project")
    return open_project(state.folder)


# Boxes <-> canvas ----------------------------------------------------------------------------
def hex_to_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def canvas_value(project: Project, image_id: int | None, min_score: float = 0.0) -> dict | None:
    """The annotator value of an image: its file and its shown boxes in original pixels."""
    if image_id is None:
        return None
    record = project.get_image(image_id)
    classes = {c.id: c for c in project.classes()}
    return {"image": str(project.image_path(record)),
            "boxes": [_canvas_box(box, classes) for box in project.boxes(image_id) if is_shown(box, min_score)]}


def is_shown(box: Box, min_score: float) -> bool:
    """Whether the canvas shows ``box``: a proposal only when its score reaches ``min_score``."""
    return box.origin != "auto" or (box.score if box.score is not None else 1.0) >= min_score


def canvas_label(box: Box, classes: dict[int, ClassRecord]) -> str:
    """The text on a box: its class; a proposal adds its score and a question mark (``cat 0.83?``),
    which also tells the canvas script to draw it dashed."""
    cls = classes.get(box.class_id)
    name = cls.name if cls else ""
    if box.origin != "auto":
        return name
    return f"{name} {box.score:.2f}{PROPOSAL_MARK}" if box.score is not None else f"{name} {PROPOSAL_MARK}"


PROPOSAL_MARK = "?"


def _canvas_box(box: Box, classes: dict[int, ClassRecord]) -> dict:
    cls = classes.get(box.class_id)
    return {"xmin": box.x1, "ymin": box.y1, "xmax": box.x2, "ymax": box.y2,
            "label": canvas_label(box, classes), "color": hex_to_rgb(cls.color) if cls else (255, 0, 0)}


@dataclass(frozen=True)
class DrawnBox:
    """A box as the canvas sent it, in original pixels; ``color`` is the canvas's ``rgb(r, g, b)``."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float
    color: str = ""


def payload_boxes(payload: dict) -> list[DrawnBox]:
    """Boxes of a raw canvas payload in original-image pixels (``box / scaleFactor``, rounded,
    as ``image_annotator.preprocess_boxes`` does)."""
    boxes = []
    for raw in payload.get("boxes") or []:
        scale = raw.get("scaleFactor") or 1
        x1, y1, x2, y2 = (round(raw[k] / scale) for k in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append(DrawnBox(str(raw.get("label") or ""), min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2),
                              str(raw.get("color") or "")))
    return boxes


def payload_file_name(payload: dict) -> str | None:
    """The stored file name of the image a payload shows (``<sha256>.<ext>``)."""
    image = payload.get("image") or {}
    if isinstance(image, str):
        return Path(image).name
    name = image.get("orig_name") or Path(str(image.get("path") or "")).name
    return name or None


def image_for_file(project: Project, file_name: str | None) -> ImageRecord | None:
    if not file_name:
        return None
    rows = project.read("SELECT id FROM images WHERE file_name = ?", (file_name,))
    return project.get_image(rows[0][0]) if rows else None


def box_key(box: Box | DrawnBox) -> BoxKey:
    return (round(box.x1), round(box.y1), round(box.x2), round(box.y2))


def _class_key(box: Box) -> tuple[int, BoxKey]:
    return box.class_id, box_key(box)


def same_boxes(a: Iterable[Box], b: Iterable[Box]) -> bool:
    """Equal as the browser sees them: same classes and whole-pixel coordinates, any order."""
    return Counter(map(_class_key, a)) == Counter(map(_class_key, b))


# History and saving --------------------------------------------------------------------------
def _snapshot(boxes: Iterable[Box]) -> tuple[Box, ...]:
    return tuple(replace(b, id=None, image_id=None) for b in boxes)


def save_boxes(project: Project, state: AnnotateState, image_id: int, boxes: Sequence[Box],
               status: str | None = None, from_canvas: bool = False) -> list[Box]:
    """Replace an image's boxes (one transaction), keeping the old ones for undo."""
    current = project.boxes(image_id)
    stored = project.set_boxes(image_id, boxes, status=status)
    _push(state.undo, image_id, _snapshot(current))
    state.redo.pop(image_id, None)
    _remember_stale(state, image_id, None if from_canvas else [b for b in current if is_shown(b, state.min_score)])
    return stored


def _remember_stale(state: AnnotateState, image_id: int, before: Iterable[Box] | None) -> None:
    state.stale.pop(image_id, None)
    if before is not None:
        state.stale[image_id] = Counter(map(_class_key, before))
        while len(state.stale) > HISTORY_IMAGES:
            del state.stale[next(iter(state.stale))]


def _push(stacks: dict[int, list[tuple[Box, ...]]], image_id: int, snapshot: tuple[Box, ...]) -> None:
    stack = stacks.pop(image_id, [])  # re-inserted last: the dict keeps the most recent images
    stack.append(snapshot)
    del stack[:-HISTORY_DEPTH]
    stacks[image_id] = stack
    while len(stacks) > HISTORY_IMAGES:
        del stacks[next(iter(stacks))]


def undo(project: Project, state: AnnotateState) -> Outcome:
    """Put back the boxes before the last edit of this image (saved at once)."""
    return _step_history(project, state, state.undo, state.redo, "ann.msg.nothing_to_undo", "ann.msg.undone")


def redo(project: Project, state: AnnotateState) -> Outcome:
    """Do again the edit the last undo took back (saved at once)."""
    return _step_history(project, state, state.redo, state.undo, "ann.msg.nothing_to_redo", "ann.msg.redone")


def _step_history(project: Project, state: AnnotateState, source: dict, target: dict, empty_key: str,
                  done_key: str) -> Outcome:
    image_id = _require_image(state)
    stack = source.get(image_id)
    if not stack:
        return Outcome(message=(empty_key, {}))
    boxes = stack.pop()
    current = project.boxes(image_id)
    project.set_boxes(image_id, boxes)
    _push(target, image_id, _snapshot(current))
    _remember_stale(state, image_id, [b for b in current if is_shown(b, state.min_score)])
    state.target_box = None
    return Outcome(canvas=True, page=True, message=(done_key, {"count": len(boxes)}))


def _require_image(state: AnnotateState) -> int:
    if state.image_id is None:
        raise AnnotateError("no_image")
    return state.image_id


# Canvas changes (autosave) -------------------------------------------------------------------
def canvas_changed(project: Project, state: AnnotateState, payload: dict | None) -> Outcome:
    """Save what the canvas shows. Called on every change event of the annotator.

    A box keeps its stored record when the canvas shows it unchanged (same text, whole-pixel
    coordinates). A box moved or resized is saved as drawn, with the class of its text (a
    proposal changed by hand is thus accepted). The canvas draws a new box without text, in the
    colour of the active class: such a box keeps a stored box at the same place (its class was
    given by an earlier change whose reply the browser has not shown yet); without one it is new
    and gets the class of its colour (what the user saw while drawing), else the active class.
    Proposals hidden by the score threshold are kept. A box smaller than a pixel (a click, or a
    box the user is only starting to draw) is not saved. The canvas is sent back only when the
    server knows something the browser does not show yet (the class of a new box).
    """
    if not payload or not payload.get("image"):
        return Outcome()
    record = image_for_file(project, payload_file_name(payload))
    if record is None:  # not an image of this project (another project was opened meanwhile)
        return Outcome()
    drawn = [b for b in (_clamp(d, record) for d in payload_boxes(payload)) if b is not None]
    current = project.boxes(record.id)
    classes = project.classes()
    if not classes:  # keep the boxes on the canvas and ask for the first class beside it
        state.pending = drawn if record.id == state.image_id else []
        return Outcome(message=("ann.msg.name_first_class", {}) if drawn else None)
    shown = [b for b in current if is_shown(b, state.min_score)]
    by_id = {c.id: c for c in classes}
    label_class = {c.name: c.id for c in classes}
    label_class.update({canvas_label(b, by_id): b.class_id for b in shown})
    if state.stale.get(record.id) == Counter((label_class[d.label], box_key(d)) if d.label in label_class else None
                                             for d in drawn):
        return Outcome(canvas=True)  # a late echo of the boxes before a key or undo: show the saved ones
    unused = Counter((canvas_label(b, by_id), box_key(b)) for b in shown)
    stored = {(canvas_label(b, by_id), box_key(b)): b for b in shown}
    boxes = [b for b in current if not is_shown(b, state.min_score)]
    newest: BoxKey | None = None
    for d in sorted(drawn, key=lambda d: d.label not in label_class):  # boxes with text claim their twins first
        twin = (d.label, box_key(d)) if d.label in label_class else next(
            (key for key, count in unused.items() if count > 0 and key[1] == box_key(d)), None)
        if twin is not None and unused[twin] > 0:
            unused[twin] -= 1
            boxes.append(stored[twin])
            continue
        class_id = label_class[d.label] if d.label in label_class else _class_of_new_box(state, classes, d.color).id
        boxes.append(Box(class_id=class_id, x1=d.x1, y1=d.y1, x2=d.x2, y2=d.y2))
        newest = newest or box_key(d)
    unnamed = any(d.label not in label_class for d in drawn)
    if same_boxes(boxes, current):
        state.stale.pop(record.id, None)  # the browser shows what is saved
        return Outcome(canvas=unnamed)
    save_boxes(project, state, record.id, boxes, from_canvas=True)
    if record.id == state.image_id and (newest is not None or state.target_box not in map(box_key, boxes)):
        state.target_box = None  # a new box is not a selection: the next key sets the class of the next box
    return Outcome(canvas=unnamed, page=True, message=("ann.msg.saved", {"count": len(boxes)}))


def _class_of_new_box(state: AnnotateState, classes: Sequence[ClassRecord], color: str) -> ClassRecord:
    """The class whose colour a new box was drawn in (``rgb(r, g, b)``), if exactly one class has
    it; else the active class."""
    numbers = [int(n) for n in re.findall(r"\d+", color)]
    matching = [c for c in classes if len(numbers) == 3 and hex_to_rgb(c.color) == tuple(numbers)]
    return matching[0] if len(matching) == 1 else _active_class(state, classes)


def _clamp(d: DrawnBox, record: ImageRecord) -> DrawnBox | None:
    x1, x2 = max(0.0, d.x1), min(float(record.width), d.x2)
    y1, y2 = max(0.0, d.y1), min(float(record.height), d.y2)
    if x2 - x1 < MIN_BOX_PIXELS or y2 - y1 < MIN_BOX_PIXELS:
        return None
    return DrawnBox(d.label, x1, y1, x2, y2, d.color)


def _active_class(state: AnnotateState, classes: Sequence[ClassRecord]) -> ClassRecord:
    for cls in classes:
        if cls.id == state.active_class_id:
            return cls
    state.active_class_id = classes[0].id
    return classes[0]


# Class keys 1-9 ------------------------------------------------------------------------------
def class_for_key(classes: Sequence[ClassRecord], key: str) -> ClassRecord | None:
    """The class of hotkey ``"1"``..``"9"`` (class positions 0..8), or None."""
    if len(key) != 1 or not key.isdigit() or key == "0":
        return None
    index = int(key) - 1
    return classes[index] if index < len(classes) else None


def press_class_key(project: Project, state: AnnotateState, key: str, clicked: Sequence[float] | None = None
                    ) -> Outcome:
    """Make the class of ``key`` the class of the next box; relabel the selected box, if any.

    ``clicked`` is the box the user selected by clicking it on the canvas (original pixels, as the
    browser reports it); without it the box selected in the box list counts. A box the user has
    just drawn is never relabelled: that was the bug where the next box's key changed the last one.
    """
    cls = class_for_key(project.classes(), key)
    if cls is None:
        return Outcome(message=("ann.msg.no_class_for_key", {"key": key}))
    if clicked is not None:
        select_clicked_box(project, state, clicked)
    return set_active_class(project, state, cls.id)


def set_active_class(project: Project, state: AnnotateState, class_id: int | None) -> Outcome:
    """Choose the class of new boxes; also relabel the selected box (if the user selected one).

    The outcome marks the classes as changed: the canvas draws new boxes in the colour of its
    first label, which is the active class.
    """
    if class_id is None:
        return Outcome()
    cls = project.get_class(class_id)
    state.active_class_id = cls.id
    chosen = Outcome(classes=True, message=("ann.msg.active_class", {"name": cls.name}))
    index = _selected_index(project, state)
    if index is None:
        return chosen
    boxes = project.boxes(state.image_id)
    if boxes[index].class_id == cls.id:
        return chosen
    boxes[index] = replace(boxes[index], class_id=cls.id, origin="manual", needs_review=False)
    save_boxes(project, state, state.image_id, boxes)
    return Outcome(canvas=True, page=True, classes=True, message=("ann.msg.relabelled", {"name": cls.name}))


def _selected_index(project: Project, state: AnnotateState) -> int | None:
    if state.image_id is None or state.target_box is None:
        return None
    keys = [box_key(b) for b in project.boxes(state.image_id)]
    return keys.index(state.target_box) if state.target_box in keys else None


def select_box(project: Project, state: AnnotateState, index: int) -> Outcome:
    """Select the box in row ``index`` of the box list (class keys and Delete act on it)."""
    boxes = project.boxes(_require_image(state))
    if not 0 <= index < len(boxes):
        return Outcome()
    state.target_box = box_key(boxes[index])
    return Outcome(message=("ann.msg.box_selected", {"index": index + 1}))


CLICK_TOLERANCE = 0.01  # of the image width: a box as the zoomed-out canvas reports it vs. as stored


def select_clicked_box(project: Project, state: AnnotateState, clicked: Sequence[float]) -> bool:
    """Select the stored box the user clicked on the canvas (``clicked`` = x1, y1, x2, y2 in
    original pixels, off by the canvas's rounding). False when no stored box is that close."""
    values = [float(v) for v in clicked]
    if len(values) != 4 or not all(map(math.isfinite, values)):
        raise AnnotateError("clicked", box=list(clicked))
    record = project.get_image(_require_image(state))

    def distance(box: Box) -> float:
        return max(abs(a - b) for a, b in zip((box.x1, box.y1, box.x2, box.y2), values, strict=True))

    best = min(project.boxes(record.id), key=distance, default=None)
    if best is None or distance(best) > max(2.0, CLICK_TOLERANCE * record.width):
        return False
    state.target_box = box_key(best)
    return True


def delete_selected_box(project: Project, state: AnnotateState, clicked: Sequence[float] | None = None) -> Outcome:
    """Delete the box selected on the canvas (``clicked``) or in the box list (saved at once)."""
    if clicked is not None:
        select_clicked_box(project, state, clicked)
    index = _selected_index(project, state)
    if index is None:
        return Outcome(message=("ann.msg.select_box_first", {}))
    boxes = project.boxes(state.image_id)
    del boxes[index]
    save_boxes(project, state, state.image_id, boxes)
    state.target_box = None
    return Outcome(canvas=True, page=True, message=("ann.msg.box_deleted", {"count": len(boxes)}))


# Proposals -----------------------------------------------------------------------------------
def set_min_score(project: Project, state: AnnotateState, value: float | None) -> Outcome:
    """Hide proposals scored below ``value`` (0 shows all); they stay stored."""
    score = float(value or 0.0)
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"the score threshold must be from 0 to 1, got {value!r}")
    state.min_score = score
    state.target_box = None
    return Outcome(canvas=True)


def accept_proposal(project: Project, state: AnnotateState, clicked: Sequence[float] | None = None) -> Outcome:
    """Y: make the selected proposal (clicked on the canvas or picked in the box list) a label."""
    if clicked is not None:
        select_clicked_box(project, state, clicked)
    index = _selected_index(project, state)
    boxes = project.boxes(state.image_id) if state.image_id is not None else []
    if index is None or boxes[index].origin != "auto":
        return Outcome(message=("ann.msg.select_proposal_first", {}))
    boxes[index] = replace(boxes[index], origin="manual", needs_review=False)
    save_boxes(project, state, state.image_id, boxes)
    state.target_box = None
    left = sum(b.origin == "auto" for b in boxes)
    return Outcome(canvas=True, page=True, message=("ann.msg.proposal_accepted", {"left": left}))


def accept_all_proposals(project: Project, state: AnnotateState) -> Outcome:
    """Enter: make every shown proposal of this image a label and drop the hidden (weaker) ones."""
    image_id = _require_image(state)
    boxes = project.boxes(image_id)
    accepted = [replace(b, origin="manual", needs_review=False) for b in boxes
                if b.origin == "auto" and is_shown(b, state.min_score)]
    dropped = sum(b.origin == "auto" and not is_shown(b, state.min_score) for b in boxes)
    if not accepted and not dropped:
        return Outcome(message=("ann.msg.no_proposals", {}))
    kept = [b for b in boxes if b.origin != "auto"]
    save_boxes(project, state, image_id, [*kept, *accepted])
    state.target_box = None
    return Outcome(canvas=True, page=True, message=("ann.msg.proposals_accepted", {
        "count": len(accepted), "dropped": dropped, "threshold": f"{state.min_score:.2f}"}))


# Navigation ----------------------------------------------------------------------------------
def open_folder(state: AnnotateState, folder: str) -> tuple[Project, Outcome]:
    """Open (or create) a project and show its first unlabelled image, else its first image."""
    project = open_project(folder)
    state.folder = str(project.folder)
    state.status, state.split, state.class_id, state.page = "", "", None, 0
    state.undo.clear()
    state.redo.clear()
    state.active_class_id = state.selected_class_id = None
    first = project.next_unlabelled() or project.next_image(0)
    _show(state, first.id if first else None)
    return project, Outcome(canvas=True, page=True, classes=True,
                            message=("ann.msg.opened", {"folder": project.folder.name,
                                                        "count": project.count_images()}))


def _show(state: AnnotateState, image_id: int | None) -> None:
    state.image_id = image_id
    state.target_box = None
    state.pending = []


def go(project: Project, state: AnnotateState, direction: int) -> Outcome:
    """Show the next (``+1``) or previous (``-1``) image of the filtered list."""
    where = state.where()
    if state.image_id is None:
        found = project.next_image(0, where)
    elif direction > 0:
        found = project.next_image(state.image_id, where)
    else:
        found = project.previous_image(state.image_id, where)
    if found is None:
        return Outcome(message=("ann.msg.last" if direction > 0 else "ann.msg.first", {}))
    return show_image(project, state, found.id)


def next_unlabelled(project: Project, state: AnnotateState) -> Outcome:
    """Show the next unlabelled image (inside the split and class filters), wrapping around."""
    where = replace(state.where(), status=None)
    found = project.next_unlabelled(state.image_id, where)
    if found is None:
        return Outcome(message=("ann.msg.all_labelled", {}))
    return show_image(project, state, found.id)


def show_image(project: Project, state: AnnotateState, image_id: int) -> Outcome:
    """Show one image; the list turns to the page that holds it."""
    record = project.get_image(image_id)
    _show(state, record.id)
    page = state.page
    where = state.where()
    if _matches(project, record, where):
        page = project.image_index(record.id, where) // PAGE_SIZE
    moved = page != state.page
    state.page = page
    return Outcome(canvas=True, page=moved)


def _matches(project: Project, record: ImageRecord, where: ImageFilter) -> bool:
    if where.status and record.status != where.status:
        return False
    if where.split and record.split != where.split:
        return False
    if where.class_id is not None:
        return any(b.class_id == where.class_id for b in project.boxes(record.id))
    return True


def set_filter(project: Project, state: AnnotateState, status: str, split: str,
               class_id: int | None) -> Outcome:
    """Narrow the image list; shows the first matching image when the current one drops out."""
    if status and status not in STATUSES:
        raise ValueError(f"status filter must be one of {', '.join(STATUSES)}, got {status!r}")
    if split and split not in SPLITS:
        raise ValueError(f"split filter must be one of {', '.join(SPLITS)}, got {split!r}")
    state.status, state.split, state.class_id, state.page = status or "", split or "", class_id, 0
    where = state.where()
    current = project.get_image(state.image_id) if state.image_id is not None else None
    if current is not None and _matches(project, current, where):
        return show_image(project, state, current.id).merge(Outcome(page=True))
    first = project.next_image(0, where)
    _show(state, first.id if first else None)
    count = project.count_images(where)
    return Outcome(canvas=True, page=True, message=("ann.msg.filtered", {"count": count}))


def set_page(project: Project, state: AnnotateState, page: int) -> Outcome:
    """Turn the image list to ``page`` (0-based; clamped to the pages there are)."""
    pages = page_count(project.count_images(state.where()))
    state.page = min(max(0, int(page)), pages - 1)
    return Outcome(page=True)


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


# Editing shortcuts ---------------------------------------------------------------------------
def copy_previous(project: Project, state: AnnotateState) -> Outcome:
    """Add the boxes of the image before this one (in project order) that this one lacks.

    Boxes are scaled when the two images differ in size.
    """
    image_id = _require_image(state)
    record = project.get_image(image_id)
    previous = project.previous_image(image_id)
    if previous is None:
        return Outcome(message=("ann.msg.no_previous", {}))
    source_boxes = project.boxes(previous.id)
    if not source_boxes:
        return Outcome(message=("ann.msg.previous_empty", {}))
    current = project.boxes(image_id)
    have = Counter(map(_class_key, current))
    added = []
    for box in scale_boxes(source_boxes, (previous.width, previous.height), (record.width, record.height)):
        copy = replace(box, origin="manual", drift=None, needs_review=False, id=None, image_id=None)
        if have[_class_key(copy)] > 0:
            have[_class_key(copy)] -= 1
        else:
            added.append(copy)
    if not added:
        return Outcome(message=("ann.msg.copied", {"count": 0}))
    save_boxes(project, state, image_id, [*current, *added])
    return Outcome(canvas=True, page=True, message=("ann.msg.copied", {"count": len(added)}))


def scale_boxes(boxes: Iterable[Box], from_size: tuple[int, int], to_size: tuple[int, int]) -> list[Box]:
    """Boxes of an image of ``from_size`` mapped onto an image of ``to_size`` (width, height)."""
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    if sx == 1 and sy == 1:
        return list(boxes)
    return [replace(b, x1=b.x1 * sx, y1=b.y1 * sy, x2=b.x2 * sx, y2=b.y2 * sy) for b in boxes]


def mark_reviewed(project: Project, state: AnnotateState) -> Outcome:
    """A person checked this image: status ``reviewed`` (also clears its boxes' review flags)."""
    project.set_status(_require_image(state), "reviewed")
    return Outcome(page=True, message=("ann.msg.reviewed", {}))


# Classes -------------------------------------------------------------------------------------
def add_class(project: Project, state: AnnotateState, name: str, color: str | None) -> Outcome:
    """Append a class. Boxes drawn while the project had no class get the first class."""
    text = (name or "").strip()
    if not text:
        raise AnnotateError("class_empty")
    if any(c.name == text for c in project.classes()):
        raise AnnotateError("class_exists", name=text)
    cls = project.add_class(text, css_color_to_hex(color) if color else None)
    state.selected_class_id = cls.id
    if state.active_class_id is None:
        state.active_class_id = cls.id
    pending, state.pending = state.pending, []
    if state.image_id is None or not pending:
        return Outcome(canvas=True, classes=True, message=("ann.msg.class_added", {"name": cls.name}))
    boxes = [*project.boxes(state.image_id),
             *(Box(class_id=state.active_class_id, x1=d.x1, y1=d.y1, x2=d.x2, y2=d.y2) for d in pending)]
    save_boxes(project, state, state.image_id, boxes)
    return Outcome(canvas=True, page=True, classes=True,
                   message=("ann.msg.first_class_saved", {"name": cls.name, "count": len(pending)}))


def next_class_color(project: Project) -> str:
    """The colour the store would give the next class (to show in the colour picker)."""
    return DEFAULT_PALETTE[len(project.classes()) % len(DEFAULT_PALETTE)]


def _selected_class(state: AnnotateState) -> int:
    if state.selected_class_id is None:
        raise AnnotateError("no_class_picked")
    return state.selected_class_id


def update_class(project: Project, state: AnnotateState, name: str, color: str | None) -> Outcome:
    """Rename the selected class and/or change its colour."""
    class_id = _selected_class(state)
    cls = project.get_class(class_id)
    if name and name.strip() != cls.name:
        cls = project.rename_class(class_id, name)
    if color and css_color_to_hex(color) != cls.color:
        cls = project.set_class_color(class_id, css_color_to_hex(color))
    return Outcome(canvas=True, classes=True, message=("ann.msg.class_saved", {"name": cls.name}))


def css_color_to_hex(color: str) -> str:
    """``#rrggbb`` from a colour picker value (which may be ``rgba(r, g, b, a)``)."""
    text = color.strip().lower()
    if text.startswith("rgb"):
        parts = text[text.index("(") + 1:text.rindex(")")].split(",")
        r, g, b = (max(0, min(255, round(float(p)))) for p in parts[:3])
        return f"#{r:02x}{g:02x}{b:02x}"
    return text


def move_class(project: Project, state: AnnotateState, offset: int) -> Outcome:
    """Move the selected class up (``-1``) or down (``+1``); refused after the first export."""
    class_id = _selected_class(state)
    ids = [c.id for c in project.classes()]
    index = ids.index(class_id)
    target = min(max(0, index + offset), len(ids) - 1)
    if target == index:
        return Outcome()
    ids.insert(target, ids.pop(index))
    project.reorder_classes(ids)
    return Outcome(classes=True, message=("ann.msg.class_moved", {"position": target + 1}))


def delete_class(project: Project, state: AnnotateState) -> Outcome:
    class_id = _selected_class(state)
    name = project.get_class(class_id).name
    project.delete_class(class_id)
    state.selected_class_id = None
    if state.active_class_id == class_id:
        state.active_class_id = None
    if state.class_id == class_id:
        state.class_id = None
    return Outcome(canvas=True, page=True, classes=True, message=("ann.msg.class_deleted", {"name": name}))


# What the page shows -------------------------------------------------------------------------
def info(project: Project, state: AnnotateState) -> Message:
    """The line under the canvas: position, file, size, split, status and box count."""
    if state.image_id is None:
        total = project.count_images()
        return ("ann.info.empty" if total == 0 else "ann.info.none_match", {"total": total})
    record = project.get_image(state.image_id)
    where = state.where()
    return ("ann.info.image", {
        "index": project.image_index(record.id, where) + 1, "count": project.count_images(where),
        "id": record.id, "name": record.original_name or record.file_name, "width": record.width,
        "height": record.height, "split": record.split, "status": record.status, "boxes": record.box_count,
        "variant": record.preset or "", "proposals": project.proposal_count(record.id),
    })


def box_rows(project: Project, state: AnnotateState) -> list[list[object]]:
    """The box list: number, class, x1, y1, x2, y2 (whole pixels), origin, score (of a proposal), drift."""
    if state.image_id is None:
        return []
    names = {c.id: c.name for c in project.classes()}
    return [[i + 1, names.get(b.class_id, "?"), *box_key(b), b.origin,
             "" if b.score is None else round(b.score, 2), "" if b.drift is None else round(b.drift, 2)]
            for i, b in enumerate(project.boxes(state.image_id))]


@dataclass(frozen=True)
class Page:
    rows: list[list[object]]
    page: int
    pages: int
    total: int


def page_records(project: Project, state: AnnotateState) -> list[ImageRecord]:
    """The images of the current page of the filtered list (only that page is queried)."""
    state.page = min(state.page, page_count(project.count_images(state.where())) - 1)
    return project.list_images(offset=state.page * PAGE_SIZE, limit=PAGE_SIZE, where=state.where())


def page_rows(project: Project, state: AnnotateState) -> Page:
    """One page of the filtered image list (only that page is queried)."""
    total = project.count_images(state.where())
    pages = page_count(total)
    records = page_records(project, state)
    rows = [[r.id, r.original_name or r.file_name, r.split, r.status, r.box_count, r.preset or ""]
            for r in records]
    return Page(rows=rows, page=state.page, pages=pages, total=total)


def class_rows(project: Project) -> list[list[object]]:
    """The class editor's table: key (1-9), name, colour, boxes using it."""
    counts = dict(project.read("SELECT class_id, COUNT(*) FROM boxes GROUP BY class_id"))
    return [[str(c.position + 1) if c.position < HOTKEY_CLASSES else "", c.name, c.color, counts.get(c.id, 0)]
            for c in project.classes()]


THUMBNAIL_PIXELS = 96


@functools.lru_cache(maxsize=2048)
def _thumbnail(path: str, modified_ns: int, size: int) -> str:
    with Image.open(path) as img:
        img.draft("RGB", (size, size))
        small = img.convert("RGB")
        small.thumbnail((size, size))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail_uri(project: Project, record: ImageRecord, size: int = THUMBNAIL_PIXELS) -> str:
    """A small JPEG of an image as a ``data:`` URI (inline in the page: no file is served)."""
    path = project.image_path(record)
    return _thumbnail(str(path), path.stat().st_mtime_ns, size)
