"""The first hour of a non-programmer, in Chromium (issue 14): from an empty data folder to a
trainable YOLO export without typing a path.

Each run: create a project with three classes, upload six photos through the browser, draw boxes
with the mouse, use the number keys and Ctrl+Z, run a classic augment of two presets, accept and
reject in the review queue, export YOLO, download the .zip and read it back with zipfile and
PyYAML (the boxes are compared with the pixels the mouse drew, not with our own output). Once in
English, once in 中文 (no English string of the app may be visible), and with two users logged in
under ``--auth`` working at the same time (their steps interleaved).

Every step leaves a screenshot in ``tests/ui/artifacts/`` (git-ignored) and its duration in
``tests/ui/artifacts/timings.json``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import string
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageDraw

from sdaug.dataset.store import ImageFilter, Project
from sdaug.settings import Settings
from sdaug.ui import i18n
from sdaug.ui.app import build_app
from sdaug.ui.context import AppContext
from tests.ui.conftest import error_toasts

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(shutil.which("/usr/bin/chromium") is None, reason="needs Debian's Chromium")]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
PHOTO_SIZE = (960, 720)  # wider than the canvas: shown scaled to its width, like a real photo
WAIT_S = 60
CLASSES = {"en": ["person", "cat", "dog"], "zh": ["行人", "猫", "狗"]}
PRESETS = (("weather", "fog"), ("lighting", "dusk"))
# Boxes drawn, in photo pixels: image 1 gets a box of class 1, then (after "2") one of class 2;
# a third box is drawn and taken back with Ctrl+Z. Image 2 gets one box after "3".
BOX_A, BOX_B, BOX_C, BOX_D = (100, 100, 400, 500), (500, 200, 800, 600), (50, 550, 250, 700), (300, 150, 700, 600)


# The app's own strings -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def strings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Every (English, Chinese) string of the built app."""
    ctx = AppContext(settings=Settings(home=tmp_path_factory.mktemp("strings")), model="tiny")
    build_app(ctx)
    return {**i18n.STRINGS, **ctx.extra_translations}


def english_fragments(strings: dict[str, tuple[str, str]]) -> list[str]:
    """Pieces of the app's English strings long enough to be unmistakable on a page (the text
    between placeholders, 12 characters or more, that the Chinese string does not also hold)."""
    pieces = set()
    for en, zh in strings.values():
        if en == zh:
            continue
        for text, *_ in string.Formatter().parse(en):
            for part in re.split(r"[*`\n]", text or ""):
                part = part.strip(" .,:;·()")
                if len(part) >= 12 and re.search("[a-z]{3}", part) and part not in zh:
                    pieces.add(part)
    return sorted(pieces)


def photos(folder: Path) -> list[Path]:
    """Six different photos with shapes (texture for the drift check)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(6):
        image = Image.new("RGB", PHOTO_SIZE, (30 + 30 * i, 110, 200 - 20 * i))
        draw = ImageDraw.Draw(image)
        for k in range(12):
            x, y = (97 * k + 41 * i) % 900, (61 * k + 23 * i) % 660
            draw.rectangle((x, y, x + 60, y + 60), fill=((50 * k) % 255, (90 + 20 * k) % 255, (30 * i) % 255))
        draw.ellipse((120, 120, 380, 480), fill=(240, 200, 40))
        draw.rectangle((520, 220, 780, 580), fill=(60, 60, 60))
        path = folder / f"photo_{i + 1}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


# One user's walk -------------------------------------------------------------------------------
@dataclass
class Walk:
    """One user in one browser page: translated labels, a screenshot and a timing per step."""

    page: Any
    lang: str
    who: str
    strings: dict[str, tuple[str, str]]
    english: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    steps: int = 0

    def t(self, key: str, **values: object) -> str:
        en, zh = self.strings[key]
        text = zh if self.lang == "zh" else en
        return text.format(**values) if values else text

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            yield
        except BaseException:
            self.page.screenshot(path=str(ARTIFACTS / f"{self.who}-FAILED-{name}.png"), full_page=True)
            raise
        self.timings[name] = round(time.perf_counter() - started, 2)
        self.steps += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.who}-{self.steps:02d}-{name}.png"), full_page=True)
        assert not error_toasts(self.page), f"an error pop-up after {name}"
        if self.lang == "zh":
            self.assert_no_english(name)

    def assert_no_english(self, step: str, settle_s: float = 5.0) -> None:
        """No English string of the app on the page (once the page's load event has translated
        what the server rendered first)."""
        deadline = time.monotonic() + settle_s
        while True:
            shown = self.page.locator("body").inner_text()
            found = [piece for piece in self.english if piece in shown]
            if not found or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert not found, f"English text visible in 中文 mode after {step}: {found[:10]}"

    def tab(self, key: str, until: Any = None) -> None:
        """Open a tab (again, until ``until`` shows: the page's load event picks the user's last tab)."""
        for _ in range(WAIT_S * 2):
            self.page.get_by_role("tab", name=self.t(key), exact=True).first.click()
            if until is None or until.is_visible():
                return
            time.sleep(0.5)
        raise AssertionError(f"the tab {self.t(key)} did not open")

    def button(self, key: str, **values: object) -> Any:
        return self.page.get_by_role("button", name=self.t(key, **values), exact=True).first

    def text(self, key: str, **values: object) -> Any:
        return self.page.get_by_text(self.t(key, **values), exact=False).first


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def first_hour(walk: Walk, url: str, home: Path, project_name: str, uploads: list[Path],
               login: tuple[str, str] | None = None) -> Iterator[str]:
    """The user's steps; yields after each one (so two users can take turns)."""
    page, t = walk.page, walk.t
    classes = CLASSES[walk.lang]
    folder = home / "projects" / project_name

    def project() -> Project:
        return Project.open(folder, create=False)

    with walk.step("open"):
        page.goto(url)
        if login is not None:
            page.locator("input[type=text]").first.fill(login[0])  # gradio's login page, in the browser's language
            page.locator("input[type=password]").first.fill(login[1])
            page.locator("input[type=password]").first.press("Enter")
        walk.tab("tab.projects", until=page.get_by_label(t("prj.new.name")))
    yield "open"

    with walk.step("create-project"):
        page.get_by_label(t("prj.new.name")).fill(project_name)
        page.get_by_label(t("prj.new.classes")).fill(", ".join(classes))
        walk.button("prj.new.create").click()
        walk.text("prj.msg.created", name=project_name, count=3).wait_for(timeout=WAIT_S * 1000)
        assert [c.name for c in project().classes()] == classes
    yield "create-project"

    with walk.step("upload-photos"):
        page.locator("#sdaug-upload input[type=file]").set_input_files([str(p) for p in uploads])
        wait_until(lambda: page.locator("#sdaug-upload").inner_text().count(".jpg") >= len(uploads), "the uploads")
        walk.button("prj.add.run").click()
        wait_until(lambda: project().count_images() == len(uploads), "six photos in the project")
        report = t("prj.add.report", added=len(uploads), boxes=0, duplicates=0, skipped=0).split("**")[-1]
        page.get_by_text(report.strip(), exact=False).first.wait_for(timeout=WAIT_S * 1000)
    yield "upload-photos"

    with walk.step("draw-boxes"):
        walk.tab("tab.annotate")
        canvas = page.locator("#sdaug-annotator canvas").first
        info = page.locator("#sdaug-annotate-info")
        wait_until(lambda: info.is_visible() and "1 / 6" in info.inner_text(), "the first photo in the annotator")
        assert not page.locator("#sdaug-annotator button[aria-label^='Rotate']").first.is_visible()  # no view rotation
        first, second = project().image_ids()[:2]

        def drag(box: tuple[int, int, int, int]) -> None:
            canvas.scroll_into_view_if_needed()
            area = canvas.bounding_box()
            scale = area["width"] / PHOTO_SIZE[0]
            page.mouse.move(area["x"] + box[0] * scale, area["y"] + box[1] * scale)
            page.mouse.down()
            page.mouse.move(area["x"] + box[2] * scale, area["y"] + box[3] * scale, steps=6)
            page.mouse.up()

        def labels(image_id: int) -> list[tuple[str, tuple[float, ...]]]:
            names = {c.id: c.name for c in project().classes()}
            return sorted((names[b.class_id], (b.x1, b.y1, b.x2, b.y2)) for b in project().boxes(image_id))

        def settled(image_id: int, box: tuple[int, int, int, int]) -> bool:
            """The box is stored where the drag ended (the canvas also saves it while dragging)."""
            return any(all(abs(a - b) <= 3 for a, b in zip(coords, box, strict=True)) for _, coords in labels(image_id))

        # Like a person, press the next key once the box is drawn (not while the drag is being saved).
        drag(BOX_A)
        wait_until(lambda: len(labels(first)) == 1 and settled(first, BOX_A), "the first box")
        page.keyboard.press("2")  # the class of the NEXT box
        walk.text("ann.msg.active_class", name=classes[1]).wait_for(timeout=WAIT_S * 1000)
        drag(BOX_B)
        wait_until(lambda: [n for n, _ in labels(first)] == sorted(classes[:2]) and settled(first, BOX_B),
                   "the second box, of class 2")
        drag(BOX_C)
        wait_until(lambda: len(labels(first)) == 3 and settled(first, BOX_C), "the third box")
        page.keyboard.press("Control+z")
        wait_until(lambda: len(labels(first)) == 2, "Ctrl+Z taking the third box back")
        page.keyboard.press("d")
        wait_until(lambda: "2 / 6" in info.inner_text(), "the second photo")
        page.keyboard.press("3")
        walk.text("ann.msg.active_class", name=classes[2]).wait_for(timeout=WAIT_S * 1000)
        drag(BOX_D)
        wait_until(lambda: [n for n, _ in labels(second)] == [classes[2]] and settled(second, BOX_D),
                   "a box of class 3 on the second photo")
        # The drawn boxes, in photo pixels (whole canvas pixels: within 2 photo pixels).
        drawn = dict(labels(first))
        assert drawn[classes[0]] == pytest.approx(BOX_A, abs=3)
        assert drawn[classes[1]] == pytest.approx(BOX_B, abs=3)
    yield "draw-boxes"

    with walk.step("augment"):
        walk.tab("tab.dataset")
        for kind, name in PRESETS:
            page.get_by_label(t(f"job.preset.{kind}.{name}"), exact=True).first.check()
        walk.text("job.per_source.item", preset=t(f"preset.name.{PRESETS[1][1]}"), before="0",
                  after="1").wait_for(timeout=WAIT_S * 1000)
        walk.button("job.preview").click()
        columns = " · ".join([t("job.grid.source"), *(t(f"preset.name.{name}") for _, name in PRESETS)])
        walk.text("job.grid.columns", columns=columns).wait_for(timeout=WAIT_S * 1000)
        walk.button("job.start").click()
        wait_until(lambda: bool(project().jobs()) and project().jobs()[-1].state == "done", "the augment job")
        variants = project().image_ids(ImageFilter(kind="variant"))
        assert len(variants) == 2 * len(PRESETS)  # two labelled photos × two presets
        page.get_by_text(f"{len(variants)}/{len(variants)}", exact=False).first.wait_for(timeout=WAIT_S * 1000)
    yield "augment"

    with walk.step("review"):
        walk.tab("tab.annotate")
        page.get_by_role("tab", name=t("ann.tab.review"), exact=True).first.click()
        page.get_by_label(t("rev.scope.variants"), exact=True).first.check()
        wait_until(lambda: page.locator("#sdaug-review-keys").is_visible(), "the review queue")
        time.sleep(1)
        page.keyboard.press("y")
        wait_until(lambda: project().get_image(variants[0]).status == "reviewed", "the first variant accepted")
        page.keyboard.press("x")
        wait_until(lambda: project().get_image(variants[1]).status == "rejected", "the second variant rejected")
    yield "review"

    with walk.step("export-yolo"):
        walk.tab("tab.projects")
        page.get_by_text(t("prj.export"), exact=True).first.click()
        walk.button("prj.export.run").click()
        download_button = walk.button("prj.export.download")
        download_button.wait_for(timeout=WAIT_S * 1000)
        with page.expect_download(timeout=WAIT_S * 1000) as download:
            download_button.click()
        data = Path(download.value.path()).read_bytes()
    yield "export-yolo"

    with walk.step("read-back"):
        # Exported: labelled and reviewed images (a variant whose boxes failed the drift check waits
        # for review and is left out, as is the rejected one).
        exported = [r for r in project().list_images(0, 100) if r.status in ("labelled", "reviewed")]
        check_yolo_zip(data, classes, rejected=variants[1], count=len(exported))
        assert len(exported) >= 2 + 1
    yield "read-back"


def check_yolo_zip(data: bytes, classes: list[str], rejected: int, count: int) -> None:
    """Read the export as a trainer would: data.yaml names, one label file per image, boxes
    normalised to the photo size; the boxes drawn are there; unlabelled photos and the rejected
    variant are not."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        yaml_name = next(n for n in names if n.endswith("data.yaml"))
        spec = yaml.safe_load(archive.read(yaml_name))
        listed = spec["names"] if isinstance(spec["names"], list) else [spec["names"][k] for k in sorted(spec["names"])]
        assert listed == classes
        images = [n for n in names if "/images/" in f"/{n}" and n.lower().endswith((".jpg", ".jpeg", ".png"))]
        labels = {n for n in names if "/labels/" in f"/{n}" and n.endswith(".txt")}
        assert len(images) == count
        assert not any(Path(n).name.startswith(f"{rejected:06d}_") for n in images)
        assert all(re.sub(r"(^|/)images/", r"\1labels/", n).rsplit(".", 1)[0] + ".txt" in labels for n in images)
        lines = []
        for image in images:
            label = re.sub(r"(^|/)images/", r"\1labels/", image).rsplit(".", 1)[0] + ".txt"
            if label in labels:
                lines += [[float(v) for v in line.split()] for line in archive.read(label).decode().splitlines()
                          if line.strip()]
    width, height = PHOTO_SIZE
    expected = [(cls, (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height)
                for cls, (x1, y1, x2, y2) in ((0, BOX_A), (1, BOX_B), (2, BOX_D))]
    for cls, cx, cy, w, h in expected:
        assert any(line[0] == cls and line[1:] == pytest.approx([cx, cy, w, h], abs=0.005) for line in lines), (
            f"no YOLO line for class {cls} at {cx:.3f} {cy:.3f} {w:.3f} {h:.3f}")
    assert all(0 <= v <= 1 for line in lines for v in line[1:])


def save_timings(name: str, timings: dict[str, float]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "timings.json"
    table = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    table[name] = {**timings, "total": round(sum(timings.values()), 2)}
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False), encoding="utf-8")


# The tests -------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_first_hour(lang: str, tmp_path: Path, start_app: Callable, strings: dict[str, tuple[str, str]]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    server = start_app()
    uploads = photos(tmp_path / "photos")
    english = english_fragments(strings) if lang == "zh" else []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                          locale="zh-CN" if lang == "zh" else "en-US", accept_downloads=True)
            walk = Walk(context.new_page(), lang, f"first-hour-{lang}", strings, english)
            for _ in first_hour(walk, server.url, server.home, "bins" if lang == "en" else "垃圾桶", uploads):
                pass
        finally:
            browser.close()
    save_timings(f"first-hour-{lang}", walk.timings)
    print(f"\n{walk.who}: {walk.timings}")


def test_two_users_logged_in_at_the_same_time(tmp_path: Path, start_app: Callable,
                                              strings: dict[str, tuple[str, str]]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    logins = {"alice": "apple-pie-1", "bob": "banana-split-2"}
    server = start_app("--listen", "--host", "127.0.0.1", *(a for user, pw in logins.items()
                                                            for a in ("--auth", f"{user}:{pw}")))
    uploads = photos(tmp_path / "photos")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            walks, flows = [], []
            for user, lang in (("alice", "en"), ("bob", "zh")):
                context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                              locale="zh-CN" if lang == "zh" else "en-US")
                walk = Walk(context.new_page(), lang, f"two-users-{user}", strings,
                            english_fragments(strings) if lang == "zh" else [])
                walks.append(walk)
                flows.append(first_hour(walk, server.url, server.home, f"{user}-bins", uploads,
                                        login=(user, logins[user])))
            # Take turns step by step: each user's step runs while the other's project is mid-way.
            pending = list(flows)
            while pending:
                for flow in list(pending):
                    if next(flow, None) is None:
                        pending.remove(flow)
        finally:
            browser.close()
    for walk in walks:
        save_timings(walk.who, walk.timings)
        print(f"\n{walk.who}: {walk.timings}")
    assert {p.name for p in (server.home / "projects").iterdir()} == {"alice-bins", "bob-bins"}
