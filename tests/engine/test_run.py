"""run(): every mode with the tiny model on the CPU, seeds, progress, cancel, OOM handling."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from sdaug.engine.errors import OutOfMemoryError
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import Progress, run
from sdaug.prompts import parse_infotext


def request(**fields: object) -> GenerationRequest:
    values: dict[str, object] = {"model": "tiny", "prompt": "a snowy street", "steps": 3, "sampler": "Euler",
                                 "width": 64, "height": 64, "seed": 7}
    values.update(fields)
    return GenerationRequest(**values)  # type: ignore[arg-type]


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("mode", ["txt2img", "img2img", "controlnet", "controlnet-img2img"])
@pytest.mark.parametrize(("width", "height"), [(64, 64), (60, 44)])
def test_every_mode_returns_the_requested_size(manager, photo, mode: str, width: int, height: int) -> None:
    fields: dict[str, object] = {"mode": mode, "width": width, "height": height}
    if mode == "img2img":
        fields["init_images"] = [photo]
    if mode == "controlnet":
        fields["control_image"] = photo
    if mode == "controlnet-img2img":
        fields.update(mode="controlnet", init_images=[photo])
    result = run(request(**fields), manager)
    assert [image.size for image in result.images] == [(width, height)]
    assert parse_infotext(result.infotexts[0])["Size"] == f"{width}x{height}"
    if mode.startswith("controlnet"):
        assert len(result.control_images) == 1
        assert "Module: canny" in parse_infotext(result.infotexts[0])["ControlNet 0"]


def test_same_seed_same_pixels_other_seed_differs(manager) -> None:
    first = run(request(batch_size=2), manager)
    again = run(request(batch_size=2), manager)
    assert first.seeds == [7, 8]
    for a, b in zip(first.images, again.images, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(first.images[0]), pixels(first.images[1]))
    other = run(request(seed=8), manager)
    assert np.abs(pixels(other.images[0]) - pixels(first.images[1])).max() <= 2  # seed 8 alone ~ 2nd of batch


def test_explicit_seeds_and_infotexts(manager) -> None:
    result = run(request(batch_size=2, batch_count=2, seeds=[5, 1, 9, 3]), manager)
    assert result.seeds == [5, 1, 9, 3]
    params = [parse_infotext(text) for text in result.infotexts]
    assert [p["Seed"] for p in params] == ["5", "1", "9", "3"]
    assert params[0]["Prompt"] == "a snowy street"
    assert params[0]["Model"] == "tiny"
    assert params[0]["Sampler"] == "Euler"
    assert set(result.timings) >= {"load", "encode", "denoise", "decode", "total"}


def test_strength_changes_the_result(manager, photo) -> None:
    low = run(request(mode="img2img", init_images=[photo], denoising_strength=0.4, steps=4), manager)
    high = run(request(mode="img2img", init_images=[photo], denoising_strength=0.9, steps=4), manager)
    difference = np.abs(pixels(low.images[0]) - pixels(high.images[0])).mean()
    assert difference > 1


def test_img2img_with_too_few_steps_for_the_strength_runs_one_step(manager, photo) -> None:
    result = run(request(mode="img2img", init_images=[photo], denoising_strength=0.3, steps=2), manager)
    assert result.images[0].size == photo.size
    assert "Denoising strength: 0.3" in result.infotexts[0]


def test_progress_and_on_image(manager) -> None:
    seen: list[Progress] = []
    finished: list[tuple[int, str]] = []
    result = run(request(batch_size=1, batch_count=2), manager, on_progress=seen.append,
                 on_image=lambda index, image, infotext: finished.append((index, infotext)))
    steps = [p for p in seen if not p.message]
    assert [(p.batch_index, p.step, p.total_steps) for p in steps] == [(1, 1, 3), (1, 2, 3), (1, 3, 3),
                                                                       (2, 1, 3), (2, 2, 3), (2, 3, 3)]
    assert any("loading model tiny" in p.message for p in seen)
    assert steps[-1].images_total == 2 and steps[-1].eta_s is not None
    assert finished == [(0, result.infotexts[0]), (1, result.infotexts[1])]


def test_cancel_stops_within_a_step_and_keeps_finished_images(manager) -> None:
    cancel = threading.Event()
    seen: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        if progress.batch_index == 2 and progress.step == 1:
            cancel.set()

    result = run(request(steps=4, batch_count=3), manager, on_progress=on_progress, cancel=cancel)
    assert result.cancelled
    assert len(result.images) == 1 and result.seeds == [7]
    last = [p for p in seen if not p.message][-1]
    assert (last.batch_index, last.step) == (2, 1)  # never reached the last step of batch 2


def test_cancel_before_start_makes_nothing(manager) -> None:
    cancel = threading.Event()
    cancel.set()
    result = run(request(), manager, cancel=cancel)
    assert result.cancelled and result.images == []


def fake_out_of_memory(monkeypatch: pytest.MonkeyPatch, largest_batch_that_fits: int) -> list[int]:
    """Make the txt2img pipeline raise CUDA OOM for batches larger than the limit."""
    batches: list[int] = []
    real_call = StableDiffusionPipeline.__call__

    def call(self, *args, **kwargs):
        batch = len(kwargs["generator"])
        batches.append(batch)
        if batch > largest_batch_that_fits:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionPipeline, "__call__", call)
    return batches


def test_out_of_memory_batch_is_retried_at_half_size(manager, monkeypatch) -> None:
    expected = run(request(batch_size=4), manager)
    batches = fake_out_of_memory(monkeypatch, largest_batch_that_fits=1)
    messages: list[str] = []
    result = run(request(batch_size=4), manager, on_progress=lambda p: p.message and messages.append(p.message))
    assert batches == [4, 2, 1, 1, 1, 1]
    assert result.seeds == [7, 8, 9, 10]
    assert any("retrying with batch size 2" in m for m in messages)
    for a, b in zip(expected.images, result.images, strict=True):
        assert np.abs(pixels(a) - pixels(b)).max() <= 2


def test_out_of_memory_at_batch_size_one_is_a_friendly_error(manager, monkeypatch) -> None:
    fake_out_of_memory(monkeypatch, largest_batch_that_fits=0)
    with pytest.raises(OutOfMemoryError, match="ran out of memory.*smaller image size") as caught:
        run(request(), manager)
    assert isinstance(caught.value, ValueError)


def test_invalid_request_is_rejected_before_loading(manager) -> None:
    with pytest.raises(ValueError, match="steps must be from 1 to 150"):
        run(request(steps=0), manager)
    assert manager.source is None


def test_unknown_sampler_lists_the_known_ones(manager) -> None:
    with pytest.raises(ValueError, match="unknown sampler 'Eulr'; known samplers: DPM"):
        run(request(sampler="Eulr"), manager)


@pytest.mark.filterwarnings("ignore:Should have ta>=t0")  # torchsde's float rounding notice
@pytest.mark.parametrize("sampler", ["DPM++ 2M Karras", "Heun", "DPM++ SDE", "Euler a"])
def test_samplers_repeat_through_run(manager, sampler: str) -> None:
    first = run(request(sampler=sampler, steps=2), manager)
    again = run(request(sampler=sampler, steps=2), manager)
    assert np.array_equal(pixels(first.images[0]), pixels(again.images[0]))


def test_a_custom_encoder_plugs_in_without_changing_run(manager) -> None:
    """The hook contract: run asks the encoder for LoRAs and embeddings and enters its wrap()."""
    import contextlib

    from sdaug.engine.encoding import Conditioning

    calls: list[str] = []

    class CountingConditioning(Conditioning):
        @contextlib.contextmanager
        def wrap(self, pipe):
            handle = pipe.unet.register_forward_pre_hook(lambda module, args: calls.append("unet"))
            try:
                yield
            finally:
                handle.remove()

    class PlainEncoder:
        def loras(self, request, seeds):
            calls.append(f"loras {seeds}")
            return {}

        def encode(self, pipe, request, seeds):
            calls.append(f"encode {type(pipe.scheduler).__name__}")
            positive, negative = pipe.encode_prompt(["plain text"] * len(seeds), "cpu", 1, True, [""] * len(seeds))
            return CountingConditioning(positive, negative, ["as written"] * len(seeds), [""] * len(seeds),
                                        extra_params={"Encoder": "plain"}, warnings=["a note"])

    manager.encoder = PlainEncoder()
    result = run(request(steps=2, batch_size=2), manager)
    assert calls == ["loras [7, 8]", "encode EulerDiscreteScheduler", "unet", "unet"]
    params = parse_infotext(result.infotexts[1])
    assert params["Prompt"] == "as written" and params["Encoder"] == "plain" and params["Seed"] == "8"
    assert result.warnings == ["a note"]


def test_txt2img_ignores_input_images(manager, photo) -> None:
    plain = run(request(), manager)
    with_photo = run(request(init_images=[photo]), manager)
    assert np.array_equal(pixels(plain.images[0]), pixels(with_photo.images[0]))
