"""Weighted, chunked CLIP prompt embeddings, as AUTOMATIC1111 computes them.

Input is the output of :func:`sdaug.prompts.attention`: ``[(text, weight), ...]`` with
``("BREAK", -1)`` markers; a piece closes a chunk only when its text is exactly ``BREAK`` and its
weight exactly -1, so ``(cat:-1)`` is the word cat at weight -1 and ``(a BREAK b)`` encodes the
word BREAK at -1.1, as in A1111. Diffusers' own ``encode_prompt`` truncates at 77 tokens and knows
no weights, so this module does what the spec (``spec/prompt-syntax.md`` § "Applying weights
to CLIP embeddings") asks, in its own code:

1. Each weighted piece is tokenized separately (no special tokens); each token keeps its
   piece's weight.
2. Tokens fill chunks of 75. When a chunk is full and one of its last 20 tokens is a comma,
   the tokens after that comma move to the next chunk. ``BREAK`` closes the current chunk
   (even an empty one, as in A1111); a trailing empty chunk is dropped.
3. Each chunk becomes ``BOS + tokens + EOS + padding`` (77 ids; BOS/EOS/padding weigh 1.0).
   The padding id is the tokenizer's pad token, which for SD 1.x is EOS, so a short prompt
   gives exactly the ids of diffusers' ``padding="max_length"`` tokenization.
4. All chunks of a text are encoded in one text-encoder call. Clip skip N takes the hidden
   state N-1 layers before the last and applies the final layer norm (N = 1 is the plain
   last hidden state).
5. Weighting "Original", per chunk: ``m0 = z.mean(); z = z * w; z = z * (m0 / z.mean())``
   (computed in float32). The chunks are concatenated on the token axis.

Choice where A1111 differs: A1111 restores the mean over all prompts encoded in one call; here
each text is encoded on its own, so a text's embedding does not depend on the other prompts of
the batch and can be cached (:class:`EmbeddingCache`, keyed by text, clip skip, the text
encoder and the active LoRA set).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import torch

from sdaug.errors import InputError
from sdaug.prompts import attention
from sdaug.prompts.emphasis import is_break

logger = logging.getLogger(__name__)

CHUNK_TOKENS = 75
COMMA_BACKTRACK = 20
DEFAULT_CACHE_ENTRIES = 256


@dataclass
class TokenChunk:
    """Up to 75 content tokens of one chunk (no BOS/EOS) and one weight per token."""

    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def chunk_tokens(
    pieces: Sequence[tuple[list[int], float] | None], comma_token: int | None
) -> list[TokenChunk]:
    """Split weighted token pieces into 75-token chunks (comma backtrack, ``BREAK``).

    ``pieces`` holds ``(token_ids, weight)``, or None for a ``BREAK``. Always returns at least
    one chunk.
    """
    chunks: list[TokenChunk] = []
    chunk = TokenChunk()

    def close() -> None:
        nonlocal chunk
        chunks.append(chunk)
        chunk = TokenChunk()

    for piece in pieces:
        if piece is None:
            close()
            continue
        ids, weight = piece
        for token in ids:
            if len(chunk.tokens) == CHUNK_TOKENS:
                cut = _backtrack_position(chunk.tokens, comma_token)
                moved = TokenChunk(chunk.tokens[cut:], chunk.weights[cut:])
                del chunk.tokens[cut:], chunk.weights[cut:]
                close()
                chunk = moved
            chunk.tokens.append(token)
            chunk.weights.append(weight)
    if chunk.tokens or not chunks:
        close()
    return chunks


def _backtrack_position(tokens: list[int], comma_token: int | None) -> int:
    """Where a full chunk is cut: after its last comma if that is among the last 20 tokens."""
    if comma_token is not None:
        for position in range(len(tokens) - 1, len(tokens) - 1 - COMMA_BACKTRACK, -1):
            if tokens[position] == comma_token:
                return position + 1
    return len(tokens)


class EmbeddingCache:
    """A bounded LRU of encoded texts, one per text encoder (dropped with the encoder).

    Keys are ``(text, clip_skip, lora_key)``; the text encoder object is the "model" part of
    the key, held weakly so that unloading a model frees its cached embeddings too.
    """

    def __init__(self, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._per_encoder: weakref.WeakKeyDictionary[torch.nn.Module, OrderedDict] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, encoder: torch.nn.Module, key: Hashable) -> torch.Tensor | None:
        with self._lock:
            entries = self._per_encoder.get(encoder)
            if entries is None or key not in entries:
                self.misses += 1
                return None
            entries.move_to_end(key)
            self.hits += 1
            return entries[key]

    def put(self, encoder: torch.nn.Module, key: Hashable, value: torch.Tensor) -> None:
        with self._lock:
            entries = self._per_encoder.setdefault(encoder, OrderedDict())
            entries[key] = value
            entries.move_to_end(key)
            while len(entries) > self.max_entries:
                entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._per_encoder.values())


class PromptEncoder:
    """Encode weighted prompt pieces with one CLIP tokenizer + text encoder pair.

    ``lora_key`` names the LoRA set active on the text encoder (any hashable, for example a
    tuple of ``(name, weight)``); it is part of the cache key because LoRAs change the output.
    """

    def __init__(
        self,
        tokenizer,
        text_encoder: torch.nn.Module,
        lora_key: Hashable = (),
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.text_encoder = text_encoder
        self.lora_key = lora_key
        self.cache = cache
        self.comma_token = tokenizer.get_vocab().get(",</w>")
        pad = tokenizer.pad_token_id
        self.pad_token = tokenizer.eos_token_id if pad is None else pad

    @property
    def n_layers(self) -> int:
        return int(self.text_encoder.config.num_hidden_layers)

    def tokenize(self, pieces: Sequence[tuple[str, float]]) -> list[TokenChunk]:
        """Tokenize each ``(text, weight)`` piece separately and chunk the tokens."""
        texts = [piece[0] for piece in pieces if not is_break(piece)]
        # verbose=False: long pieces are expected here (they are chunked), so no length warning.
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False) if texts else None
        ids = iter(encoded.input_ids if encoded else [])
        tokenized = [None if is_break(piece) else (next(ids), piece[1]) for piece in pieces]
        return chunk_tokens(tokenized, self.comma_token)

    def chunk_ids(self, chunk: TokenChunk) -> tuple[list[int], list[float]]:
        """The 77 ids of a chunk (BOS, tokens, EOS, padding) and their weights."""
        padding = CHUNK_TOKENS - len(chunk.tokens)
        ids = [self.tokenizer.bos_token_id, *chunk.tokens, self.tokenizer.eos_token_id]
        ids += [self.pad_token] * padding
        weights = [1.0, *chunk.weights, 1.0] + [1.0] * padding
        return ids, weights

    def encode(self, text: str, clip_skip: int = 1) -> torch.Tensor:
        """Embeddings ``[1, 77 * chunks, dim]`` of a prompt text (emphasis and ``BREAK`` applied).

        Results are cached by (text, clip skip, text encoder, LoRA set) when there is a cache.
        """
        key = (text, clip_skip, self.lora_key)
        if self.cache is not None:
            cached = self.cache.get(self.text_encoder, key)
            if cached is not None:
                return cached
        embeddings = self.encode_pieces(attention(text), clip_skip)
        if self.cache is not None:
            self.cache.put(self.text_encoder, key, embeddings)
        return embeddings

    def encode_pieces(self, pieces: Sequence[tuple[str, float]], clip_skip: int = 1) -> torch.Tensor:
        """Embeddings ``[1, 77 * chunks, dim]`` of ``[(text, weight), ...]`` pieces (not cached)."""
        if not 1 <= clip_skip <= self.n_layers:
            raise InputError("request.clip_skip_model", high=self.n_layers, value=clip_skip)
        return self._encode_chunks(self.tokenize(pieces), clip_skip)

    @torch.no_grad()
    def _encode_chunks(self, chunks: list[TokenChunk], clip_skip: int) -> torch.Tensor:
        # 1. Ids and weights of every chunk, as one batch.
        rows = [self.chunk_ids(chunk) for chunk in chunks]
        device = self.text_encoder.device
        ids = torch.tensor([row[0] for row in rows], dtype=torch.long, device=device)
        weights = torch.tensor([row[1] for row in rows], dtype=torch.float32, device=device)

        # 2. Encode, taking the hidden state that clip skip asks for.
        if clip_skip == 1:
            z = self.text_encoder(ids)[0]
        else:
            hidden = self.text_encoder(ids, output_hidden_states=True).hidden_states[-clip_skip]
            # transformers 5 puts the layer norm on CLIPTextModel itself, 4.x on its .text_model.
            text_model = getattr(self.text_encoder, "text_model", self.text_encoder)
            z = text_model.final_layer_norm(hidden)

        # 3. Weight each chunk and restore its mean.
        z32 = z.float()
        original_mean = z32.mean(dim=(1, 2), keepdim=True)
        z32 = z32 * weights[..., None]
        new_mean = z32.mean(dim=(1, 2), keepdim=True)
        # A zero mean (untrained layer norms give one) cannot be restored: keep the scale then.
        z32 = z32 * torch.where(new_mean == 0, 1.0, original_mean / new_mean)

        # 4. Concatenate the chunks on the token axis.
        return z32.to(z.dtype).reshape(1, -1, z.shape[-1])
