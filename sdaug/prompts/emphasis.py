"""Emphasis: ``attention(text) -> [(text, weight), ...]`` for one prompt text at one step.

Syntax (spec/prompt-syntax.md, "Emphasis"): ``(x)`` x 1.1, ``[x]`` x 1/1.1, ``(x:w)`` x w,
nesting multiplies; ``\\(`` ``\\)`` ``\\[`` ``\\]`` ``\\\\`` are literal characters; ``BREAK``
(upper case, whole word, surrounding whitespace eaten) yields ``("BREAK", -1.0)``, and brackets
multiply its weight like any piece's: ``(a BREAK b)`` gives ``("BREAK", -1.1)``, which the
encoder takes as text, because only ``("BREAK", -1.0)`` closes a chunk (:func:`is_break`).

A small hand-written scanner (no library does A1111 emphasis). Behaviour the spec fixes, and the
choices it leaves free:

- An unmatched ``)`` or ``]`` is literal; an unclosed ``(`` or ``[`` applies to the end of the
  text (all unclosed ``(`` first, then all unclosed ``[``, so float products match A1111).
- ``(a:b)`` without a number is the text ``a:b`` at 1.1. A weight must be a plain decimal
  number (``1``, ``1.5``, ``.5``, ``-1``); anything else leaves the ``:`` as text.
- Free: a lone ``\\`` before another character is dropped (as A1111 does), the character kept.
- Adjacent pieces with equal weight merge, ``BREAK`` pieces as well (as in A1111: the empty
  texts on both sides of a ``BREAK`` keep it apart from its neighbours unless their weights are
  equal, which only a weight of 0 makes); then empty pieces are left out. Empty text gives
  ``[("", 1.0)]``.
"""

from __future__ import annotations

import re

BREAK = "BREAK"
BREAK_WEIGHT = -1.0
ROUND_MULTIPLIER = 1.1
SQUARE_MULTIPLIER = 1 / 1.1

# `:weight)` right after the ":" of `(text:weight)`.
_WEIGHT_RE = re.compile(r":\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*\)")
_BREAK_RE = re.compile(r"\s*\bBREAK\b\s*")
_TEXT_RE = re.compile(r"[^\\()\[\]:]+")
_ESCAPABLE = "()[]\\"


def attention(text: str) -> list[tuple[str, float]]:
    """Split ``text`` into ``(piece, weight)`` pairs.

    ``"a (b:1.5) [c]"`` -> ``[("a ", 1.0), ("b", 1.5), (" ", 1.0), ("c", 0.9090909090909091)]``.
    """
    pieces: list[list] = []  # [text, weight]: weight multiplied in place
    round_opens: list[int] = []  # index in `pieces` where each open "(" starts
    square_opens: list[int] = []

    # 1. Scan: text goes into `pieces`; a closing bracket multiplies what its opening one covers.
    pos = 0
    while pos < len(text):
        char = text[pos]
        weight = _WEIGHT_RE.match(text, pos) if char == ":" and round_opens else None
        if char == "\\":
            escaped = text[pos + 1 : pos + 2]
            if escaped and escaped in _ESCAPABLE:
                pieces.append([escaped, 1.0])
                pos += 1
        elif char == "(":
            round_opens.append(len(pieces))
        elif char == "[":
            square_opens.append(len(pieces))
        elif weight is not None:
            _multiply(pieces, round_opens.pop(), float(weight.group(1)))
            pos = weight.end() - 1
        elif char == ")" and round_opens:
            _multiply(pieces, round_opens.pop(), ROUND_MULTIPLIER)
        elif char == "]" and square_opens:
            _multiply(pieces, square_opens.pop(), SQUARE_MULTIPLIER)
        elif char in "()[]:":
            pieces.append([char, 1.0])
        else:
            run = _TEXT_RE.match(text, pos).group()
            pieces.extend(_split_breaks(run))
            pos += len(run) - 1
        pos += 1

    # 2. Brackets left open apply to the end.
    for start in round_opens:
        _multiply(pieces, start, ROUND_MULTIPLIER)
    for start in square_opens:
        _multiply(pieces, start, SQUARE_MULTIPLIER)

    # 3. Merge neighbours of equal weight, then drop empty pieces.
    merged: list[tuple[str, float]] = []
    for piece_text, weight in pieces:
        if merged and weight == merged[-1][1]:
            merged[-1] = (merged[-1][0] + piece_text, weight)
        else:
            merged.append((piece_text, weight))
    return [piece for piece in merged if piece[0]] or [("", 1.0)]


def is_break(piece: tuple[str, float]) -> bool:
    """True for the piece that closes a chunk: text ``BREAK`` at weight exactly -1."""
    return piece[0] == BREAK and piece[1] == BREAK_WEIGHT


def _split_breaks(run: str) -> list[list]:
    pieces = []
    for index, part in enumerate(_BREAK_RE.split(run)):
        if index > 0:
            pieces.append([BREAK, BREAK_WEIGHT])
        pieces.append([part, 1.0])
    return pieces


def _multiply(pieces: list[list], start: int, multiplier: float) -> None:
    for piece in pieces[start:]:
        piece[1] *= multiplier
