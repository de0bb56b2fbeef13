"""The app through its API, as gradio_client sees it: the server runs ``python app.py --model tiny``
(see conftest.py). Images are 64x64 or smaller with 2-4 steps, so every call takes about a second."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from safetensors.numpy import save_file

from sdaug.prompts import lora_hash, parse_infotext, read_infotext

# txt2img inputs: prompt, negative, steps, sampler, schedule, cfg, seed, width, height, batch size, count, clip skip,
# RNG source ("" = automatic), A1111 compatibility flags
TXT2IMG = ("a garbage bin", "blurry", 2, "Euler", "Automatic", 7.0, 42, 64, 64, 1, 2, 1, "", [])


@pytest.fixture(scope="module")
def client(app_server) -> Client:
    return Client(app_server.url, verbose=False, headers={"Cookie": "sdaug_lang=en"})


@pytest.fixture(scope="module")
def client_zh(app_server) -> Client:
    return Client(app_server.url, verbose=False, headers={"Cookie": "sdaug_lang=zh-CN"})


@pytest.fixture
def photo(tmp_path: Path) -> dict:
    """A 72x56 photo (not a multiple of 64) as a gallery item."""
    path = tmp_path / "street.png"
    Image.new("RGB", (72, 56), (90, 120, 160)).save(path)
    return {"image": handle_file(str(path)), "caption": None}


def variant_inputs(photos: list[dict], prompt: str = "rain", variants: int = 1) -> tuple:
    # photos, prompt, negative, strength, steps, sampler, schedule, cfg, seed, variants, clip skip
    return (photos, prompt, "", 0.5, 4, "Euler", "Automatic", 7.0, 7, variants, 1)


# Protect the labelled boxes: off, strength inside the boxes, soft edge, project (after a tab's own inputs).
REGION_OFF = (False, 0.1, 32, None)


def test_txt2img_returns_pngs_with_their_parameters(client: Client, app_server) -> None:
    gallery, status, info = client.predict(*TXT2IMG, api_name="/txt2img")

    assert [item["caption"] for item in gallery] == ["seed 42", "seed 43"]
    for item, seed in zip(gallery, (42, 43), strict=True):
        with Image.open(item["image"]) as image:
            assert image.format == "PNG" and image.size == (64, 64)
        params = parse_infotext(read_infotext(item["image"]))
        assert params["Prompt"] == "a garbage bin" and params["Negative prompt"] == "blurry"
        assert (params["Steps"], params["Seed"], params["Size"], params["Model"]) == ("2", str(seed), "64x64", "tiny")
    assert status.startswith("2 image(s)")
    assert info.startswith("a garbage bin\nNegative prompt: blurry\nSteps: 2")
    saved = sorted((app_server.home / "outputs" / "generate").rglob("*.png"))
    assert len(saved) >= 2 and read_infotext(saved[0])


def test_weather_img2img_keeps_the_photo_size(client: Client, photo: dict) -> None:
    gallery, status, info, compare = client.predict(*variant_inputs([photo], variants=2), *REGION_OFF, api_name="/weather")

    assert len(gallery) == 2
    for item in gallery:
        with Image.open(item["image"]) as image:
            assert image.size == (72, 56)
    params = parse_infotext(info)
    assert (params["Prompt"], params["Denoising strength"], params["Size"]) == ("rain", "0.5", "72x56")
    before, after = compare
    with Image.open(before) as image:
        assert image.size == (72, 56)
    assert Path(after).name == Path(gallery[0]["image"]).name


def test_lighting_controlnet_shows_the_control_image(client: Client, photo: dict) -> None:
    gallery, status, info, compare, control = client.predict(*variant_inputs([photo], prompt="dusk"), "canny", 0.8,
                                                             *REGION_OFF, api_name="/lighting")

    assert len(gallery) == 1
    assert "ControlNet 0" in parse_infotext(info)
    with Image.open(control) as image:
        assert image.size == (72, 56)
    preview = client.predict([photo], "canny", api_name="/control_preview")
    with Image.open(preview) as image:
        assert image.size == (72, 56)


def test_pnginfo_fills_the_fields_of_each_tab(client: Client) -> None:
    gallery, _, _ = client.predict(*TXT2IMG, api_name="/txt2img")
    text, params, note = client.predict(handle_file(gallery[1]["image"]), api_name="/pnginfo")
    assert params["Seed"] == "43" and params["Prompt"] == "a garbage bin"

    # Generate: prompt, negative, steps, sampler, schedule, cfg, seed, clip skip, width, height, RNG source,
    # compatibility flags, quality, size.
    values = client.predict(text, api_name="/send_to_generate")
    assert values[:7] == ("a garbage bin", "blurry", 2, "Euler", "Automatic", 7.0, 43)
    assert values[8:14] == (64, 64, "CPU", [], "custom", "custom")  # made on a CPU: RNG: CPU
    assert "Generate" in values[-1]

    lighting = "dusk\nSteps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 5, Size: 64x64, Denoising strength: 0.4, " \
               'ControlNet 0: "Module: canny, Model: x, Weight: 0.7", Model: tiny'
    values = client.predict(lighting, api_name="/send_to_lighting")
    assert values[:4] == ("dusk", 0.4, "", 30)
    assert (values[4], values[5]) == ("DPM++ 2M", "Karras")
    assert "canny" in values and 0.7 in values and "quality" in values


def test_compatibility_flags_and_rng_are_set_written_and_shown(client: Client) -> None:
    """Issue 13 items 1 and 7 through the app: set in Generate's Advanced settings, written with the
    image, shown by PNG Info, and set again from an A1111 v1.6 infotext."""
    fields = (*TXT2IMG[:10], 1, 1, "NV", ["Downcast alphas_cumprod"])
    gallery, _, info = client.predict(*fields, api_name="/txt2img")
    text, params, note = client.predict(handle_file(gallery[0]["image"]), api_name="/pnginfo")
    assert (params["RNG"], params["Downcast alphas_cumprod"]) == ("NV", "True")
    assert "compatibility options are on: Downcast alphas_cumprod" in note

    a1111 = "a bin\nSteps: 3, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 64x64, Version: v1.6.0-2-g4afaaf8a"
    values = client.predict(a1111, api_name="/send_to_generate")
    assert values[10:12] == ("GPU", ["Downcast alphas_cumprod"])  # no RNG key: A1111's default, GPU
    assert "Downcast alphas_cumprod" in values[-1]


def test_send_to_matches_loras_and_notes_what_is_missing(client: Client, app_server) -> None:
    lora = app_server.home / "loras" / "snow_local_copy.safetensors"
    lora.parent.mkdir(parents=True, exist_ok=True)
    save_file({"lora.down.weight": np.ones((2, 4), dtype=np.float32)}, str(lora))
    try:
        text = (f"snow <lora:snowfall:0.8>\nSteps: 3, Seed: 9, Model: notHereV1, "
                f'Lora hashes: "snowfall: {lora_hash(lora)}, gone: 0123456789ab"')
        values = client.predict(text, api_name="/send_to_generate")
    finally:
        lora.unlink()
    assert values[0] == "snow <lora:snow_local_copy:0.8>"  # found by its hash under another name
    note = values[-1]
    assert "Generate" in note and "snow_local_copy.safetensors" in note
    assert "'notHereV1'" in note and "using the model tiny" in note  # the selected model is kept
    assert "'gone'" in note and "is not there" in note


def test_pnginfo_on_an_image_without_parameters(client_zh: Client, tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(path)
    assert client_zh.predict(handle_file(str(path)), api_name="/pnginfo") == ("", {}, "这张图片不含生成参数。")


def test_invalid_requests_give_readable_messages(client: Client, client_zh: Client, photo: dict) -> None:
    with pytest.raises(AppError, match="Add at least one input photo"):
        client.predict(*variant_inputs([]), *REGION_OFF, api_name="/weather")
    with pytest.raises(AppError, match="请先添加至少一张输入照片"):
        client_zh.predict(*variant_inputs([]), *REGION_OFF, api_name="/weather")
    with pytest.raises(AppError, match="less than minimum value 1"):
        client.predict(*TXT2IMG[:2], 0, *TXT2IMG[3:], api_name="/txt2img")
    # A core refusal (a LoRA weight that is not a number) in Chinese, not English after "出错了：".
    with pytest.raises(AppError, match="<lora:snow:abc>：权重 'abc' 不是数字"):
        client_zh.predict("<lora:snow:abc>", *TXT2IMG[1:], api_name="/txt2img")
    # The server keeps serving.
    assert len(client.predict(*TXT2IMG, api_name="/txt2img")[0]) == 2


def test_a_missing_lora_warns_and_the_images_are_made(client: Client, client_zh: Client) -> None:
    """Issue 14 item 7: like A1111, a LoRA that is not there is a note in the result, not an error."""
    gallery, status, _ = client.predict("a bin <lora:nosuchlora:1>", *TXT2IMG[1:], api_name="/txt2img")
    assert len(gallery) == 2
    assert "Note: LoRA 'nosuchlora' is not in" in status and "going on without it" in status
    _, status_zh, _ = client_zh.predict("a bin <lora:nosuchlora:1>", *TXT2IMG[1:], api_name="/txt2img")
    assert "注意：LoRA 'nosuchlora' 不在" in status_zh


def test_stop_keeps_the_images_already_finished(client: Client) -> None:
    job = client.submit("stop me", "", 4, "Euler", "Automatic", 7.0, 1, 64, 64, 1, 40, 1, "", [], api_name="/txt2img")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and images_done(job) < 2:
        time.sleep(0.05)
    client.predict(api_name="/stop")
    gallery, status, _ = job.result(timeout=60)

    assert 2 <= len(gallery) < 40
    assert status.startswith(f"Stopped: kept the {len(gallery)} image(s)")


def images_done(job) -> int:
    """How many images the run has finished, from its progress line ("3/40 images done · ...")."""
    progress = job.status().progress_data
    match = re.search(r"(\d+)/\d+ images done", (progress[0].desc or "") if progress else "")
    return int(match.group(1)) if match else 0


def test_only_outputs_are_served(app_server, client: Client) -> None:
    client.predict(*TXT2IMG, api_name="/txt2img")
    secret = app_server.home / "models" / "secret.txt"
    secret.write_text("not for the web")
    output = next((app_server.home / "outputs").rglob("*.png"))
    base = app_server.url + "gradio_api/file="

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + str(secret))
    assert refused.value.code == 403
    assert urllib.request.urlopen(base + str(output)).status == 200
