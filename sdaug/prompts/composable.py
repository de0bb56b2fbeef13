"""Composable diffusion: ``split_and(prompt) -> [(text, weight), ...]`` (positive prompt only).

The prompt splits on the whole word ``AND``; each part may end in ``:W`` (a plain decimal
number, optionally signed), its weight, default 1.0 — also without any ``AND``, so
``photo of cat:2`` is ``[("photo of cat", 2.0)]``. Free choice: part texts are stripped of
surrounding whitespace (the CLIP tokenizer ignores it). Sampling combines the parts as
``denoised = uncond + sum(w_i * cfg * (cond_i - uncond))``.
"""

from __future__ import annotations

import re

_AND_RE = re.compile(r"\bAND\b")
_WEIGHT_RE = re.compile(r"\s*:\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*$")


def split_and(prompt: str) -> list[tuple[str, float]]:
    """Split ``prompt`` into ``(text, weight)`` parts on ``AND``.

    ``"a cat AND a dog:0.5"`` -> ``[("a cat", 1.0), ("a dog", 0.5)]``.
    """
    parts = []
    for part in _AND_RE.split(prompt):
        weight = _WEIGHT_RE.search(part)
        if weight is None:
            parts.append((part.strip(), 1.0))
        else:
            parts.append((part[: weight.start()].strip(), float(weight.group(1))))
    return parts
