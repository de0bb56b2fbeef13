"""Single-file checkpoints: a file in the original Stable Diffusion layout (as model sites ship
them) written from the tiny pipeline, loaded back offline by name from ``<home>/models``.

The layout conversion below is the reverse of diffusers' ``convert_ldm_*_checkpoint`` for SD1.x
(written here for the test: diffusers only converts in the other direction).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.engine.tiny import tiny_pipeline
from sdaug.prompts import model_hash, parse_infotext

_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
           "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _rename(key: str, renames: dict[str, str]) -> str:
    for new, old in renames.items():
        key = key.replace(f".{new}.", f".{old}.")
    return key


def _unet_names(config: dict) -> dict[str, str]:
    """diffusers UNet (or ControlNet) key prefix -> LDM prefix (``model.diffusion_model.`` omitted)."""
    per_level = config["layers_per_block"] + 1
    names = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
             "mid_block.resnets.0": "middle_block.0", "mid_block.attentions.0": "middle_block.1",
             "mid_block.resnets.1": "middle_block.2"}
    levels = len(config["block_out_channels"])
    for level in range(levels):
        for j in range(config["layers_per_block"]):
            block = 1 + level * per_level + j
            names[f"down_blocks.{level}.resnets.{j}"] = f"input_blocks.{block}.0"
            names[f"down_blocks.{level}.attentions.{j}"] = f"input_blocks.{block}.1"
        names[f"down_blocks.{level}.downsamplers.0.conv"] = f"input_blocks.{(level + 1) * per_level}.0.op"
        if "up_block_types" not in config:  # a ControlNet: no decoder half
            continue
        has_attention = config["up_block_types"][level].startswith("CrossAttn")
        for j in range(per_level):
            names[f"up_blocks.{level}.resnets.{j}"] = f"output_blocks.{level * per_level + j}.0"
            names[f"up_blocks.{level}.attentions.{j}"] = f"output_blocks.{level * per_level + j}.1"
        last = level * per_level + per_level - 1
        names[f"up_blocks.{level}.upsamplers.0.conv"] = f"output_blocks.{last}.{2 if has_attention else 1}.conv"
    return names


def _vae_names(config: dict) -> dict[str, str]:
    levels = len(config["block_out_channels"])
    names = {"encoder.conv_norm_out": "encoder.norm_out", "decoder.conv_norm_out": "decoder.norm_out"}
    for part in ("encoder", "decoder"):
        names[f"{part}.mid_block.resnets.0"] = f"{part}.mid.block_1"
        names[f"{part}.mid_block.resnets.1"] = f"{part}.mid.block_2"
        names[f"{part}.mid_block.attentions.0"] = f"{part}.mid.attn_1"
    for level in range(levels):
        for j in range(config["layers_per_block"] + 1):
            names[f"encoder.down_blocks.{level}.resnets.{j}"] = f"encoder.down.{level}.block.{j}"
            names[f"decoder.up_blocks.{level}.resnets.{j}"] = f"decoder.up.{levels - 1 - level}.block.{j}"
        names[f"encoder.down_blocks.{level}.downsamplers.0.conv"] = f"encoder.down.{level}.downsample.conv"
        names[f"decoder.up_blocks.{level}.upsamplers.0.conv"] = f"decoder.up.{levels - 1 - level}.upsample.conv"
    return names


def _convert(state: dict[str, torch.Tensor], names: dict[str, str], resnet: dict[str, str],
             attention: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    out = {}
    for key, tensor in state.items():
        prefix = max((p for p in names if key.startswith(p + ".")), key=len, default=None)
        new = names[prefix] + key[len(prefix):] if prefix else key
        if ".resnets." in key:
            new = _rename(new, resnet)
        elif ".attentions." in key and attention:
            new = _rename(new, attention)
        out[new] = tensor
    return out


def write_original_checkpoint(pipe, path: Path) -> None:
    """Save ``pipe`` as one ``.safetensors`` file in the original SD (LDM) key layout."""
    checkpoint = {}
    unet = _convert(pipe.unet.state_dict(), _unet_names(dict(pipe.unet.config)), _RESNET)
    checkpoint.update({f"model.diffusion_model.{k}": v for k, v in unet.items()})
    vae = _convert(pipe.vae.state_dict(), _vae_names(dict(pipe.vae.config)), {"conv_shortcut": "nin_shortcut"},
                   _VAE_ATTENTION)
    for key, tensor in vae.items():
        is_attention_weight = ".attn_1." in key and key.endswith(".weight") and tensor.dim() == 2
        checkpoint[f"first_stage_model.{key}"] = tensor[:, :, None, None] if is_attention_weight else tensor
    for key, tensor in pipe.text_encoder.state_dict().items():
        key = key if key.startswith("text_model.") else f"text_model.{key}"
        checkpoint[f"cond_stage_model.transformer.{key}"] = tensor
    save_file({k: v.contiguous() for k, v in checkpoint.items()}, str(path))


def write_original_controlnet(controlnet, path: Path) -> None:
    """Save a ControlNet as one ``.safetensors`` file in the original layout (standalone keys)."""
    config = dict(controlnet.config)
    names = _unet_names(config)
    names["controlnet_cond_embedding.conv_in"] = "input_hint_block.0"
    names.update({f"controlnet_cond_embedding.blocks.{i}": f"input_hint_block.{2 * (i + 1)}"
                  for i in range(2 * (len(config["conditioning_embedding_out_channels"]) - 1))})
    names["controlnet_cond_embedding.conv_out"] = "input_hint_block.14"
    names.update({f"controlnet_down_blocks.{i}": f"zero_convs.{i}.0" for i in range(len(controlnet.controlnet_down_blocks))})
    names["controlnet_mid_block"] = "middle_block_out.0"
    state = _convert(controlnet.state_dict(), names, _RESNET)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))


def write_config_folder(pipe, folder: Path) -> None:
    """The pipeline's diffusers config (model_index, component configs, tokenizer), no weights."""
    pipe.save_pretrained(folder)
    for weights in folder.rglob("*.safetensors"):
        weights.unlink()


@pytest.fixture
def checkpoint(settings) -> Path:
    pipe = tiny_pipeline(seed=5)
    path = settings.models_dir / "tinyStreets_v1.safetensors"
    write_original_checkpoint(pipe, path)
    write_config_folder(pipe, settings.models_dir / "tinyStreets_v1.config")
    return path


def generate(manager, model: str) -> tuple[np.ndarray, str]:
    request = GenerationRequest(model=model, prompt="a street", steps=2, sampler="Euler", width=64, height=64, seed=1)
    result = run(request, manager)
    return np.asarray(result.images[0], dtype=np.int16), result.infotexts[0]


def test_single_file_checkpoint_loads_offline_by_name(manager, checkpoint, monkeypatch) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    image, infotext = generate(manager, "tinystreets_v1")  # the file stem, any case
    assert manager.source.kind == "single_file"
    params = parse_infotext(infotext)
    assert params["Model"] == "tinyStreets_v1"
    assert params["Model hash"] == model_hash(checkpoint)
    # Same weights as the pipeline it was written from, loaded as a diffusers folder.
    folder = checkpoint.parent.parent / "tiny-folder"
    tiny_pipeline(seed=5).save_pretrained(folder)
    reference, _ = generate(manager, str(folder))
    assert manager.source.kind == "folder"
    assert np.abs(image - reference).max() <= 1
    assert manager.local_models() == ["tinyStreets_v1"]


def test_model_hash_selects_the_checkpoint(manager, checkpoint) -> None:
    generate(manager, model_hash(checkpoint))
    assert manager.source.location == str(checkpoint.resolve())


def test_single_file_without_config_offline_says_how_to_fix(manager, checkpoint, monkeypatch) -> None:
    shutil.rmtree(checkpoint.with_name("tinyStreets_v1.config"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match="tinyStreets_v1.config next to it"):
        generate(manager, "tinyStreets_v1")


def test_config_folder_is_not_listed_as_a_model(settings, checkpoint) -> None:
    assert json.loads((checkpoint.with_name("tinyStreets_v1.config") / "model_index.json").read_text())
    from sdaug.engine.sources import local_models

    assert local_models(settings) == ["tinyStreets_v1"]


def test_single_file_controlnet_loads_offline(manager, settings, monkeypatch) -> None:
    from sdaug.engine.tiny import tiny_controlnet

    built = tiny_controlnet()
    write_original_controlnet(built, settings.controlnet_dir / "tiny_canny.safetensors")
    built.save_config(settings.controlnet_dir / "tiny_canny.config")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    loaded = manager.pipeline("controlnet", "tiny", controlnet="tiny_canny").controlnet
    for (name, a), b in zip(loaded.state_dict().items(), built.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_shipped_sd1_config_is_complete_offline() -> None:
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTokenizer

    from sdaug.engine.manager import CONFIGS_DIR

    folder = CONFIGS_DIR / "v1"
    assert StableDiffusionPipeline.load_config(folder)["unet"] == ["diffusers", "UNet2DConditionModel"]
    assert UNet2DConditionModel.load_config(folder, subfolder="unet")["cross_attention_dim"] == 768
    assert AutoencoderKL.load_config(folder, subfolder="vae")["scaling_factor"] == 0.18215
    assert PNDMScheduler.load_config(folder, subfolder="scheduler")["beta_schedule"] == "scaled_linear"
    assert CLIPTextConfig.from_pretrained(folder / "text_encoder").num_hidden_layers == 12
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    assert len(tokenizer) == 49408
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert ControlNetModel.load_config(CONFIGS_DIR / "controlnet-v1")["cross_attention_dim"] == 768


@pytest.mark.slow
def test_sd15_size_checkpoint_loads_offline_with_the_shipped_config(manager, settings, monkeypatch) -> None:
    """An SD1.5-size checkpoint (random weights, original layout, 2 GB) loads with no network."""
    from sdaug.bench.models import sd15_random_pipeline

    pipe = sd15_random_pipeline("cpu", torch.float16)
    write_original_checkpoint(pipe, settings.models_dir / "sd15.safetensors")
    expected = next(pipe.unet.parameters()).detach().float()
    del pipe
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    loaded = manager.pipeline("txt2img", "sd15")
    assert torch.equal(next(loaded.unet.parameters()).detach(), expected)
    assert loaded.tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
