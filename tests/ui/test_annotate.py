"""Annotate tab and review queue: the handlers, called directly on a project in tmp_path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gradio_image_annotation import image_annotator
from PIL import Image

from sdaug.augment.reapply import reapply_source_boxes
from sdaug.dataset.store import Box, Project
from sdaug.settings import Settings
from sdaug.ui import annotate, review
from sdaug.ui import annotate_core as core
from sdaug.ui.context import AppContext


def make_project(tmp_path: Path, sizes: list[tuple[int, int]], classes: tuple[str, ...] = ("bin", "garbage"),
                 splits: list[str] | None = None) -> tuple[Project, core.AnnotateState]:
    """A project with one distinct plain image per size, the given classes, opened in a session."""
    Project.open(tmp_path / "project").close()
    project = core.open_project(tmp_path / "project")
    for name in classes:
        project.add_class(name)
    for i, (w, h) in enumerate(sizes):
        path = tmp_path / f"img{i:04d}.png"
        Image.new("RGB", (w, h), (i % 256, (i // 256) % 256, 7)).save(path)
        project.add_image(path, split=(splits[i] if splits else "train"))
    state = core.AnnotateState()
    core.open_folder(state, str(project.folder))
    return project, state


def payload(project: Project, image_id: int, boxes: list[dict], scale: float = 1.0) -> dict:
    """What the browser sends for an image shown at ``scale``: boxes in canvas pixels + scaleFactor."""
    name = project.get_image(image_id).file_name
    return {"image": {"path": f"/tmp/gradio/x/{name}", "orig_name": name, "meta": {"_type": "gradio.FileData"}},
            "boxes": [{**b, "xmin": b["xmin"] * scale, "ymin": b["ymin"] * scale, "xmax": b["xmax"] * scale,
                       "ymax": b["ymax"] * scale, "scaleFactor": scale, "color": "rgb(0, 0, 0)"} for b in boxes],
            "orientation": 0}


def drawn(x1: float, y1: float, x2: float, y2: float, label: str = "") -> dict:
    return {"xmin": x1, "ymin": y1, "xmax": x2, "ymax": y2, "label": label}


def coords(project: Project, image_id: int) -> list[tuple[str, float, float, float, float]]:
    names = {c.id: c.name for c in project.classes()}
    return sorted((names[b.class_id], b.x1, b.y1, b.x2, b.y2) for b in project.boxes(image_id))


# Coordinates ---------------------------------------------------------------------------------
def test_payload_boxes_match_the_component() -> None:
    raw = [{"xmin": 10.4, "ymin": 20.6, "xmax": 100.2, "ymax": 80.9, "label": "a", "color": "rgb(1, 2, 3)",
            "scaleFactor": 0.37}]
    theirs = image_annotator().preprocess_boxes(raw)[0]
    ours = core.payload_boxes({"boxes": raw})[0]
    assert (ours.x1, ours.y1, ours.x2, ours.y2) == (theirs["xmin"], theirs["ymin"], theirs["xmax"], theirs["ymax"])
    assert ours.label == theirs["label"]


def test_image_larger_than_the_canvas_keeps_original_pixels(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(2000, 1000)])
    image_id = state.image_id
    project.set_boxes(image_id, [Box(project.classes()[0].id, 1500.25, 700.5, 1990.0, 995.0, origin="carried",
                                     drift=0.8)])
    # 1. What the server sends: the component keeps original pixels (no scaling on the server).
    sent = image_annotator().postprocess(core.canvas_value(project, image_id)).model_dump()
    assert [(b["xmin"], b["ymax"]) for b in sent["boxes"]] == [(1500.25, 995.0)]
    # 2. The browser shows it at 32% and the user draws a box there: the stored box is in original pixels.
    scale = 0.32
    boxes = [drawn(b["xmin"], b["ymin"], b["xmax"], b["ymax"], b["label"]) for b in sent["boxes"]]
    boxes.insert(0, drawn(100, 50, 600, 450))
    outcome = core.canvas_changed(project, state, payload(project, image_id, boxes, scale))
    assert outcome.message == ("ann.msg.saved", {"count": 2})
    assert coords(project, image_id) == [("bin", 100, 50, 600, 450), ("bin", 1500.25, 700.5, 1990.0, 995.0)]
    kept = next(b for b in project.boxes(image_id) if b.origin == "carried")
    assert kept.drift == 0.8  # untouched: the stored record (float coordinates, origin, drift) is kept


# Autosave --------------------------------------------------------------------------------------
def test_canvas_change_autosaves_and_gives_new_boxes_the_active_class(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(64, 64), (64, 64)])
    image_id = state.image_id
    garbage = project.classes()[1]
    core.set_active_class(project, state, garbage.id)
    outcome = core.canvas_changed(project, state, payload(project, image_id, [drawn(5, 5, 30, 40)]))
    assert coords(project, image_id) == [("garbage", 5, 5, 30, 40)]
    assert outcome.canvas  # the browser learns the class it gave the new box
    assert project.get_image(image_id).status == "labelled"
    # The same boxes coming back (e.g. after the server set the canvas) write nothing.
    again = core.canvas_changed(project, state, payload(project, image_id, [drawn(5, 5, 30, 40, "garbage")]))
    assert again == core.Outcome()
    assert len(state.undo[image_id]) == 1


def test_canvas_ignores_clicks_and_payloads_of_other_images(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(64, 64)])
    image_id = state.image_id
    # A box being started has no area yet; it is not saved.
    assert core.canvas_changed(project, state, payload(project, image_id, [drawn(9, 9, 9, 9)])) == core.Outcome()
    unknown = payload(project, image_id, [drawn(1, 1, 20, 20)])
    unknown["image"]["orig_name"] = "not-in-this-project.png"
    assert core.canvas_changed(project, state, unknown) == core.Outcome()
    assert core.canvas_changed(project, state, None) == core.Outcome()
    assert project.boxes(image_id) == []


def test_boxes_go_to_the_image_they_were_drawn_on(tmp_path: Path) -> None:
    """A canvas change that arrives after the user moved on still writes to its own image."""
    project, state = make_project(tmp_path, [(64, 64), (64, 64)])
    first = state.image_id
    late = payload(project, first, [drawn(2, 2, 20, 20)])
    core.go(project, state, +1)
    core.canvas_changed(project, state, late)
    assert coords(project, first) == [("bin", 2, 2, 20, 20)]
    assert project.boxes(state.image_id) == []


def test_first_box_without_a_class_asks_for_one_and_keeps_the_box(tmp_path: Path) -> None:
    """Issue 14 item 2: drawing in a new project did nothing; now the box waits for its class."""
    project, state = make_project(tmp_path, [(64, 64)], classes=())
    outcome = core.canvas_changed(project, state, payload(project, state.image_id, [drawn(2, 2, 20, 20)]))
    assert outcome.message == ("ann.msg.name_first_class", {})
    assert not outcome.canvas and project.boxes(state.image_id) == []  # the box stays on the canvas
    outcome = core.add_class(project, state, "person", None)
    assert outcome.message == ("ann.msg.first_class_saved", {"name": "person", "count": 1})
    assert coords(project, state.image_id) == [("person", 2, 2, 20, 20)]
    assert outcome.canvas and state.pending == []


# Undo / redo -----------------------------------------------------------------------------------
def test_undo_and_redo_are_saved(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(64, 64)])
    image_id = state.image_id
    core.canvas_changed(project, state, payload(project, image_id, [drawn(1, 1, 10, 10)]))
    core.canvas_changed(project, state, payload(project, image_id, [drawn(1, 1, 10, 10, "bin"),
                                                                    drawn(20, 20, 40, 40)]))
    assert len(project.boxes(image_id)) == 2
    assert core.undo(project, state).canvas
    assert coords(project, image_id) == [("bin", 1, 1, 10, 10)]
    core.undo(project, state)
    assert project.boxes(image_id) == []
    assert core.undo(project, state).message == ("ann.msg.nothing_to_undo", {})
    core.redo(project, state)
    core.redo(project, state)
    assert coords(project, image_id) == [("bin", 1, 1, 10, 10), ("bin", 20, 20, 40, 40)]
    assert core.redo(project, state).message == ("ann.msg.nothing_to_redo", {})
    # A new edit after an undo drops the redo history.
    core.undo(project, state)
    core.canvas_changed(project, state, payload(project, image_id, []))
    assert core.redo(project, state).message == ("ann.msg.nothing_to_redo", {})


def test_history_is_per_image(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(64, 64), (64, 64)])
    first = state.image_id
    core.canvas_changed(project, state, payload(project, first, [drawn(1, 1, 10, 10)]))
    core.go(project, state, +1)
    assert core.undo(project, state).message == ("ann.msg.nothing_to_undo", {})
    core.go(project, state, -1)
    core.undo(project, state)
    assert project.boxes(first) == []


# Copy previous, class keys -------------------------------------------------------------------------
def test_copy_previous_scales_and_skips_boxes_already_there(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(100, 50), (200, 100)])
    first, bin_id = state.image_id, project.classes()[0].id
    project.set_boxes(first, [Box(bin_id, 10, 10, 50, 40), Box(bin_id, 60, 5, 90, 45)])
    core.go(project, state, +1)
    project.set_boxes(state.image_id, [Box(bin_id, 20, 20, 100, 80)])
    outcome = core.copy_previous(project, state)
    assert outcome.message == ("ann.msg.copied", {"count": 1})
    assert coords(project, state.image_id) == [("bin", 20, 20, 100, 80), ("bin", 120, 10, 180, 90)]
    assert core.copy_previous(project, state).message == ("ann.msg.copied", {"count": 0})
    core.undo(project, state)
    assert coords(project, state.image_id) == [("bin", 20, 20, 100, 80)]
    core.go(project, state, -1)
    assert core.copy_previous(project, state).message == ("ann.msg.no_previous", {})


def test_class_keys_map_to_class_positions(tmp_path: Path) -> None:
    project, _ = make_project(tmp_path, [(64, 64)], classes=tuple(f"c{i}" for i in range(11)))
    classes = project.classes()
    assert core.class_for_key(classes, "1").name == "c0"
    assert core.class_for_key(classes, "9").name == "c8"
    assert core.class_for_key(classes, "0") is None
    assert core.class_for_key(classes, "x") is None
    assert core.class_for_key(classes[:2], "3") is None


def test_class_key_after_drawing_sets_the_next_box_and_leaves_the_drawn_one(tmp_path: Path) -> None:
    """Issue 14 item 3: a `person` box became `cat` when the user pressed 2 for the NEXT box."""
    project, state = make_project(tmp_path, [(64, 64)], classes=("person", "cat"))
    image_id = state.image_id
    core.canvas_changed(project, state, payload(project, image_id, [drawn(1, 1, 10, 10)]))
    outcome = core.press_class_key(project, state, "2")
    assert coords(project, image_id) == [("person", 1, 1, 10, 10)]
    assert outcome.message == ("ann.msg.active_class", {"name": "cat"}) and not outcome.canvas
    core.canvas_changed(project, state, payload(project, image_id, [drawn(20, 20, 40, 40),
                                                                    drawn(1, 1, 10, 10, "person")]))
    assert coords(project, image_id) == [("cat", 20, 20, 40, 40), ("person", 1, 1, 10, 10)]
    assert core.press_class_key(project, state, "7").message == ("ann.msg.no_class_for_key", {"key": "7"})


def test_class_key_relabels_a_box_selected_in_the_list_or_on_the_canvas(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(640, 480)], classes=("person", "cat"))
    image_id = state.image_id
    core.canvas_changed(project, state, payload(project, image_id, [drawn(1, 1, 10, 10), drawn(20, 20, 40, 40)]))
    row = next(i for i, r in enumerate(core.box_rows(project, state)) if r[2:6] == [1, 1, 10, 10])
    assert core.select_box(project, state, row).message == ("ann.msg.box_selected", {"index": row + 1})
    outcome = core.press_class_key(project, state, "2")
    assert outcome.message == ("ann.msg.relabelled", {"name": "cat"}) and outcome.canvas
    assert coords(project, image_id) == [("cat", 1, 1, 10, 10), ("person", 20, 20, 40, 40)]
    # A box clicked on a zoomed-out canvas comes back a few pixels off.
    core.press_class_key(project, state, "2", clicked=[22.4, 17.6, 43.0, 38.9])
    assert coords(project, image_id) == [("cat", 1, 1, 10, 10), ("cat", 20, 20, 40, 40)]
    # A click far from every box selects nothing: only the class of the next box changes.
    state.target_box = None
    assert core.press_class_key(project, state, "1", clicked=[300, 300, 400, 400]).message[0] == "ann.msg.active_class"
    with pytest.raises(ValueError, match="4 numbers"):
        core.press_class_key(project, state, "1", clicked=[1, 2, float("nan"), 4])


def test_a_late_canvas_echo_does_not_undo_a_delete_or_relabel(tmp_path: Path) -> None:
    """A click on a box sends a canvas change; a fast Delete can overtake it. The old boxes
    arriving after the delete must not bring the deleted box back."""
    project, state = make_project(tmp_path, [(64, 64)])
    image_id = state.image_id
    both = [drawn(1, 1, 10, 10, "bin"), drawn(20, 20, 40, 40, "bin")]
    core.canvas_changed(project, state, payload(project, image_id, [drawn(1, 1, 10, 10), drawn(20, 20, 40, 40)]))
    core.delete_selected_box(project, state, clicked=[20, 20, 40, 40])
    late = core.canvas_changed(project, state, payload(project, image_id, both))
    assert late.canvas and coords(project, image_id) == [("bin", 1, 1, 10, 10)]  # the browser is told again
    # Once the browser shows what is saved, the same boxes drawn again are an edit.
    core.canvas_changed(project, state, payload(project, image_id, both[:1]))
    core.canvas_changed(project, state, payload(project, image_id, both))
    assert len(project.boxes(image_id)) == 2
    # Same for a relabel by key.
    core.select_box(project, state, 0)
    core.press_class_key(project, state, "2")
    core.canvas_changed(project, state, payload(project, image_id, both))
    assert sorted(name for name, *_ in coords(project, image_id)) == ["bin", "garbage"]


def test_key_events_with_a_bad_box_count_as_no_selection() -> None:
    from types import SimpleNamespace

    from sdaug.ui.annotate_keys import event_box

    assert event_box(SimpleNamespace(_data={"key": "2", "box": [1, 2, 3, 4]})) == [1.0, 2.0, 3.0, 4.0]
    for bad in (None, "x", [1, 2], ["a", "b", "c", "d"], [None] * 4, {"x": 1}):
        assert event_box(SimpleNamespace(_data={"key": "2", "box": bad})) is None


def test_delete_removes_the_box_selected_on_the_canvas_or_in_the_list(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(64, 64)])
    image_id = state.image_id
    core.canvas_changed(project, state, payload(project, image_id, [drawn(1, 1, 10, 10), drawn(20, 20, 40, 40)]))
    assert core.delete_selected_box(project, state).message == ("ann.msg.select_box_first", {})
    assert len(project.boxes(image_id)) == 2
    outcome = core.delete_selected_box(project, state, clicked=[20, 20, 41, 40])
    assert outcome.message == ("ann.msg.box_deleted", {"count": 1}) and outcome.canvas
    assert coords(project, image_id) == [("bin", 1, 1, 10, 10)]
    core.select_box(project, state, 0)
    core.delete_selected_box(project, state)
    assert project.boxes(image_id) == []
    core.undo(project, state)
    assert coords(project, image_id) == [("bin", 1, 1, 10, 10)]


# Navigation, filters, paging -------------------------------------------------------------------
def test_next_unlabelled_wraps_and_keeps_the_split_filter(tmp_path: Path) -> None:
    splits = ["train", "val", "train", "val", "train"]
    project, state = make_project(tmp_path, [(32, 32)] * 5, splits=splits)
    ids = project.image_ids()
    bin_id = project.classes()[0].id
    for image_id in (ids[0], ids[2]):
        project.set_boxes(image_id, [Box(bin_id, 1, 1, 9, 9)])
    core.show_image(project, state, ids[0])
    core.next_unlabelled(project, state)
    assert state.image_id == ids[1]
    core.set_filter(project, state, "", "train", None)
    core.next_unlabelled(project, state)
    assert state.image_id == ids[4]
    core.next_unlabelled(project, state)  # wraps around to the only other unlabelled train image
    assert state.image_id == ids[4]
    project.set_boxes(ids[4], [Box(bin_id, 1, 1, 9, 9)])
    assert core.next_unlabelled(project, state).message == ("ann.msg.all_labelled", {})


def test_filters_and_paging_query_only_one_page(tmp_path: Path) -> None:
    n = core.PAGE_SIZE * 2 + 7
    project, state = make_project(tmp_path, [(16, 16)] * n)
    ids = project.image_ids()
    garbage = project.classes()[1].id
    for image_id in ids[::10]:
        project.set_boxes(image_id, [Box(garbage, 1, 1, 9, 9)])
    page = core.page_rows(project, state)
    assert (len(page.rows), page.pages, page.total) == (core.PAGE_SIZE, 3, n)
    core.set_page(project, state, 99)
    page = core.page_rows(project, state)
    assert (page.page, len(page.rows)) == (2, 7)
    core.set_page(project, state, -5)
    assert core.page_rows(project, state).rows[0][0] == ids[0]
    core.show_image(project, state, ids[core.PAGE_SIZE + 3])
    assert state.page == 1
    outcome = core.set_filter(project, state, "labelled", "", garbage)
    assert outcome.page and state.image_id == ids[0]
    page = core.page_rows(project, state)
    assert [row[0] for row in page.rows] == ids[::10]
    core.go(project, state, +1)
    assert state.image_id == ids[10]
    core.set_filter(project, state, "reviewed", "", None)
    assert state.image_id is None and core.info(project, state)[0] == "ann.info.none_match"
    with pytest.raises(ValueError, match="status filter"):
        core.set_filter(project, state, "bogus", "", None)


def test_previous_next_stop_at_the_ends(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(16, 16)] * 3)
    ids = project.image_ids()
    assert core.go(project, state, -1).message == ("ann.msg.first", {})
    core.go(project, state, +1)
    core.go(project, state, +1)
    assert state.image_id == ids[2]
    assert core.go(project, state, +1).message == ("ann.msg.last", {})
    core.mark_reviewed(project, state)
    assert project.get_image(ids[2]).status == "reviewed"
    assert core.info(project, state)[1]["index"] == 3


# Classes -------------------------------------------------------------------------------------
def test_class_editor(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(16, 16)], classes=("bin",))
    core.add_class(project, state, "garbage", "rgba(255, 0, 16, 1)")
    garbage = project.classes()[1]
    state.selected_class_id = garbage.id
    core.update_class(project, state, "litter", "rgba(0, 128, 255, 1)")
    assert (project.get_class(garbage.id).name, project.get_class(garbage.id).color) == ("litter", "#0080ff")
    assert core.move_class(project, state, -1).classes
    assert [c.name for c in project.classes()] == ["litter", "bin"]
    project.lock_classes()
    with pytest.raises(ValueError, match="locked"):
        core.move_class(project, state, +1)
    core.update_class(project, state, "rubbish", None)  # renaming stays allowed
    assert core.class_rows(project)[0][:2] == ["1", "rubbish"]


# Strings ---------------------------------------------------------------------------------------
def test_every_message_key_has_english_and_chinese() -> None:
    keys = set()
    for module in (core, review):
        keys |= set(re.findall(r'"((?:ann|rev)\.[a-z_.]+)"', Path(module.__file__).read_text(encoding="utf-8")))
    table = {**annotate.STRINGS, **review.STRINGS}
    missing = sorted(k for k in keys if k not in table and not k.endswith("."))
    assert not missing
    assert all(en and zh for en, zh in table.values())


def test_refusals_are_translated_by_key(tmp_path: Path) -> None:
    """Issue 14 item 6: error bodies in 中文 too (not "出错了：" + English)."""
    project, state = make_project(tmp_path, [(64, 64)], classes=("cat",))
    ctx = AppContext(settings=Settings(home=tmp_path / "home"))
    ctx.add_translations(annotate.STRINGS)
    with pytest.raises(core.AnnotateError) as refused:
        core.add_class(project, state, " cat ", None)
    assert str(refused.value) == "a class named 'cat' already exists"
    assert ctx.error(refused.value, "zh").message == "已经有名为 'cat' 的类别"
    with pytest.raises(core.AnnotateError) as empty:
        core.add_class(project, state, "  ", None)
    assert ctx.error(empty.value, "zh").message == "请先输入类别名称"
    missing = [key for key in core.MESSAGES if f"ann.err.{key}" not in annotate.STRINGS]
    assert not missing


# Review queue ----------------------------------------------------------------------------------
def add_variants(project: Project, source_id: int, n: int, size: tuple[int, int]) -> list[int]:
    bin_id = project.classes()[0].id
    ids = []
    for k in range(n):
        image = Image.new("RGB", size, (200, 10 * k, 30))
        record = project.add_variant(source_id, image, preset="fog", seed=k, params="",
                                     boxes=[Box(bin_id, 1, 1, 8, 8, origin="carried", drift=0.2, needs_review=True)],
                                     status="review", condition="fog")
        ids.append(record.id)
    return ids


def test_review_accept_reject_and_move_on(tmp_path: Path) -> None:
    project, _ = make_project(tmp_path, [(32, 32)])
    source = project.image_ids()[0]
    variants = add_variants(project, source, 3, (32, 32))
    rs = review.ReviewState()
    review.start(project, rs)
    assert rs.image_id == variants[0]
    assert review.decide(project, rs, accept=True) == ("rev.msg.accepted", {"id": variants[0]})
    assert project.get_image(variants[0]).status == "reviewed"
    assert all(not b.needs_review for b in project.boxes(variants[0]))
    assert rs.image_id == variants[1]
    review.decide(project, rs, accept=False)
    assert project.get_image(variants[1]).status == "rejected"
    assert review.go(project, rs, +1) == ("rev.msg.end", {})
    review.decide(project, rs, accept=True)
    assert rs.image_id is None and review.info(project, rs)[0] == "rev.empty"
    review.start(project, rs, "variants")
    assert rs.image_id == variants[0]


def test_apply_source_boxes_to_variants_again_scales_and_checks_them(tmp_path: Path) -> None:
    project, _ = make_project(tmp_path, [(40, 20)])
    source = project.image_ids()[0]
    bin_id, garbage_id = (c.id for c in project.classes())
    same, bigger = add_variants(project, source, 1, (40, 20))[0], add_variants(project, source, 1, (80, 40))[0]
    project.set_boxes(source, [Box(garbage_id, 2, 4, 12, 14), Box(bin_id, 20, 0, 40, 20)])
    assert [v.id for v in reapply_source_boxes(project, source)] == [same, bigger]
    assert coords(project, same) == [("bin", 20, 0, 40, 20), ("garbage", 2, 4, 12, 14)]
    assert coords(project, bigger) == [("bin", 40, 0, 80, 40), ("garbage", 4, 8, 24, 28)]
    # Re-checked for drift (not cleared): every box has a fresh score and the status follows it.
    assert {b.origin for b in project.boxes(bigger)} == {"carried"}
    assert all(b.drift is not None and b.drift != 0.2 for b in project.boxes(bigger))
    assert project.get_image(bigger).status in ("labelled", "review")


def test_side_by_side_shows_source_and_variant_with_names_for_the_browser(tmp_path: Path) -> None:
    """The review panels carry class names (any script; the browser draws them) and drift scores."""
    project, _ = make_project(tmp_path, [(64, 32)], classes=("垃圾桶", "garbage"))
    source = project.image_ids()[0]
    project.set_boxes(source, [Box(project.classes()[0].id, 1, 1, 8, 8)])
    variant = add_variants(project, source, 1, (64, 32))[0]
    left, right = review.side_by_side(project, variant)
    assert left["image"] == str(project.image_path(source)) and right["image"] == str(project.image_path(variant))
    assert [b["label"] for b in left["boxes"]] == ["1 垃圾桶"]
    flagged = right["boxes"][0]
    assert flagged["label"].startswith("1 垃圾桶 · ") and flagged["color"] == (255, 0, 0)
    image_annotator(value=right).postprocess(right)  # a value the component accepts
    assert review.side_by_side(project, source)[0] is None


# The page --------------------------------------------------------------------------------------
def test_images_outside_the_allowed_folders_are_linked_into_the_temp_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdaug.settings import Settings
    from sdaug.ui.context import AppContext

    project, state = make_project(tmp_path, [(16, 16)])
    ctx = AppContext(settings=Settings(home=tmp_path / "home"))
    monkeypatch.setattr(annotate.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    monkeypatch.setattr(annotate.os, "getcwd", lambda: str(tmp_path / "cwd"))
    original = project.image_path(state.image_id)
    shown = Path(annotate.viewable(ctx, original))
    assert shown.is_relative_to(tmp_path / "tmp") and shown.name == original.name
    assert shown.read_bytes() == original.read_bytes()
    assert annotate.viewable(ctx, original) == str(shown)
    served = ctx.settings.outputs_dir / "served.png"  # the outputs folder is served as it is
    served.parent.mkdir(parents=True)
    served.write_bytes(original.read_bytes())
    assert annotate.viewable(ctx, served) == str(served.resolve())


def test_tabs_build_and_respond_through_the_server(tmp_path: Path) -> None:
    """The app builds with these tabs; load, a canvas change (raw payload) and Next go through gradio."""
    from gradio_client import Client

    from sdaug.settings import Settings
    from sdaug.ui.app import build_app
    from sdaug.ui.context import AppContext

    project, _ = make_project(tmp_path / "home" / "projects", [(300, 200), (64, 64)])
    ctx = AppContext(settings=Settings(home=tmp_path / "home"), project=project.folder, model="tiny")
    demo = build_app(ctx)
    fns = {}
    for index, fn in demo.fns.items():
        fns.setdefault(fn.name, index)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, allowed_paths=ctx.allowed_paths(),
                            i18n=ctx.build_i18n())
    try:
        client = Client(url, verbose=False)
        loaded = client.predict({}, fn_index=fns["on_load"])  # a browser with nothing saved yet
        push_at = 11  # the last of the tab's outputs (the client leaves out the state and the row)
        info, pushed = loaded[1], loaded[push_at]
        assert info.startswith("**1 / 2**")
        assert pushed["version"] == 1
        image = pushed["value"]["image"]  # the client fetched the file gradio serves
        assert Path(image).name == project.get_image(project.image_ids()[0]).file_name
        sent = {"image": {"path": image, "orig_name": Path(image).name, "meta": {"_type": "gradio.FileData"}},
                "boxes": [{"xmin": 10, "ymin": 10, "xmax": 50, "ymax": 40, "label": "", "scaleFactor": 0.5,
                           "color": "rgb(0, 0, 0)"}], "orientation": 0}
        # Sent while the mouse button is still down (the browser marks it): not saved, nothing sent back.
        skipped = client.predict(sent, {"drawing": True, "presses": 1}, fn_index=fns["on_canvas"])
        assert skipped[push_at] == {"__type__": "update"} and project.boxes(project.image_ids()[0]) == []
        # At mouse-up: saved with the active class; the class name comes back as a newer push, tagged
        # with the browser's count of presses (applied only if the user has not pressed since).
        reply = client.predict(sent, {"drawing": False, "presses": 1}, fn_index=fns["on_canvas"])[push_at]
        assert (reply["version"], reply["presses"]) == (2, 1) and reply["value"]["boxes"][0]["label"] == "bin"
        assert coords(project, project.image_ids()[0]) == [("bin", 20, 20, 100, 80)]
        stats = client.predict(project.folder.name, fn_index=fns["on_refresh"])
        assert "**2** images" in stats[0]
    finally:
        demo.close()


# Boxes the browser has not been told the class of (issue 14's mid-drag race) ------------------
def test_a_box_without_text_keeps_its_stored_class_after_the_active_class_changed(tmp_path: Path) -> None:
    """The reply that names a new box may never reach the canvas (the user was already drawing the
    next one): the box comes back without text, after "2" made garbage the class of new boxes."""
    project, state = make_project(tmp_path, [(400, 300)])
    image_id = state.image_id
    core.canvas_changed(project, state, payload(project, image_id, [drawn(10, 10, 100, 100)]))
    core.press_class_key(project, state, "2")
    boxes = [drawn(10, 10, 100, 100), drawn(200, 50, 300, 150)]  # the first still without text
    outcome = core.canvas_changed(project, state, payload(project, image_id, boxes))
    assert coords(project, image_id) == [("bin", 10, 10, 100, 100), ("garbage", 200, 50, 300, 150)]
    assert outcome.canvas  # the names go back to the browser (applied once the mouse is up)


def test_a_box_without_text_moved_keeps_the_class_of_its_colour(tmp_path: Path) -> None:
    project, state = make_project(tmp_path, [(400, 300)])
    image_id = state.image_id
    bin_rgb = "rgb({}, {}, {})".format(*core.hex_to_rgb(project.classes()[0].color))
    sent = payload(project, image_id, [drawn(10, 10, 100, 100)])
    sent["boxes"][0]["color"] = bin_rgb
    core.canvas_changed(project, state, sent)
    core.press_class_key(project, state, "2")
    sent["boxes"][0].update(xmin=20, xmax=110)  # moved before its name arrived
    core.canvas_changed(project, state, sent)
    assert coords(project, image_id) == [("bin", 20, 10, 110, 100)]


# Proposals (issue 17) ----------------------------------------------------------------------------
def proposals_project(tmp_path: Path) -> tuple[Project, core.AnnotateState, int]:
    project, state = make_project(tmp_path, [(400, 300)])
    image_id = state.image_id
    bin_id, garbage_id = (c.id for c in project.classes())
    project.add_proposals(image_id, [Box(bin_id, 10, 10, 100, 100, score=0.9),
                                     Box(garbage_id, 200, 50, 300, 150, score=0.25)],
                          detector="tiny", uncertainty=0.5)
    return project, state, image_id


def shown_boxes(project: Project, state: core.AnnotateState) -> list[dict]:
    value = core.canvas_value(project, state.image_id, state.min_score)
    return [drawn(b["xmin"], b["ymin"], b["xmax"], b["ymax"], b["label"]) for b in value["boxes"]]


def test_proposals_show_with_their_score_and_the_threshold_hides_weak_ones(tmp_path: Path) -> None:
    project, state, image_id = proposals_project(tmp_path)
    assert project.get_image(image_id).status == "review"
    assert [b["label"] for b in shown_boxes(project, state)] == ["bin 0.90?", "garbage 0.25?"]
    core.set_min_score(project, state, 0.5)
    assert [b["label"] for b in shown_boxes(project, state)] == ["bin 0.90?"]
    # A change of the canvas (a new box drawn) keeps the hidden proposal and the shown one as they are.
    boxes = [*shown_boxes(project, state), drawn(300, 200, 390, 290)]
    core.canvas_changed(project, state, payload(project, image_id, boxes))
    origins = sorted((b.origin, b.score) for b in project.boxes(image_id))
    assert origins == [("auto", 0.25), ("auto", 0.9), ("manual", None)]
    with pytest.raises(ValueError, match="from 0 to 1"):
        core.set_min_score(project, state, 1.5)


def test_moving_a_proposal_accepts_it_and_delete_removes_one(tmp_path: Path) -> None:
    project, state, image_id = proposals_project(tmp_path)
    boxes = shown_boxes(project, state)
    boxes[0].update(xmin=15)  # the bin proposal, corrected by hand
    core.canvas_changed(project, state, payload(project, image_id, boxes[:1]))  # and garbage's deleted
    assert [(b.origin, b.class_id, b.x1) for b in project.boxes(image_id)] == [
        ("manual", project.classes()[0].id, 15)]
    assert project.get_image(image_id).status == "labelled"  # no proposal left to decide on


def test_y_accepts_the_clicked_proposal_and_enter_the_shown_ones(tmp_path: Path) -> None:
    project, state, image_id = proposals_project(tmp_path)
    assert core.accept_proposal(project, state).message == ("ann.msg.select_proposal_first", {})
    outcome = core.accept_proposal(project, state, clicked=[200, 50, 300, 150])
    assert outcome.message == ("ann.msg.proposal_accepted", {"left": 1})
    assert sorted(b.origin for b in project.boxes(image_id)) == ["auto", "manual"]
    core.undo(project, state)
    assert sorted(b.origin for b in project.boxes(image_id)) == ["auto", "auto"]
    # Enter with the threshold at 0.5: the bin proposal becomes a label, the weak one is dropped.
    core.set_min_score(project, state, 0.5)
    outcome = core.accept_all_proposals(project, state)
    assert outcome.message == ("ann.msg.proposals_accepted", {"count": 1, "dropped": 1, "threshold": "0.50"})
    [box] = project.boxes(image_id)
    assert (box.origin, box.needs_review, box.score, box.detector) == ("manual", False, 0.9, "tiny")
    assert project.get_image(image_id).status == "labelled"
    assert core.accept_all_proposals(project, state).message == ("ann.msg.no_proposals", {})


def test_a_class_key_on_a_proposal_relabels_and_accepts_it(tmp_path: Path) -> None:
    project, state, image_id = proposals_project(tmp_path)
    core.press_class_key(project, state, "2", clicked=[10, 10, 100, 100])
    relabelled = next(b for b in project.boxes(image_id) if b.x1 == 10)
    assert (relabelled.class_id, relabelled.origin) == (project.classes()[1].id, "manual")
