"""``sdaug bench`` on a CUDA GPU (``pytest -m gpu``): peak memory and the low-VRAM number."""

import json
from pathlib import Path

import pytest
import torch

from sdaug.cli import main

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_bench_on_cuda_reports_memory_and_the_low_vram_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDAUG_HOME", str(tmp_path / "home"))
    out = tmp_path / "bench.json"
    assert main(["bench", "--model", "tiny", "--batch-sizes", "1,4", "--size", "64", "--steps", "4",
                 "--repeats", "2", "--low-vram", "--json", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["device"] == "cuda" and data["dtype"] == "float16"
    for workload in data["workloads"].values():
        assert [row["batch_size"] for row in workload["results"]] == [1, 4]
        assert all(row["peak_memory_gib"] > 0 for row in workload["results"])
        assert workload["baseline"]["peak_memory_gib"] > 0
    low_vram = data["low_vram"]
    assert low_vram["workload"] == "controlnet" and 0 < low_vram["peak_memory_gib"] < 4
