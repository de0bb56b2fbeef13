"""The Annotate tab in Chromium: drawing on a scaled canvas, keys, undo (Playwright)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from sdaug.dataset.store import Project

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
WAIT_S = 15


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's Chromium")
def test_draw_on_a_large_image_and_use_the_keys(tmp_path: Path, start_app: Callable) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    project = Project.open(tmp_path / "home" / "projects" / "project")  # the project named "project"
    project.ensure_classes(["bin", "garbage"])
    for i, size in enumerate([(1600, 1200), (320, 240)]):
        Image.new("RGB", size, (40 * i, 120, 200)).save(tmp_path / f"{i}.png")
        project.add_image(tmp_path / f"{i}.png")
    first = project.image_ids()[0]
    server = start_app("--project", "project", home=tmp_path / "home")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url)
            page.get_by_role("tab", name="Annotate").click()
            info = page.get_by_text("· #", exact=False).first
            info.wait_for()
            assert info.inner_text().startswith("1 / 2")
            # 1. Draw a box over the middle half of the picture, shown at less than half its size.
            canvas = page.locator("#sdaug-annotator canvas").first
            box = canvas.bounding_box()
            scale = min(box["width"] / 1600, box["height"] / 1200)
            assert scale < 0.5
            left = box["x"] + (box["width"] - 1600 * scale) / 2
            top = box["y"] + (box["height"] - 1200 * scale) / 2
            page.mouse.move(left + 400 * scale, top + 300 * scale)
            page.mouse.down()
            page.mouse.move(left + 800 * scale, top + 600 * scale, steps=5)
            page.mouse.move(left + 1200 * scale, top + 900 * scale, steps=5)
            page.mouse.up()
            # The canvas may report the box while it is still being dragged: wait for the final one.
            expected = pytest.approx([400, 300, 1200, 900], abs=1 / scale + 1)
            wait_for(lambda: [[b.x1, b.y1, b.x2, b.y2] for b in project.boxes(first)] == [expected],
                     "the drawn box to be saved in original-image pixels")
            # 2. Keys: next, previous, undo (saved at once).
            page.keyboard.press("d")
            wait_for(lambda: info.inner_text().startswith("2 / 2"), "the next image")
            page.keyboard.press("a")
            wait_for(lambda: info.inner_text().startswith("1 / 2"), "the previous image")
            page.keyboard.press("Control+z")
            wait_for(lambda: project.boxes(first) == [], "undo")
            # 3. Keys typed in a text box are text, not shortcuts.
            page.get_by_label("Page", exact=True).first.press("d")
            time.sleep(1)
            assert info.inner_text().startswith("1 / 2")
        finally:
            browser.close()
