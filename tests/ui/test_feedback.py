"""Issue 14 item 7: diffusion on a CPU warns before the slow part, with a measured time."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import Progress
from sdaug.ui import common, i18n


def fake_ctx(device: str, home: Path) -> SimpleNamespace:
    return SimpleNamespace(manager=SimpleNamespace(device=device), settings=SimpleNamespace(home=home),
                           tr=lambda key, lang, **values: i18n.tr(key, lang, **values))


def test_cpu_run_warns_with_the_time_measured_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(common, "CPU_WARN_S", 0.0)  # the fake steps below take milliseconds
    monkeypatch.setattr(gr, "Warning", lambda message, title=None: shown.append((title, message)))
    monkeypatch.setattr(common, "_MEASURED", {})
    greq = GenerationRequest(width=64, height=64, steps=10, batch_size=2)
    # 1. Nothing measured yet: the first steps measure it, then the warning comes.
    timing = common.CpuTiming.start(fake_ctx("cpu", tmp_path), "zh", [greq])
    assert shown == []
    timing.step(Progress(step=1, total_steps=10, images_total=2))
    time.sleep(0.05)
    timing.step(Progress(step=2, total_steps=10, images_total=2, eta_s=0.4))
    assert shown and shown[0][0] == "正在用 CPU 运行" and "2 张约需" in shown[0][1]
    timing.finished(greq, 2)
    # 2. Measured once: the next run warns before it starts, also after a restart of the app.
    shown.clear()
    common._MEASURED.clear()
    common.CpuTiming.start(fake_ctx("cpu", tmp_path), "en", [greq, greq])
    assert len(shown) == 1 and "4 image(s)" in shown[0][1] and "(measured)" in shown[0][1]
    # 3. A GPU: no warning.
    shown.clear()
    common.CpuTiming.start(fake_ctx("cuda", tmp_path), "en", [greq])
    assert shown == []


def test_preview_reports_each_preset() -> None:
    """The preview said nothing for minutes ("processing | 250/3.9 s"); it now reports where it is."""
    from PIL import Image

    from sdaug.augment.preview import preview

    seen: list[tuple[int, int, int, int]] = []
    images = [Image.new("RGB", (64, 48), (10 * i, 90, 120)) for i in range(2)]
    grid, _ = preview(images, ["fog", "dusk"], "classic", n=2, on_progress=lambda *where: seen.append(where),
                      header=False, cell=64)
    assert seen == [(0, 2, 0, 0), (1, 2, 0, 0)]
    assert grid.size == (3 * 64, 2 * 64)  # no English title row: the page names the columns


def test_refresh_says_what_it_found(tmp_path: Path) -> None:
    """Refresh took 1.3–1.6 s with no confirmation; it now ends with a result line."""
    from sdaug.settings import Settings
    from sdaug.ui.app import build_app
    from sdaug.ui.context import AppContext

    ctx = AppContext(settings=Settings(home=tmp_path / "home"), model="tiny")
    ctx.settings.loras_dir.mkdir(parents=True, exist_ok=True)
    (ctx.settings.loras_dir / "style.safetensors").write_bytes(b"")
    demo = build_app(ctx)
    refreshed = next(fn.fn for fn in demo.fns.values() if fn.name == "refreshed")
    assert refreshed("zh") == "列表已刷新：0 个模型文件，1 个 LoRA。"  # (a language instead of the request)
