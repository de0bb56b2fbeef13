"""The Auto-label sub-tab in Chromium, end to end: propose boxes with the tiny detector, find them
stored as proposals, accept one image's in the review queue (Y), delete another's (X), export:
only the accepted boxes are in it; "Open the next image to label" opens it in Draw boxes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sdaug.dataset.exporters import export_project
from tests.engine.test_autolabel import make_project
from tests.ui.conftest import error_toasts
from tests.ui.test_annotate_browser import CHROMIUM, browser_page, open_annotate, wait_for

pytestmark = pytest.mark.browser


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's Chromium")
def test_propose_review_and_export_from_the_browser(tmp_path: Path, start_app: Callable) -> None:
    project = make_project(tmp_path / "home" / "projects" / "project", n_images=4)  # the project named "project"
    server = start_app("--project", "project", home=tmp_path / "home")

    def proposals() -> dict[int, int]:
        return {i: n for i in project.image_ids() if (n := project.proposal_count(i))}

    with browser_page(server.url) as page:
        open_annotate(page)
        # 1. Propose boxes with the tiny detector (the default with --model tiny), keeping weak ones.
        page.get_by_role("tab", name="Auto-label").click()
        threshold = page.get_by_label("number input for Keep boxes scoring at least")
        threshold.fill("0.05")
        threshold.press("Enter")
        page.locator("#sdaug-propose").click()
        result = page.locator("#sdaug-propose-result")
        wait_for(lambda: "boxes proposed on" in result.inner_text(), "the proposal result")
        assert "4/4 images done, 0 failed" in result.inner_text()
        found = proposals()
        assert len(found) >= 2, found
        assert f"{sum(found.values())} boxes proposed on {len(found)} images" in result.inner_text()
        assert {b.origin for i in found for b in project.boxes(i)} == {"auto"}
        assert page.locator("#sdaug-propose").is_visible()  # Stop gave its place back
        # 2. Review queue, auto-labelled images: Y accepts the first image's proposals, X deletes the next's.
        page.get_by_role("tab", name="Review queue").click()
        page.get_by_label("Auto-labelled images").check()
        first, second = sorted(found)[:2]
        wait_for(lambda: f"image #{first}" in page.get_by_text("proposed boxes: ").inner_text(),
                 "the first auto-labelled image")
        page.keyboard.press("y")
        wait_for(lambda: first not in proposals(), "the first image's proposals to be accepted")
        wait_for(lambda: f"image #{second}" in page.get_by_text("proposed boxes: ").inner_text(),
                 "the next auto-labelled image")
        page.keyboard.press("x")
        wait_for(lambda: second not in proposals(), "the second image's proposals to be deleted")
        assert project.boxes(second) == [] and project.get_image(second).status == "unlabelled"
        # 3. The export holds the accepted boxes only (no proposal of the other images).
        export_project(project, "yolo", tmp_path / "out")
        lines = {path.stem.split("_", 1)[1]: path.read_text().splitlines()
                 for path in (tmp_path / "out" / "labels").rglob("*.txt")}
        accepted = project.get_image(first).original_name.removesuffix(".png")
        assert len(lines.pop(accepted)) == found[first] and not any(lines.values())
        # 4. "Open the next image to label" opens the least sure unlabelled image in Draw boxes.
        page.get_by_role("tab", name="Auto-label").click()
        page.locator("#sdaug-open-next").click()
        expected = project.labelling_order(1)[0][0]
        info = page.locator("#sdaug-annotate-info")
        wait_for(lambda: info.is_visible() and f"· #{expected} " in info.inner_text(), "the next image to label")
        assert not error_toasts(page)
