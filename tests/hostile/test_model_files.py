"""Broken model and LoRA files (issue 11 item 4): random bytes, 3 bytes, a huge header length,
a pickle renamed ``.safetensors`` and a LoRA of the wrong shapes each become one line naming the
file; the engine keeps working afterwards. In-process (torch loads once for the module)."""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from sdaug.cli import main
from sdaug.engine.errors import BadModelFileError
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.engine.sources import read_safetensors_header

BROKEN = {
    "random": (lambda: os.urandom(4096), "its header claims"),
    "three_bytes": (lambda: b"abc", "only 3 bytes long"),
    "huge_header": (lambda: struct.pack("<Q", 2**62) + b"{}", "its header claims 4611686018427387904 bytes"),
    "not_json": (lambda: struct.pack("<Q", 4) + b"\xff\xfe\x00\x00", "its header is not JSON"),
    "pickle": (lambda: pickle.dumps({"state_dict": {}}), "it holds pickled PyTorch data, not safetensors"),
}


@pytest.fixture
def torch_zip(tmp_path):
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)  # a real .ckpt: a zip starting with PK
    return path.read_bytes()


@pytest.mark.parametrize("case", BROKEN)
def test_broken_safetensors_header(tmp_path, case):
    make, reason = BROKEN[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(make())
    with pytest.raises(BadModelFileError, match=reason):
        read_safetensors_header(path)


def _generate(tmp_path, capsys, *args: str) -> tuple[int, str]:
    code = main(["generate", "--home", str(tmp_path / "home"), "--steps", "2", "--width", "64", "--height", "64",
                 "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_checkpoint_renamed_from_a_pickle_is_one_line(tmp_path, capsys, torch_zip, unchanged):
    path = tmp_path / "realistic.safetensors"
    path.write_bytes(torch_zip)
    with unchanged(tmp_path):
        code, err = _generate(tmp_path, capsys, "--model", str(path), "--prompt", "a street")
    assert code == 1
    assert err.strip() == ("sdaug: error: realistic.safetensors is not a valid .safetensors file (it holds pickled "
                           "PyTorch data, not safetensors). It is damaged, cut short, or another kind of file renamed "
                           "(a pickled .ckpt?). Download it again.")


def _plain(manager, prompt: str = "a street") -> np.ndarray:
    request = GenerationRequest(prompt=prompt, model="tiny", steps=2, width=64, height=64, seed=3)
    return np.asarray(run(request, manager).images[0])


@pytest.mark.parametrize("case", ["random", "wrong_shapes"])
def test_broken_lora_is_refused_and_the_engine_keeps_working(settings, manager, case):
    if case == "random":
        (settings.loras_dir / "bad.safetensors").write_bytes(os.urandom(2048))
        expected = r"^bad.safetensors is not a valid .safetensors file \(its header claims"
    else:  # the tiny UNet's attention is 32 wide: a LoRA made for a 999-wide one
        key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
        save_file({f"{key}.lora_down.weight": torch.ones(4, 999), f"{key}.lora_up.weight": torch.ones(32, 4),
                   f"{key}.alpha": torch.tensor(4.0)}, str(settings.loras_dir / "bad.safetensors"))
        expected = r"^LoRA bad does not fit this model \("
    before = _plain(manager)
    with pytest.raises(BadModelFileError, match=expected) as caught:
        _plain(manager, "a street <lora:bad:1>")
    assert "\n" not in str(caught.value)
    assert np.array_equal(_plain(manager), before)  # no half-loaded adapter left behind
