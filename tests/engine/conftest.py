"""Fixtures of the prompt-conditioning tests.

- ``pipe``: the tiny pipeline (seed 0), one per test module.
- ``encoder``: a :class:`~sdaug.engine.prompt_encoder.PromptEncoder` on its tokenizer and text
  encoder with a fresh embedding cache, one per test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from diffusers import StableDiffusionPipeline

    from sdaug.engine.prompt_encoder import PromptEncoder


@pytest.fixture(scope="module")
def pipe() -> StableDiffusionPipeline:
    from sdaug.engine.tiny import tiny_pipeline

    return tiny_pipeline()


@pytest.fixture()
def encoder(pipe: StableDiffusionPipeline) -> PromptEncoder:
    from sdaug.engine.prompt_encoder import EmbeddingCache, PromptEncoder

    return PromptEncoder(pipe.tokenizer, pipe.text_encoder, cache=EmbeddingCache())
