"""The fast path on CPU: no-ops that report what they skip; compile and LoRA baking (CPU-testable
parts of the GPU path) keep outputs right and never recompile when a LoRA or ControlNet changes."""

from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

from sdaug.engine.fastpath import (
    apply_fast_path,
    apply_low_vram,
    bake_loras,
    compile_pipeline,
    restore_baked_weights,
    set_channels_last,
)
from sdaug.engine.tiny import tiny_controlnet, tiny_pipeline
from sdaug.settings import Settings


def _generate(pipe: StableDiffusionPipeline):
    return pipe("snow", num_inference_steps=2, height=64, width=64, output_type="np",
                generator=torch.Generator().manual_seed(0)).images


def _unet_inputs(pipe: StableDiffusionPipeline) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    latents = torch.randn(2, 4, 8, 8, generator=generator)
    text = torch.randn(2, 77, pipe.unet.config.cross_attention_dim, generator=generator)
    return latents, torch.tensor(500), text


def _lora_file(folder: Path, seed: int) -> Path:
    """A random LoRA for the tiny UNet, saved the way diffusers saves trained LoRAs."""
    unet = tiny_pipeline().unet
    torch.manual_seed(seed)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=get_peft_model_state_dict(unet),
                                              weight_name=f"lora{seed}.safetensors")
    return folder / f"lora{seed}.safetensors"


@pytest.fixture(scope="module")
def lora_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("loras")
    return [_lora_file(folder, 1), _lora_file(folder, 2)]


def test_fast_path_on_cpu_changes_nothing_and_says_what_it_skipped() -> None:
    pipe = tiny_pipeline()
    before = _generate(pipe)
    processors = {k: type(v) for k, v in pipe.unet.attn_processors.items()}
    notes = apply_fast_path(pipe, Settings(compile=True, vae_tiling=True), "cpu")
    assert notes and all(line.startswith("skipped: ") for line in notes)
    assert any("torch.compile" in line for line in notes) and any("VAE tiling" in line for line in notes)
    assert pipe.dtype == torch.float32
    assert {k: type(v) for k, v in pipe.unet.attn_processors.items()} == processors
    assert pipe.unet._compiled_call_impl is None
    assert not pipe.vae.use_tiling
    assert (_generate(pipe) == before).all()


def test_low_vram_on_cpu_changes_nothing() -> None:
    pipe = tiny_pipeline()
    notes = apply_low_vram(pipe, "cpu")
    assert [line.split(" (")[0] for line in notes] == [
        "skipped: model CPU offload", "skipped: VAE tiling", "skipped: VAE slicing"]
    assert not pipe.vae.use_tiling and not pipe.vae.use_slicing
    assert not getattr(pipe, "_all_hooks", [])


def test_channels_last_keeps_the_image() -> None:
    pipe = tiny_pipeline()
    before = _generate(pipe)
    pipe.controlnet = tiny_controlnet()
    assert set_channels_last(pipe) == ["channels-last: unet, vae, controlnet"]
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    del pipe.controlnet
    assert abs(_generate(pipe) - before).max() < 1e-4


def test_baked_lora_matches_the_adapter_and_restores_exactly(lora_files: list[Path]) -> None:
    latents, t, text = _unet_inputs(tiny_pipeline())
    with_adapter = tiny_pipeline()
    with_adapter.load_lora_weights(str(lora_files[0].parent), weight_name=lora_files[0].name, adapter_name="a")
    with_adapter.set_adapters(["a"], adapter_weights=[0.7])
    expected = with_adapter.unet(latents, t, text).sample

    pipe = tiny_pipeline()
    base_weights = [p.detach().clone() for p in pipe.unet.parameters()]
    base = pipe.unet(latents, t, text).sample
    assert bake_loras(pipe, [(lora_files[0], 0.7)]) == ["LoRA baked: lora1 x0.7"]
    assert not any("lora" in name for name, _ in pipe.unet.named_parameters())
    baked = pipe.unet(latents, t, text).sample
    assert (baked - base).abs().max() > 1e-3
    assert torch.allclose(baked, expected, atol=1e-5)

    assert bake_loras(pipe, []) == ["LoRA: none"]
    assert all(torch.equal(a, b) for a, b in zip(pipe.unet.parameters(), base_weights, strict=True))
    restore_baked_weights(pipe)  # nothing baked: a no-op


def test_bake_loras_rejects_a_missing_file_and_keeps_the_weights(tmp_path: Path, lora_files: list[Path]) -> None:
    pipe = tiny_pipeline()
    bake_loras(pipe, [(lora_files[0], 1.0)])
    baked = [p.detach().clone() for p in pipe.unet.parameters()]
    with pytest.raises(ValueError, match="LoRA file not found"):
        bake_loras(pipe, [(tmp_path / "missing.safetensors", 1.0)])
    with pytest.raises(ValueError, match="LoRA weight must be a number"):
        bake_loras(pipe, [(lora_files[0], "strong")])
    assert all(torch.equal(a, b) for a, b in zip(pipe.unet.parameters(), baked, strict=True))


def test_compiled_unet_does_not_recompile_when_lora_or_controlnet_changes(lora_files: list[Path]) -> None:
    torch._dynamo.reset()
    graphs: list[torch.fx.GraphModule] = []

    def counting_backend(gm: torch.fx.GraphModule, example_inputs: list[torch.Tensor]):
        graphs.append(gm)
        return gm.forward

    pipe = tiny_pipeline()
    notes = compile_pipeline(pipe, backend=counting_backend, fullgraph=False, dynamic=False)
    assert notes == ["torch.compile: UNet, VAE decoder (fullgraph=False, dynamic=False)"]
    compile_pipeline(pipe, backend=counting_backend)  # already compiled: nothing happens
    latents, t, text = _unet_inputs(pipe)
    eager = tiny_pipeline().unet(latents, t, text).sample
    assert torch.allclose(pipe.unet(latents, t, text).sample, eager, atol=1e-5)
    compiled_once = len(graphs)
    assert compiled_once > 0

    for loras in ([(lora_files[0], 1.0)], [(lora_files[1], 0.5)], [(lora_files[0], 0.3), (lora_files[1], 1.0)], []):
        bake_loras(pipe, loras)
        pipe.unet(latents, t, text)
    assert torch.allclose(pipe.unet(latents, t, text).sample, eager, atol=1e-5)
    assert len(graphs) == compiled_once

    cond = torch.rand(2, 3, 64, 64)
    for seed in (0, 1):
        down, mid = tiny_controlnet(seed)(latents, t, text, controlnet_cond=cond, return_dict=False)
        pipe.unet(latents, t, text, down_block_additional_residuals=down, mid_block_additional_residual=mid)
        if seed == 0:
            with_controlnet = len(graphs)
    assert len(graphs) == with_controlnet
    torch._dynamo.reset()
