"""The app in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``; the test
is skipped without it). Load the page in English, see an error message, switch to 简体中文 in
Settings, type a prompt, click Generate and see the image in the gallery. Screenshots go to the test's tmp folder and to
``test-output/`` at the repository root (git-ignored)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 120_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    keep = REPO / "test-output"
    keep.mkdir(exist_ok=True)
    shutil.copy(path, keep / name)
    return path


def test_generate_in_chinese(app_server, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            expect = sync_api.expect
            expect.set_options(timeout=TIMEOUT_MS)
            # 1. The page comes up in the browser's language.
            page.goto(app_server.url)
            expect(page.get_by_role("tab", name="Generate")).to_be_visible()
            expect(page.get_by_text("pictures will be coloured noise")).to_be_visible()
            expect(page.locator("#sdaug-generate-prompt textarea")).to_be_visible()
            save_screenshot(page, tmp_path, "browser-en.png")

            # 2. An error shows as a message, and the Generate button comes back.
            page.locator("#sdaug-generate-prompt textarea").fill("<lora:nosuchlora:1>")
            page.locator(".sdaug-generate:visible").click()
            expect(page.get_by_text("nosuchlora").last).to_be_visible()
            expect(page.locator(".sdaug-generate:visible")).to_have_text("Generate")

            # 3. Switch to 简体中文 in Settings: the page reloads with every label translated.
            page.get_by_role("tab", name="Settings").click()
            page.get_by_text("简体中文").click()
            for name in ("生成", "天气", "光照", "标注", "数据集", "图片信息", "设置"):
                expect(page.get_by_role("tab", name=name)).to_be_visible()
            expect(page.get_by_text("生成的图片只是彩色噪点")).to_be_visible()
            page.get_by_role("tab", name="设置").click()
            expect(page.get_by_label("简体中文")).to_be_checked()  # the choice is remembered

            # 4. Type a prompt and click Generate (it becomes Stop while running).
            page.get_by_role("tab", name="生成").click()
            page.locator("#sdaug-generate-prompt textarea").fill("a garbage bin on a street, rainy day")
            page.locator(".sdaug-generate:visible").click()

            # 5. The image shows in the gallery; the status line is in Chinese too.
            expect(page.locator(".sdaug-results img").first).to_be_visible()
            expect(page.locator(".block.sdaug-status:visible")).to_contain_text("张图片")
            expect(page.locator(".sdaug-generate:visible")).to_have_text("生成")
            save_screenshot(page, tmp_path, "browser-zh.png")
        finally:
            browser.close()
