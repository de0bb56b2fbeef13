"""The Projects tab in Chromium (Playwright): create a project with a class list, upload photos
from the browser (duplicates reported), reload and switch language without losing the project or
the tab (issue 14 items 1, 4, 5), and a file dropped on the annotator canvas is not shown there.

Screenshots of each step go to ``tests/ui/artifacts/`` (git-ignored)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WAIT_MS = 15_000

DROP_JS = """async (selector) => {
  const target = document.querySelector(selector);
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array([137, 80, 78, 71])], "dropped.png", {type: "image/png"}));
  const refused = [];
  for (const type of ["dragover", "drop"]) {
    const event = new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true});
    target.dispatchEvent(event);
    refused.push(event.defaultPrevented);
  }
  return refused;
}"""


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's Chromium")
def test_projects_upload_reload_and_language(tmp_path: Path, start_app: Callable) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    photos = []
    for i in range(3):
        photos.append(tmp_path / f"IMG_{i}.jpg")
        Image.new("RGB", (320, 240), (60 * i, 120, 200)).save(photos[-1])
    server = start_app()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            expect = sync_api.expect
            page.goto(server.url)
            page.get_by_role("tab", name="Projects", exact=True).click()
            expect(page.get_by_text("No project is open.")).to_be_visible(timeout=WAIT_MS)
            page.screenshot(path=ARTIFACTS / "projects-1-empty.png", full_page=True)
            # 1. Create a project with a pasted class list.
            page.get_by_label("Name", exact=True).fill("bins")
            page.get_by_label("Classes (comma-separated or one per line)").fill(
                "bin not full, bin overflowing, garbage")
            page.get_by_role("button", name="+ Create and open").click()
            expect(page.get_by_text("Created bins with 3 classes.")).to_be_visible(timeout=WAIT_MS)
            # 2. Upload three photos and one of them again: three added, one duplicate reported.
            page.locator("#sdaug-upload input[type=file]").set_input_files([*photos, photos[0]])
            expect(page.get_by_text("IMG_2").first).to_be_visible(timeout=WAIT_MS)
            page.get_by_role("button", name="⬆ Add to the project").click()
            expect(page.get_by_text("1 duplicates not added again")).to_be_visible(timeout=WAIT_MS)
            assert "Added 3 images" in page.get_by_text("duplicates not added again").inner_text()
            page.screenshot(path=ARTIFACTS / "projects-2-added.png", full_page=True)
            # 2b. A whole folder (with a sub-folder) through the folder picker: its new photos are added.
            folder = tmp_path / "site-b"
            for i, sub in enumerate(["", "more"]):
                (folder / sub).mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (200, 150), (10, 200 - 50 * i, 30)).save(folder / sub / f"B_{i}.png")
            page.locator("#sdaug-folder-upload input[type=file]").set_input_files(folder)
            expect(page.get_by_text("B_1").first).to_be_visible(timeout=WAIT_MS)
            page.get_by_role("button", name="⬆ Add to the project").click()
            expect(page.get_by_text("Added 2 images")).to_be_visible(timeout=WAIT_MS)
            # 3. Annotate: a file dropped on the canvas is not taken as the project's image.
            page.get_by_role("tab", name="Annotate", exact=True).click()
            info = page.get_by_text("· #", exact=False).first
            expect(info).to_be_visible(timeout=WAIT_MS)
            canvas = page.locator("#sdaug-annotator canvas").first
            page.wait_for_timeout(1500)
            before = canvas.screenshot()
            # The browser's own drop (open the file in place of the page) is cancelled, and the
            # canvas does not take the file.
            assert page.evaluate(DROP_JS, "#sdaug-annotator canvas") == [True, True]
            page.wait_for_timeout(1500)
            assert "dropped.png" not in page.locator("#sdaug-annotator").inner_html()
            assert canvas.screenshot() == before
            # 4. Reload: the same tab and project come back.
            page.reload()
            expect(page.get_by_text("· #", exact=False).first).to_be_visible(timeout=WAIT_MS)
            assert page.get_by_role("tab", name="Annotate", exact=True).get_attribute("aria-selected") == "true"
            page.screenshot(path=ARTIFACTS / "projects-3-reloaded.png")
            # 5. Switch to 中文 (the page reloads): still the same tab and project, in Chinese.
            page.evaluate("window.sdaugSetLang('zh-CN')")
            expect(page.get_by_role("tab", name="标注", exact=True)).to_have_attribute("aria-selected", "true", timeout=WAIT_MS)
            expect(page.get_by_text("项目：").first).to_be_visible(timeout=WAIT_MS)
            page.get_by_role("tab", name="项目", exact=True).click()
            expect(page.get_by_text("当前项目：").first).to_be_visible(timeout=WAIT_MS)
            page.screenshot(path=ARTIFACTS / "projects-4-zh.png", full_page=True)
            # gradio's own language picker (footer "Settings") is not offered.
            assert page.get_by_role("button", name="Settings").count() == 0
        finally:
            browser.close()
