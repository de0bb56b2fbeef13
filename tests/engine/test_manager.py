"""PipelineManager: shared weights, model sources, LoRA files, pickles, missing models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

from sdaug.engine.errors import ModelNotFoundError, UnsafeCheckpointError
from sdaug.engine.manager import PipelineManager
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.engine.tiny import tiny_pipeline
from sdaug.prompts import lora_hash, parse_infotext


def generate(manager: PipelineManager, prompt: str = "a street", **fields: object) -> np.ndarray:
    values: dict[str, object] = {"model": "tiny", "prompt": prompt, "steps": 2, "sampler": "Euler", "width": 64,
                                 "height": 64, "seed": 3}
    values.update(fields)
    result = run(GenerationRequest(**values), manager)  # type: ignore[arg-type]
    generate.infotext = result.infotexts[0]  # type: ignore[attr-defined]
    return np.asarray(result.images[0], dtype=np.int16)


def write_kohya_lora(path: Path, seed: int) -> None:
    """A random LoRA for the tiny UNet in kohya's key layout (``lora_unet_..._to_q.lora_down``)."""
    from diffusers.utils import convert_state_dict_to_kohya

    unet = tiny_pipeline().unet
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                    target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    kohya = convert_state_dict_to_kohya(get_peft_model_state_dict(unet))
    save_file({f"lora_unet_{key}": value.contiguous() for key, value in kohya.items()}, str(path))


def test_derived_pipelines_share_every_weight(manager) -> None:
    base = manager.pipeline("txt2img", "tiny")
    img2img = manager.pipeline("img2img", "tiny")
    control = manager.pipeline("controlnet", "tiny", controlnet="tiny")
    control_img2img = manager.pipeline("img2img", "tiny", controlnet="tiny")
    for pipe in (img2img, control, control_img2img):
        assert pipe.unet is base.unet and pipe.vae is base.vae and pipe.text_encoder is base.text_encoder
    assert control.controlnet is control_img2img.controlnet
    assert type(control_img2img).__name__ == "StableDiffusionControlNetImg2ImgPipeline"
    assert manager.pipeline("img2img", "tiny") is img2img  # cached


def test_kohya_lora_changes_the_output_and_is_removed_afterwards(manager, settings) -> None:
    write_kohya_lora(settings.loras_dir / "snow-fall.v1.safetensors", seed=4)
    plain = generate(manager)
    with_lora = generate(manager, "a street <lora:snow-fall.v1:1>")
    assert np.abs(with_lora - plain).mean() > 1
    lora_file = settings.loras_dir / "snow-fall.v1.safetensors"
    assert parse_infotext(generate.infotext)["Lora hashes"] == f"snow-fall.v1: {lora_hash(lora_file)}"
    half = generate(manager, "a street <lora:snow-fall.v1:0.5>")
    assert 0 < np.abs(half - plain).mean() < np.abs(with_lora - plain).mean()
    assert np.array_equal(generate(manager), plain)  # no LoRA in the prompt: the plain model again
    assert manager.local_loras() == ["snow-fall.v1"]


def test_loras_by_name_or_path_through_the_manager(manager, settings) -> None:
    path = settings.loras_dir / "rain.safetensors"
    write_kohya_lora(path, seed=5)
    by_name = manager.pipeline("txt2img", "tiny", loras={"rain": 0.7})
    assert by_name.get_active_adapters() == ["rain"]
    by_path = manager.pipeline("txt2img", "tiny", loras={path: 0.7})
    assert by_path.get_list_adapters() == {"unet": ["rain"]}  # the same file is loaded once
    with pytest.raises(ValueError, match="LoRA 'nosuch' not found in .*put nosuch.safetensors there.*rain"):
        manager.pipeline("txt2img", "tiny", loras={"nosuch": 1.0})


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin"])
def test_pickled_checkpoints_are_refused(manager, settings, suffix: str) -> None:
    (settings.models_dir / f"old{suffix}").write_bytes(b"not loaded")
    for name in ("old", str(settings.models_dir / f"old{suffix}")):
        with pytest.raises(ValueError, match=r"pickled checkpoint.*can run any code.*--allow-pickle"):
            manager.pipeline("txt2img", name)
    assert manager.source is None


def test_pickled_lora_is_refused(manager, settings) -> None:
    (settings.loras_dir / "old.pt").write_bytes(b"not loaded")
    with pytest.raises(ValueError, match="pickled checkpoint"):
        generate(manager, "a street <lora:old:1>")


def test_diffusers_folder_loads_and_pickle_only_folder_is_refused(manager, settings) -> None:
    folder = settings.models_dir / "streets"
    tiny_pipeline().save_pretrained(folder)
    unet = manager.pipeline("txt2img", "streets").unet
    assert manager.source.kind == "folder" and manager.source.name == "streets"
    for loaded, built in zip(unet.parameters(), tiny_pipeline().unet.parameters(), strict=True):
        assert torch.equal(loaded, built)

    pickled = settings.models_dir / "pickled"
    tiny_pipeline().save_pretrained(pickled, safe_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match="pickled checkpoint \\(only .bin pickled weights\\)"):
        manager.pipeline("txt2img", str(pickled))


def test_hub_model_neither_cached_nor_downloadable_says_how_to_get_it(manager, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(ModelNotFoundError, match=r"'sdaug-test/no-such-model'.*hf download sdaug-test/no-such-model"
                                                 r".*HF_ENDPOINT.*\.safetensors"):
        manager.pipeline("txt2img", "sdaug-test/no-such-model")


def test_unknown_name_lists_local_models(manager, settings) -> None:
    (settings.models_dir / "realistic.safetensors").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match=r"model 'nothing' not found.*found there: realistic"):
        manager.pipeline("txt2img", "nothing")
    assert manager.local_models() == ["realistic"]


def test_memory_report_and_device(manager) -> None:
    assert manager.device == "cpu" and manager.dtype == torch.float32
    assert manager.memory_report().startswith("device cpu, float32, memory mode full")
    manager.pipeline("txt2img", "tiny")
    assert manager.memory_report().endswith("model tiny")
    manager.unload()
    assert manager.source is None and manager.memory_report().endswith("model none")


def test_mode_checks(manager) -> None:
    with pytest.raises(ValueError, match="mode must be one of txt2img, img2img, controlnet"):
        manager.pipeline("inpaint", "tiny")
    with pytest.raises(ValueError, match="needs a ControlNet model"):
        manager.pipeline("controlnet", "tiny")


def test_hub_download_failure_says_how_to_get_it(manager, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    messages: list[str] = []
    with pytest.raises(ModelNotFoundError, match=r"could not be downloaded.*hf download sdaug-test/no-such-model"):
        manager.pipeline("txt2img", "sdaug-test/no-such-model", on_status=messages.append)
    assert messages == ["loading model sdaug-test/no-such-model …", "downloading sdaug-test/no-such-model …"]
