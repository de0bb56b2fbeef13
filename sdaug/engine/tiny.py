"""A tiny Stable-Diffusion-1.5-shaped pipeline with random weights, built in code.

Used by the tests and by ``--model tiny``: the same components as SD1.5 (UNet, VAE with 4 blocks
so latents are 1/8 of the image, CLIP text encoder with 77 positions, CLIP BPE tokenizer, PNDM
scheduler config, ControlNet whose output convolutions are not zero, so that it changes the
image), each a few hundred kilobytes. No hub files are read: the
tokenizer's vocabulary and merges are learnt here from a small built-in word list (a few lines
of byte-pair encoding, because a tokenizer trained by the ``tokenizers`` library is not in the
CLIP vocab/merges file layout that ``CLIPTokenizer`` loads). Ordinary English words become
several tokens and ``,`` is a token of its own, so 75-token chunking can be exercised with
short prompts. Everything is deterministic for a given seed; its images are noise.

Components are built once per process and seed; :func:`tiny_pipeline` and
:func:`tiny_controlnet` return deep copies, so LoRAs or offloading applied to one pipeline never
leak into another.
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    ControlNetModel,
    PNDMScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from sdaug.engine.sources import TINY_SIZE

TEXT_LAYERS = 4  # so clip skip 1-4 works
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
N_MERGES = 120

_CORPUS = """
a photo of a street in the snow, rain, fog, haze, mist, sandstorm, dust, dusk, dawn, night, sunset,
sunrise, street lamps, lights, cloudy sky, overcast, heavy snowfall, snowy winter road, wet asphalt,
puddles, reflections, storm, thunder, lightning, wind, autumn leaves, summer, spring, bright sunny day,
garbage bin, trash can, overflowing bin, full bin, empty bin, rubbish, litter, bags, bottles, boxes,
city, town, village, sidewalk, pavement, parking lot, building, house, wall, fence, tree, grass, car,
truck, bicycle, person, people, walking, standing, near, next to, in front of, behind, under, with,
the, and, or, of, in, on, at, very, highly, detailed, realistic, photorealistic, photograph, high
quality, best quality, masterpiece, low quality, worst quality, blurry, noisy, ugly, deformed,
cartoon, painting, drawing, illustration, lowres, jpeg artifacts, watermark, text, signature,
"""


def bytes_to_unicode() -> dict[int, str]:
    """The byte -> printable-character table of byte-level BPE (CLIP and GPT-2 use the same),
    in their order: printable bytes first, then the others mapped past 255. A CLIP vocabulary
    starts with these characters in this order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in table]
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return table


def _learn_merges(corpus: str, n_merges: int) -> list[tuple[str, str]]:
    """Byte-pair merges learnt from ``corpus``: most frequent pair first, ties by text."""
    chars = bytes_to_unicode()
    words: Counter[tuple[str, ...]] = Counter()
    for word in corpus.replace(",", " ").split():
        symbols = [chars[b] for b in word.lower().encode("utf-8")]
        symbols[-1] += "</w>"
        words[tuple(symbols)] += 1
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:], strict=False):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        words = Counter({_merge(word, best): count for word, count in words.items()})
    return merges


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


@functools.lru_cache(maxsize=1)
def tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP tokenizer with a small learnt vocabulary (about 900 tokens), loaded from files
    written to a temporary folder (works with transformers 4 and 5)."""
    base = list(bytes_to_unicode().values())
    merges = _learn_merges(_CORPUS, N_MERGES)
    tokens = [*base, *(c + "</w>" for c in base), *("".join(m) for m in merges), BOS, EOS]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    with tempfile.TemporaryDirectory(prefix="sdaug-tiny-tokenizer-") as folder:
        Path(folder, "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        lines = ["#version: 0.2", *(" ".join(m) for m in merges)]
        Path(folder, "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def tiny_text_settings(max_positions: int = 77) -> dict[str, Any]:
    """The tiny CLIP text tower on :func:`tiny_tokenizer` (the pipeline's text encoder, and the text
    towers of the tiny CLIP check and the tiny detector)."""
    tokenizer = tiny_tokenizer()
    return {"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
            "num_hidden_layers": TEXT_LAYERS, "max_position_embeddings": max_positions,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}


# The tiny vision towers (CLIP check, detector): image size and patch size are theirs.
TINY_VISION = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2}


def seeded(seed: int, build: Any) -> Any:
    """``build()`` with the global torch generator seeded (and restored after), in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build().eval()


def _unet_kwargs() -> dict[str, Any]:
    return {
        "block_out_channels": (32, 64),
        "layers_per_block": 1,
        "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
        "cross_attention_dim": 32,
        "attention_head_dim": 8,
        "norm_num_groups": 32,
    }


def _text_encoder(config: CLIPTextConfig) -> CLIPTextModel:
    """A CLIP text encoder whose final layer norm has a positive bias, as trained CLIP's has: with
    the default zero bias every embedding has mean ~0, and A1111's emphasis (which restores the
    mean after weighting) would divide ~0 by ~0. Call it seeded: the bias is drawn from the
    global generator."""
    model = CLIPTextModel(config)
    with torch.no_grad():
        model.final_layer_norm.bias.copy_(0.5 + torch.rand(config.hidden_size))
    return model


def _controlnet() -> ControlNetModel:
    """A ControlNet whose zero-initialised convolutions (the control image's embedding and every
    residual output) get ordinary random weights: as built, a ControlNet adds exactly nothing, so
    the control image, weight and guidance range would change no pixel and no test could see
    them. Call it seeded (the weights come from the global generator)."""
    model = ControlNetModel(in_channels=4, conditioning_embedding_out_channels=(8, 16, 16, 16), **_unet_kwargs())
    for conv in (model.controlnet_cond_embedding.conv_out, *model.controlnet_down_blocks, model.controlnet_mid_block):
        conv.reset_parameters()
    return model


@functools.lru_cache(maxsize=4)
def _components(seed: int) -> dict[str, Any]:
    tokenizer = tiny_tokenizer()
    unet = seeded(seed, lambda: UNet2DConditionModel(
        sample_size=TINY_SIZE // 8, in_channels=4, out_channels=4,
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), **_unet_kwargs()))
    vae = seeded(seed + 1, lambda: AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, sample_size=TINY_SIZE,
        block_out_channels=(8, 16, 16, 16), layers_per_block=1, norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4))
    text_config = CLIPTextConfig(**tiny_text_settings(), projection_dim=32)
    text_encoder = seeded(seed + 2, lambda: _text_encoder(text_config))
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              num_train_timesteps=1000, skip_prk_steps=True, set_alpha_to_one=False,
                              steps_offset=1)
    controlnet = seeded(seed + 3, _controlnet)
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler, "controlnet": controlnet}


def tiny_pipeline(seed: int = 0) -> StableDiffusionPipeline:
    """A fresh txt2img pipeline with the tiny random weights for ``seed`` (on the CPU, fp32)."""
    parts = _components(seed)
    return StableDiffusionPipeline(
        vae=copy.deepcopy(parts["vae"]),
        text_encoder=copy.deepcopy(parts["text_encoder"]),
        tokenizer=parts["tokenizer"],
        unet=copy.deepcopy(parts["unet"]),
        scheduler=PNDMScheduler.from_config(parts["scheduler"].config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def tiny_controlnet(seed: int = 0) -> ControlNetModel:
    """A fresh tiny ControlNet matching :func:`tiny_pipeline`'s UNet."""
    return copy.deepcopy(_components(seed)["controlnet"])
