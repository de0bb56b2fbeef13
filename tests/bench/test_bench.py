"""The benchmark: the compute floor matches the issue's numbers, the SD1.5 configs have SD1.5's
size, and ``sdaug bench`` runs end to end on the tiny model and writes the expected JSON."""

import json
from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

from sdaug.bench import runner
from sdaug.bench.models import (
    count_flops,
    load_config,
    parameter_counts,
    sd15_random_controlnet,
    sd15_random_pipeline,
)
from sdaug.bench.report import WORKLOADS, BenchConfig, BenchReport, FlopCounts, Measurement
from sdaug.cli import main

H100_TFLOPS = 989.0


@pytest.fixture(scope="module")
def sd15_flops() -> FlopCounts:
    return count_flops(load_config("unet"), load_config("vae"), load_config("text_encoder"), 512,
                       load_config("controlnet"))


def test_flops_of_sd15_match_the_published_per_model_costs(sd15_flops: FlopCounts) -> None:
    tflop = sd15_flops.as_tflop()
    assert tflop["unet"] == pytest.approx(0.80, abs=0.01)
    assert tflop["vae_decode"] == pytest.approx(2.5, abs=0.05)
    assert tflop["vae_encode"] == pytest.approx(1.1, abs=0.05)
    assert tflop["controlnet"] == pytest.approx(0.28, abs=0.01)  # derived: makes ControlNet img2img 19 ms
    quarter = count_flops(load_config("unet"), load_config("vae"), load_config("text_encoder"), 256)
    # Convolutions scale with the pixels, self-attention with their square: a bit under a quarter.
    assert 0.85 * sd15_flops.unet / 4 < quarter.unet < sd15_flops.unet / 4


@pytest.mark.parametrize(("workload", "floor_ms"), [("txt2img", 35.0), ("img2img", 15.0), ("controlnet", 19.0)])
def test_compute_floor_on_an_h100_matches_the_issue(sd15_flops: FlopCounts, workload: str, floor_ms: float) -> None:
    seconds = WORKLOADS[workload].flops_per_image(sd15_flops, steps=20) / (H100_TFLOPS * 1e12)
    assert seconds * 1000 == pytest.approx(floor_ms, abs=0.3)
    assert WORKLOADS[workload].denoising_steps(20) == (20 if workload == "txt2img" else 7)


def test_sd15_configs_have_sd15_parameter_counts() -> None:
    with torch.device("meta"):
        models = {
            "unet": UNet2DConditionModel.from_config(load_config("unet")),
            "vae": AutoencoderKL.from_config(load_config("vae")),
            "text_encoder": CLIPTextModel(CLIPTextConfig.from_dict(load_config("text_encoder"))),
            "controlnet": ControlNetModel.from_config(load_config("controlnet")),
        }
    millions = {name: sum(p.numel() for p in m.parameters()) / 1e6 for name, m in models.items()}
    assert millions == pytest.approx({"unet": 860, "vae": 84, "text_encoder": 123, "controlnet": 361}, rel=0.01)


@pytest.mark.slow
def test_sd15_random_builds_and_generates() -> None:
    pipe = sd15_random_pipeline()
    controlnet = sd15_random_controlnet()
    counts = parameter_counts(pipe, controlnet)
    assert counts["unet"] == pytest.approx(860e6, rel=0.01) and counts["controlnet"] == pytest.approx(361e6, rel=0.01)
    image = pipe("snow", num_inference_steps=1, height=64, width=64, output_type="np",
                 generator=torch.Generator().manual_seed(0)).images
    assert image.shape == (1, 64, 64, 3) and torch.isfinite(torch.from_numpy(image)).all()


def test_bench_runs_end_to_end_on_the_tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SDAUG_HOME", str(tmp_path / "home"))
    out = tmp_path / "out" / "bench.json"
    code = main(["bench", "--model", "tiny", "--workloads", "txt2img", "--batch-sizes", "1", "--size", "64",
                 "--steps", "2", "--repeats", "1", "--json", str(out), "--profile", str(tmp_path / "profile")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "compute floor" in printed and "x baseline" in printed and "plain" in printed

    data = json.loads(out.read_text(encoding="utf-8"))
    assert {"date", "device", "device_name", "dtype", "model", "size", "steps", "peak_tflops", "peak_source",
            "tflop_per_sample", "parameters", "fast_path", "workloads", "low_vram", "profiles"} <= set(data)
    assert (data["model"], data["size"], data["steps"], data["device"]) == ("tiny", 64, 2, "cpu")
    assert set(data["workloads"]) == {"txt2img"}
    txt2img = data["workloads"]["txt2img"]
    assert txt2img["floor_ms_per_image"] > 0 and txt2img["denoising_steps"] == 2
    (row,) = txt2img["results"]
    assert set(row) >= {"batch_size", "images_per_s", "s_per_image", "peak_memory_gib", "floor_ratio",
                        "baseline_ratio"}
    assert row["batch_size"] == 1 and row["images_per_s"] > 0 and row["peak_memory_gib"] is None
    assert row["floor_ratio"] > 1  # nothing beats the compute floor
    assert row["baseline_ratio"] == pytest.approx(row["images_per_s"] / txt2img["baseline"]["images_per_s"])
    assert Path(data["profiles"][0]).read_text(encoding="utf-8").count("aten::") >= 5


@pytest.mark.parametrize(("changes", "message"), [
    ({"workloads": ("upscale",)}, "workloads must be among txt2img, img2img, controlnet"),
    ({"batch_sizes": (0, 4)}, "batch sizes must be from 1 to 64"),
    ({"size": 100}, "size must be a multiple of 8"),
    ({"steps": 2}, "use --steps 3 or more"),
    ({"peak_tflops": 0.0}, "peak TFLOP/s must be positive"),
])
def test_config_errors_say_what_to_change(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BenchConfig(**changes).validate()
    BenchConfig(steps=2, workloads=("txt2img",)).validate()


def test_cli_rejects_a_bad_batch_size_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", "tiny", "--batch-sizes", "1,two"]) == 1
    assert "--batch-sizes takes whole numbers" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "tflops"), [("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0),
                                              ("NVIDIA L40S", 362.0), ("NVIDIA L4", 121.0)])
def test_peak_is_looked_up_by_gpu_name(monkeypatch: pytest.MonkeyPatch, name: str, tflops: float) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *args: name)
    assert runner._peak_tflops(None, "cuda", torch.float16) == (tflops, "dense fp16/bf16 spec")
    assert runner._peak_tflops(500.0, "cuda", torch.float16) == (500.0, "given")


def test_tables_report_ratios_and_the_h100_targets(sd15_flops: FlopCounts) -> None:
    report = BenchReport(config=BenchConfig(workloads=("img2img",)), device="cuda", device_name="NVIDIA H100 80GB HBM3",
                         dtype="float16", peak_tflops=H100_TFLOPS, peak_source="dense fp16/bf16 spec",
                         flops=sd15_flops, parameters={})
    floor = report.floor_s_per_image("img2img")
    report.baseline["img2img"] = Measurement(1, [0.25], 2.5, floor, baseline_images_per_s=4.0)
    report.results["img2img"] = [Measurement(1, [0.1], 2.6, floor, 4.0), Measurement(16, [0.5], 12.0, floor, 4.0)]
    best = report.best("img2img")
    assert best.batch_size == 16 and best.images_per_s == pytest.approx(32.0)
    assert best.baseline_ratio == pytest.approx(8.0) and best.floor_ratio == pytest.approx(1 / 32 / floor)
    text = report.tables()
    assert "compute floor 15.0 ms/image" in text
    assert "best: 32.000 images/s at batch 16 (target 25: met; 8.0x baseline, target 3x: met)" in text
    rows = {row[0]: row[1:] for row in map(str.split, text.splitlines()) if row and row[0] in ("plain", "16")}
    assert rows == {"plain": ["4.000", "0.2500", "2.50", "16.6", "1.00"], "16": ["32.000", "0.0312", "12.00", "2.1", "8.00"]}


def test_tables_warn_when_the_peak_is_too_low(sd15_flops: FlopCounts) -> None:
    def table(peak_tflops: float) -> str:
        report = BenchReport(config=BenchConfig(workloads=("txt2img",)), device="cpu", device_name="x86_64",
                             dtype="float32", peak_tflops=peak_tflops, peak_source="measured",
                             flops=sd15_flops, parameters={})
        report.results["txt2img"] = [Measurement(1, [60.0], None, report.floor_s_per_image("txt2img"))]
        return report.tables()

    assert "give the device's peak with --peak-tflops" in table(0.1)  # floor 346 s: "faster" than possible
    assert "--peak-tflops" not in table(1.0)  # floor 34.6 s
