"""Prompt schedules, alternation and AND during sampling, with the tiny pipeline on the CPU.

Each test records the embeddings every UNet call receives and names them by comparing with the
encoding of each candidate text.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import (
    StableDiffusionControlNetPipeline,
    StableDiffusionImg2ImgPipeline,
)
from PIL import Image

from sdaug.engine.conditioning import (
    apply_conditioning,
    encode_conditioning,
    plan_prompts,
)
from sdaug.engine.samplers import make_scheduler
from sdaug.engine.tiny import tiny_controlnet

SIZE = 32  # pixels: 4x4 latents keep the tests fast


def generate(pipe, encoder, prompt, *, negative="", steps=4, sampler="Euler", seeds=(0,), cfg=7.0,
             strength=None, **call):
    """Run ``pipe`` with our conditioning; return (images as arrays, embeddings of each UNet call)."""
    pipe.scheduler = make_scheduler(sampler, "Automatic", pipe.scheduler.config)
    plans = plan_prompts(prompt, negative, seeds)
    conditioning = encode_conditioning(encoder, plans, steps, sampler, denoising_strength=strength,
                                       scheduler_order=pipe.scheduler.order)
    seen: list[torch.Tensor] = []
    if strength is not None:
        call["strength"] = strength
        call.setdefault("image", Image.new("RGB", (SIZE, SIZE), (120, 130, 140)))
    else:
        call.update(height=SIZE, width=SIZE)
    with apply_conditioning(pipe, conditioning) as (prompt_embeds, negative_embeds):
        handle = pipe.unet.register_forward_pre_hook(
            lambda module, args, kwargs: seen.append(kwargs["encoder_hidden_states"].clone()), with_kwargs=True)
        try:
            images = pipe(prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_embeds,
                          num_inference_steps=steps, guidance_scale=cfg, output_type="np",
                          generator=[torch.Generator().manual_seed(s) for s in seeds], **call).images
        finally:
            handle.remove()
    return images, seen


def names(encoder, seen, row, candidates):
    """Which candidate text each recorded call gave batch row ``row``."""
    encoded = {text: encoder.encode(text) for text in candidates}
    result = []
    for hidden in seen:
        matches = [text for text, e in encoded.items()
                   if hidden.shape[1] >= e.shape[1] and torch.equal(hidden[row : row + 1, : e.shape[1]], e)]
        result.append(matches[0] if len(matches) == 1 else "?")
    return result


# Prompt editing ---------------------------------------------------------------------------------
def test_prompt_editing_switches_at_the_expected_step(pipe, encoder):
    _, seen = generate(pipe, encoder, "[street:snow:0.5]", steps=10)
    # Schedule [(5, street), (10, snow)]; the counter runs 0..9 and uses the first end >= it.
    assert names(encoder, seen, 1, ["street", "snow"]) == ["street"] * 6 + ["snow"] * 4


def test_absolute_step_and_nested_edits(pipe, encoder):
    _, seen = generate(pipe, encoder, "[street:[rain:snow:6]:2]", steps=8)
    assert names(encoder, seen, 1, ["street", "rain", "snow"]) == ["street"] * 3 + ["rain"] * 4 + ["snow"]


def test_alternation_switches_every_step(pipe, encoder):
    _, seen = generate(pipe, encoder, "[street|snow]", steps=6)
    # Entries (1, street), (2, snow), (3, street)...: counter 0 and 1 both use the first one.
    assert names(encoder, seen, 1, ["street", "snow"]) == ["street", "street", "snow", "street", "snow", "street"]


def test_negative_prompt_is_scheduled_too(pipe, encoder):
    _, seen = generate(pipe, encoder, "street", negative="[rain::2]", steps=4)
    assert names(encoder, seen, 0, ["rain", ""]) == ["rain"] * 3 + [""]


def test_two_call_sampler_counts_doubled_steps(pipe, encoder):
    # Heun: schedule on 2 x 4 = 8 steps -> [(4, street), (8, snow)]; diffusers makes 7 calls.
    _, seen = generate(pipe, encoder, "[street:snow:0.5]", steps=4, sampler="Heun")
    assert names(encoder, seen, 1, ["street", "snow"]) == ["street"] * 5 + ["snow"] * 2


def test_one_call_solver_of_a_two_call_sampler_advances_the_counter_by_two(pipe, encoder):
    # DPM++ 2S a: A1111 counts 2 calls per step; diffusers' single-step solver calls once per step.
    _, seen = generate(pipe, encoder, "[street:snow:0.5]", steps=4, sampler="DPM++ 2S a")
    assert names(encoder, seen, 1, ["street", "snow"]) == ["street"] * 3 + ["snow"]  # counters 0, 2, 4, 6


def test_img2img_counter_starts_at_the_first_step_run(pipe, encoder):
    img2img = StableDiffusionImg2ImgPipeline.from_pipe(pipe)
    _, seen = generate(img2img, encoder, "[street:snow:5]", steps=10, strength=0.5)
    # Steps 5..9 run; the schedule is on all 10 steps, so only step 5 still uses "street".
    assert names(encoder, seen, 1, ["street", "snow"]) == ["street"] + ["snow"] * 4


def test_static_prompt_installs_no_hook(pipe, encoder):
    _, seen = generate(pipe, encoder, "street", steps=2)
    assert not pipe.unet._forward_pre_hooks and not pipe.unet._forward_hooks
    assert names(encoder, seen, 1, ["street"]) == ["street", "street"]


# AND --------------------------------------------------------------------------------------------
def test_and_with_weight_zero_equals_the_first_part_alone(pipe, encoder):
    alone, _ = generate(pipe, encoder, "street", steps=3)
    mixed, seen = generate(pipe, encoder, "street AND snow:0", steps=3)
    np.testing.assert_allclose(mixed, alone, atol=1e-5)
    assert seen[0].shape[0] == 3  # uncond, street, snow


def test_and_weights_mix_the_parts(pipe, encoder):
    plain, _ = generate(pipe, encoder, "street", steps=3)
    mixed, _ = generate(pipe, encoder, "street AND snow:-0.5", steps=3)
    assert np.abs(mixed - plain).max() > 1e-3


def test_single_part_weight_scales_guidance(pipe, encoder):
    # "street:2" with cfg 3 is uncond + 2 * 3 * (cond - uncond), i.e. "street" with cfg 6.
    doubled, _ = generate(pipe, encoder, "street:2", steps=3, cfg=3.0)
    cfg6, _ = generate(pipe, encoder, "street", steps=3, cfg=6.0)
    np.testing.assert_allclose(doubled, cfg6, atol=1e-4)


def test_and_without_guidance_adds_an_uncond_row(pipe, encoder):
    alone, _ = generate(pipe, encoder, "street", steps=3, cfg=1.0)
    mixed, seen = generate(pipe, encoder, "street AND snow:0", steps=3, cfg=1.0)
    assert seen[0].shape[0] == 3
    np.testing.assert_allclose(mixed, alone, atol=1e-5)


def test_mixed_batch_matches_each_image_alone(pipe, encoder):
    prompt = "{street|street AND snow:0.5}"
    plans = plan_prompts(prompt, "", (0, 1))
    assert sorted(len(p.parts) for p in plans) == [1, 2]  # one plain image, one mixing two parts
    batch, seen = generate(pipe, encoder, prompt, steps=3, seeds=(0, 1))
    assert seen[0].shape[0] == 2 + 3  # two uncond rows, then one and two part rows
    for index, (seed, plan) in enumerate(zip((0, 1), plans, strict=True)):
        alone, _ = generate(pipe, encoder, plan.prompt, steps=3, seeds=(seed,))
        np.testing.assert_allclose(batch[index], alone[0], atol=1e-4)


def test_and_with_controlnet(pipe, encoder):
    control = StableDiffusionControlNetPipeline.from_pipe(pipe, controlnet=tiny_controlnet())
    calls = []
    hook = control.controlnet.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    image = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    try:
        alone, _ = generate(control, encoder, "street", steps=2, image=image)
        mixed, seen = generate(control, encoder, "street AND snow:0", steps=2, image=image)
    finally:
        hook.remove()
    np.testing.assert_allclose(mixed, alone, atol=1e-5)
    assert calls == [2, 2, 3, 3]  # the ControlNet gets the expanded rows too
    assert seen[0].shape[0] == 3


# Batches, padding, cache ----------------------------------------------------------------------
def test_wildcards_expand_per_image_in_one_batch(pipe, encoder):
    prompt = "{street|snow|rain|night}"
    seeds = (0, 1, 2, 3, 4, 5)
    plans = plan_prompts(prompt, "", seeds)
    texts = [plan.parts[0][0] for plan in plans]
    assert len(set(texts)) > 1
    assert texts == [plan.parts[0][0] for plan in plan_prompts(prompt, "", seeds)]  # seeded
    _, seen = generate(pipe, encoder, prompt, steps=1, seeds=seeds[:2])
    assert [names(encoder, seen, row, texts[:2])[0] for row in (2, 3)] == texts[:2]


def test_negative_is_padded_to_the_positive_chunk_count(encoder):
    plans = plan_prompts(" ".join(["street"] * 200), "rain", [0])
    prompt_embeds, negative_embeds = encode_conditioning(encoder, plans, 4, "Euler").initial_embeds()
    assert prompt_embeds.shape == negative_embeds.shape == (1, 3 * 77, 32)
    torch.testing.assert_close(negative_embeds[:, :77], encoder.encode("rain"))
    torch.testing.assert_close(negative_embeds[:, 77:], encoder.encode("").repeat(1, 2, 1))


def test_rows_of_different_lengths_are_padded_in_each_call(pipe, encoder):
    long_text = " ".join(["street"] * 80)
    _, seen = generate(pipe, encoder, f"[{long_text}:snow:2]", steps=4)
    assert [s.shape[1] for s in seen] == [154, 154, 154, 77]  # every row of a call has one length
    torch.testing.assert_close(seen[0][0:1, 77:], encoder.encode(""))  # the short negative prompt


def test_embedding_cache_hits_on_the_second_batch(encoder):
    plans = plan_prompts("snowy, (heavy snowfall:1.2) [street:road:0.5]", "blurry", [0, 1])
    encode_conditioning(encoder, plans, 20, "Euler")
    misses = encoder.cache.misses
    encode_conditioning(encoder, plan_prompts("snowy, (heavy snowfall:1.2) [street:road:0.5]", "blurry", [2, 3]),
                        20, "Euler")
    assert encoder.cache.misses == misses
    assert encoder.cache.hits >= 8


# Planning -----------------------------------------------------------------------------------------
def test_plan_collects_loras_and_reports_other_networks():
    [plan] = plan_prompts("snow, <lora:snowfall:0.8> <hypernet:old:1> AND rain:0.5",
                          "<lora:blur:1> ugly", [0])
    assert plan.loras == [("snowfall", 0.8, 0.8)]
    assert plan.parts == [("snow,", 1.0), ("rain", 0.5)]
    assert plan.negative == "<lora:blur:1> ugly"  # spec: tags in the negative prompt stay text
    assert plan.prompt == "snow, <lora:snowfall:0.8> <hypernet:old:1> AND rain:0.5"
    assert any("<hypernet:old:1>" in w and "unknown" in w for w in plan.warnings)
    assert not any("<lora:blur:1>" in w for w in plan.warnings)
