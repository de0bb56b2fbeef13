"""Model, ControlNet and LoRA names -> sources (no torch)."""

from __future__ import annotations

import json
import struct

import pytest

from sdaug.engine.errors import ModelNotFoundError
from sdaug.engine.sources import (
    ModelSource,
    default_controlnet,
    find_lora,
    local_models,
    resolve_controlnet,
    resolve_model,
    single_file_config,
)


def safetensors_header(path, tensors: dict[str, list[int]]) -> None:
    header = json.dumps({k: {"dtype": "F16", "shape": s, "data_offsets": [0, 0]} for k, s in tensors.items()})
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode())


def test_names_resolve_in_order(settings, tmp_path) -> None:
    assert resolve_model("tiny", settings) == ModelSource("tiny", "tiny", "tiny")
    assert resolve_model("", settings) == ModelSource("hub", settings.default_model, settings.default_model)
    (settings.models_dir / "Real.safetensors").write_bytes(b"x")
    found = resolve_model("real", settings)
    assert found.kind == "single_file" and found.name == "Real"
    assert resolve_model("Real.safetensors", settings) == found
    assert resolve_model(str(settings.models_dir / "Real.safetensors"), settings) == found
    folder = tmp_path / "streets"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    assert resolve_model(str(folder), settings) == ModelSource("folder", str(folder), "streets")
    assert resolve_model("owner/model-v1.5", settings).kind == "hub"


def test_bad_names_say_what_to_do(settings, tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="not a Hugging Face id like 'owner/name'"):
        resolve_model("no such model", settings)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="use a .safetensors checkpoint"):
        resolve_model(str(tmp_path / "notes.txt"), settings)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="has no model_index.json"):
        resolve_model(str(empty), settings)


def test_pickles_only_with_allow_pickle(settings) -> None:
    (settings.models_dir / "old.ckpt").write_bytes(b"x")
    with pytest.raises(ValueError, match="pickled checkpoint"):
        resolve_model("old", settings)
    settings.allow_pickle = True
    assert resolve_model("old", settings).is_pickle


def test_controlnets_and_defaults(settings) -> None:
    assert resolve_controlnet("tiny", settings).kind == "tiny"
    (settings.controlnet_dir / "canny_sd15.safetensors").write_bytes(b"x")
    assert resolve_controlnet("canny_sd15", settings).kind == "single_file"
    assert default_controlnet("canny", resolve_model("tiny", settings)) == "tiny"
    sd15 = resolve_model("", settings)
    assert default_controlnet("depth", sd15) == "lllyasviel/control_v11f1p_sd15_depth"
    with pytest.raises(ValueError, match="control type 'none' has no default ControlNet model"):
        default_controlnet("none", sd15)


def test_find_lora_by_stem_in_any_case(settings) -> None:
    (settings.loras_dir / "styles").mkdir()
    (settings.loras_dir / "styles" / "SnowFall.safetensors").write_bytes(b"x")
    assert find_lora("snowfall", settings).name == "SnowFall.safetensors"
    with pytest.raises(ValueError, match=r"LoRA 'rain' not found .*LoRAs found: SnowFall"):
        find_lora("rain", settings)


def test_single_file_config_sidecar_then_shipped_sd1(settings, tmp_path) -> None:
    checkpoint = settings.models_dir / "model.safetensors"
    safetensors_header(checkpoint, {
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": [320, 768],
        "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3]})
    shipped = tmp_path / "shipped"
    assert single_file_config(checkpoint, shipped) is None
    (shipped / "v1").mkdir(parents=True)
    (shipped / "v1" / "model_index.json").write_text("{}")
    assert single_file_config(checkpoint, shipped) == str(shipped / "v1")
    sidecar = settings.models_dir / "model.config"
    sidecar.mkdir()
    (sidecar / "model_index.json").write_text("{}")
    assert single_file_config(checkpoint, shipped) == str(sidecar)
    assert local_models(settings) == ["model"]
