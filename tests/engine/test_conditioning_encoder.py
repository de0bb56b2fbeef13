"""Weighted, chunked prompt encoding with the tiny CLIP text encoder (CPU, no hub files)."""

from __future__ import annotations

import gc

import pytest
import torch

from sdaug.engine.prompt_encoder import (
    CHUNK_TOKENS,
    EmbeddingCache,
    PromptEncoder,
    TokenChunk,
    chunk_tokens,
)
from sdaug.engine.tiny import tiny_pipeline

COMMA = 0  # a stand-in comma id for the pure chunking tests


def _token_count(encoder: PromptEncoder, text: str) -> int:
    return len(encoder.tokenizer(text, add_special_tokens=False).input_ids)


# Chunking (pure) --------------------------------------------------------------------------------
def test_chunks_fill_to_75_tokens():
    chunks = chunk_tokens([(list(range(1, 201)), 1.0)], COMMA)
    assert [len(c.tokens) for c in chunks] == [75, 75, 50]
    assert chunks[2].tokens[0] == 151


def test_comma_among_last_20_tokens_moves_the_rest_to_the_next_chunk():
    # 70 words, a comma at position 70, then 10 more words: the chunk fills at 75 tokens.
    ids = [1] * 70 + [COMMA] + [2] * 10
    chunks = chunk_tokens([(ids, 1.0)], COMMA)
    assert [len(c.tokens) for c in chunks] == [71, 10]
    assert chunks[0].tokens[-1] == COMMA
    assert chunks[1].tokens == [2] * 10


def test_comma_further_back_than_20_tokens_does_not_move_tokens():
    ids = [1] * 54 + [COMMA] + [2] * 30  # the comma is 21 tokens before the end of the chunk
    assert [len(c.tokens) for c in chunk_tokens([(ids, 1.0)], COMMA)] == [75, 10]


def test_moved_tokens_keep_their_weights():
    pieces = [([1] * 70 + [COMMA], 1.0), ([2] * 10, 1.5)]
    chunks = chunk_tokens(pieces, COMMA)
    assert chunks[1].weights == [1.5] * 10
    assert chunks[0].weights == [1.0] * 71


def test_break_closes_the_chunk_and_a_trailing_empty_chunk_is_dropped():
    chunks = chunk_tokens([([1, 2], 1.0), None, ([3], 1.2), None], COMMA)
    assert chunks == [TokenChunk([1, 2], [1.0, 1.0]), TokenChunk([3], [1.2])]


def test_break_first_gives_an_empty_first_chunk_as_in_a1111():
    chunks = chunk_tokens([None, ([3], 1.0)], COMMA)
    assert [c.tokens for c in chunks] == [[], [3]]


def test_empty_prompt_is_one_empty_chunk():
    assert chunk_tokens([], COMMA) == [TokenChunk()]


# Encoding --------------------------------------------------------------------------------------
def test_weight_one_equals_diffusers_plain_encoding(pipe, encoder):
    prompt = "a photo of a street in the snow, night"
    plain, _ = pipe.encode_prompt(prompt, "cpu", 1, False)
    ours = encoder.encode(prompt)
    assert ours.shape == plain.shape == (1, 77, 32)
    assert torch.equal(ours, plain)


def test_emphasis_changes_only_the_weighted_tokens_before_the_mean_restore(encoder):
    plain = encoder.encode("a photo of snow street")[0]
    weighted = encoder.encode("a photo of (snow:1.5) street")[0]
    # After BOS and "a photo of" come snow's tokens; the mean restore scales every value by one
    # factor, so the other tokens are that factor times the plain ones, snow's 1.5 times more.
    start = 1 + _token_count(encoder, "a photo of")
    snow = torch.zeros(77, dtype=torch.bool)
    snow[start : start + _token_count(encoder, "snow")] = True
    others = ~snow
    restore = (weighted[others] * plain[others]).sum() / (plain[others] ** 2).sum()
    assert restore.item() != pytest.approx(1.0, abs=1e-4)
    torch.testing.assert_close(weighted[others], restore * plain[others])
    torch.testing.assert_close(weighted[snow], 1.5 * restore * plain[snow])


def test_mean_is_restored_per_chunk(encoder):
    weighted = encoder.encode("(a photo of a street:1.3)")
    plain = encoder.encode("a photo of a street")
    torch.testing.assert_close(weighted.mean(), plain.mean(), rtol=1e-5, atol=1e-6)


def test_200_token_prompt_gives_3_chunks(encoder):
    prompt = " ".join(["street"] * 200)
    assert _token_count(encoder, prompt) == 200
    embeddings = encoder.encode(prompt)
    assert embeddings.shape == (1, 3 * 77, 32)


def test_long_prompt_chunks_are_encoded_separately(encoder):
    first = " ".join(["street"] * CHUNK_TOKENS)
    embeddings = encoder.encode(first + " snow")
    torch.testing.assert_close(embeddings[:, :77], encoder.encode(first))
    torch.testing.assert_close(embeddings[:, 77:], encoder.encode("snow"))


def test_break_starts_a_new_chunk(encoder):
    embeddings = encoder.encode("a photo of a street BREAK snow")
    assert embeddings.shape == (1, 2 * 77, 32)
    torch.testing.assert_close(embeddings[:, :77], encoder.encode("a photo of a street"))
    torch.testing.assert_close(embeddings[:, 77:], encoder.encode("snow"))


@pytest.mark.parametrize(
    ("prompt", "same_as_pieces"),
    [
        # Spec: only ("BREAK", -1) closes a chunk; other weights of BREAK, and -1 on other text, are text.
        ("(cat:-1)", [("cat", -1.0)]),
        ("a (cat:-1) b", [("a ", 1.0), ("cat", -1.0), (" b", 1.0)]),
        ("(a BREAK b)", [("a", 1.1), ("BREAK", -1.1), ("b", 1.1)]),
        ("[a BREAK b]", [("a", 1 / 1.1), ("BREAK", -1 / 1.1), ("b", 1 / 1.1)]),
    ],
)
def test_only_break_at_weight_minus_one_is_a_chunk_break(encoder, prompt, same_as_pieces):
    embeddings = encoder.encode(prompt)
    assert embeddings.shape == (1, 77, 32)  # one chunk: nothing was taken for a BREAK
    torch.testing.assert_close(embeddings, encoder.encode_pieces(same_as_pieces))
    assert not torch.equal(encoder.encode("cat"), encoder.encode("(cat:-1)"))  # cat is there, weighted


def test_comma_backtrack_in_a_real_prompt(encoder):
    prompt = " ".join(["street"] * 70) + ", " + " ".join(["rain"] * 5)
    assert _token_count(encoder, "rain") == 2  # 70 + 1 + 10 = 81 tokens
    chunks = encoder.tokenize([(prompt, 1.0)])
    assert [len(c.tokens) for c in chunks] == [71, 10]
    embeddings = encoder.encode(prompt)
    torch.testing.assert_close(embeddings[:, 77:], encoder.encode(" ".join(["rain"] * 5)))


def test_chunk_ids_are_bos_tokens_eos_then_padding(encoder):
    tokenizer = encoder.tokenizer
    ids, weights = encoder.chunk_ids(TokenChunk([5, 6], [1.2, 1.2]))
    assert len(ids) == 77
    assert ids[:4] == [tokenizer.bos_token_id, 5, 6, tokenizer.eos_token_id]
    assert set(ids[4:]) == {tokenizer.pad_token_id}
    assert weights[:4] == [1.0, 1.2, 1.2, 1.0]


def test_clip_skip_2_is_the_normalised_penultimate_layer(pipe, encoder):
    prompt = "a photo of a street"
    skip1, skip2 = encoder.encode(prompt, clip_skip=1), encoder.encode(prompt, clip_skip=2)
    assert not torch.allclose(skip1, skip2)
    ids = pipe.tokenizer(prompt, padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = pipe.text_encoder(ids, output_hidden_states=True).hidden_states[-2]
        expected = pipe.text_encoder.final_layer_norm(hidden)
    torch.testing.assert_close(skip2, expected)


def test_clip_skip_beyond_the_model_layers_is_refused(encoder):
    with pytest.raises(ValueError, match="clip_skip must be from 1 to 4"):
        encoder.encode("street", clip_skip=5)


# Cache ------------------------------------------------------------------------------------------
def test_cache_hits_on_the_same_text_and_misses_on_other_keys(pipe):
    cache = EmbeddingCache(max_entries=8)
    encoder = PromptEncoder(pipe.tokenizer, pipe.text_encoder, cache=cache)
    first = encoder.encode("street")
    assert encoder.encode("street") is first
    assert (cache.hits, cache.misses) == (1, 1)
    encoder.encode("street", clip_skip=2)
    PromptEncoder(pipe.tokenizer, pipe.text_encoder, lora_key=(("snow", 0.8),), cache=cache).encode("street")
    assert (cache.hits, cache.misses) == (1, 3)


def test_cache_is_bounded_and_evicts_the_least_recently_used(pipe):
    cache = EmbeddingCache(max_entries=2)
    encoder = PromptEncoder(pipe.tokenizer, pipe.text_encoder, cache=cache)
    for text in ("street", "snow", "street", "rain"):
        encoder.encode(text)
    assert len(cache) == 2
    encoder.encode("street")
    assert cache.hits == 2  # "street" was used last before "rain", so it stayed
    encoder.encode("snow")
    assert cache.misses == 4


def test_cache_entries_go_with_their_text_encoder(pipe):
    cache = EmbeddingCache()
    other = tiny_pipeline(seed=1)
    PromptEncoder(other.tokenizer, other.text_encoder, cache=cache).encode("street")
    assert len(cache) == 1
    del other
    gc.collect()
    assert len(cache) == 0
