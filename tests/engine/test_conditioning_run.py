"""The A1111 prompt language through :func:`sdaug.engine.run.run` with the tiny model (CPU)."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from sdaug.engine.output import save_images
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.prompts import parse_infotext, read_infotext

SIZE = 32
TRUNCATION_WORDS = ("truncat", "sequence length", "longer than")


def tiny_request(prompt: str, **fields) -> GenerationRequest:
    values = {"model": "tiny", "steps": 2, "sampler": "Euler", "width": SIZE, "height": SIZE, "seed": 5}
    return GenerationRequest(prompt=prompt, **{**values, **fields})


@contextlib.contextmanager
def captured_messages() -> Iterator[list[str]]:
    """Every log record (also of transformers and diffusers, whose loggers do not propagate) and
    every Python warning emitted inside the block."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("", "transformers", "diffusers")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
        messages += [str(w.message) for w in caught]
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _about_truncation(messages: list[str]) -> list[str]:
    return [m for m in messages if any(word in m.lower() for word in TRUNCATION_WORDS)]


def test_300_token_prompt_generates_without_truncation_warnings(manager):
    prompt = ", ".join(["heavy snowfall on a wet asphalt street at night"] * 16)
    pipe = manager.pipeline("txt2img", "tiny")
    assert len(pipe.tokenizer(prompt, add_special_tokens=False, verbose=False).input_ids) >= 300
    token_counts: list[int] = []
    hook = pipe.unet.register_forward_hook(
        lambda module, args, kwargs, output: token_counts.append(kwargs["encoder_hidden_states"].shape[1]),
        with_kwargs=True)
    try:
        with captured_messages() as messages:
            result = run(tiny_request(prompt), manager)
    finally:
        hook.remove()
    assert _about_truncation(messages) == []
    assert len(result.images) == 1 and not result.warnings
    assert token_counts and all(count >= 5 * 77 for count in token_counts)  # 303 tokens: nothing cut
    # The capture does hear truncation: diffusers' own encoder cuts the prompt at 77 tokens.
    with captured_messages() as messages:
        pipe.encode_prompt(prompt, "cpu", 1, False)
    assert _about_truncation(messages)


def test_prompt_editing_through_run(manager):
    pipe = manager.pipeline("txt2img", "tiny")
    seen: list[torch.Tensor] = []
    # A forward hook sees the call's inputs after run's hooks replaced them.
    hook = pipe.unet.register_forward_hook(
        lambda module, args, kwargs, output: seen.append(kwargs["encoder_hidden_states"][1].clone()),
        with_kwargs=True)
    try:
        run(tiny_request("[street:snow:0.5]", steps=10), manager)
    finally:
        hook.remove()
    distinct = [0] + [i for i in range(1, len(seen)) if not torch.equal(seen[i], seen[i - 1])]
    assert len(seen) == 10 and distinct == [0, 6]  # "street" for calls 0-5, "snow" from call 6


def test_wildcards_vary_per_image_in_one_batch_and_repeat(manager):
    request = tiny_request("a {street|road|wall|fence|house|tree} in the snow", batch_size=4, steps=1)
    first = run(request, manager)
    prompts = [parse_infotext(infotext)["Prompt"] for infotext in first.infotexts]
    assert len(set(prompts)) > 1 and all("{" not in p for p in prompts)
    again = run(tiny_request(request.prompt, batch_size=4, steps=1), manager)
    assert [parse_infotext(infotext)["Prompt"] for infotext in again.infotexts] == prompts


def test_embedding_cache_hits_on_the_second_batch(manager):
    cache = manager.encoder.cache
    run(tiny_request("snowy, (heavy snowfall:1.2), [street:road:0.5]", negative_prompt="blurry", steps=2,
                     batch_size=2, batch_count=1), manager)
    hits, misses = cache.hits, cache.misses
    run(tiny_request("snowy, (heavy snowfall:1.2), [street:road:0.5]", negative_prompt="blurry", steps=2,
                     batch_size=2, batch_count=3, seed=100), manager)
    assert cache.misses == misses  # three more batches, nothing encoded again
    assert cache.hits > hits


def test_and_through_run_with_weight_zero_equals_the_first_part(manager):
    alone = run(tiny_request("street"), manager).images[0]
    mixed = run(tiny_request("street AND snow:0"), manager).images[0]
    diff = torch.tensor(list(alone.getdata())) - torch.tensor(list(mixed.getdata()))
    assert diff.abs().max() <= 1  # uint8 pixels: at most rounding


def test_clip_skip_changes_the_image(manager):
    one = run(tiny_request("a street in the snow"), manager).images[0]
    two = run(tiny_request("a street in the snow", clip_skip=2), manager).images[0]
    assert one.tobytes() != two.tobytes()


def test_saved_png_carries_the_infotext(manager, tmp_path: Path):
    result = run(tiny_request("a street", batch_size=2, steps=1), manager)
    paths = save_images(result, tmp_path)
    assert [read_infotext(p) for p in paths] == result.infotexts
