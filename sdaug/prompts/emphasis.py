"""Emphasis: ``attention(text) -> [(text, weight), ...]`` for one prompt text at one step.

Syntax (spec/prompt-syntax.md, "Emphasis"): ``(x)`` x 1.1, ``[x]`` x 1/1.1, ``(x:w)`` x w,
nesting multiplies; ``\\(`` ``\\)`` ``\\[`` ``\\]`` ``\\\\`` are literal characters; ``BREAK``
(upper case, whole word) yields ``("BREAK", -1.0)``.

A small hand-written scanner (no library does A1111 emphasis). Behaviour the spec fixes, and the
choices it leaves free:

- An unmatched ``)`` or ``]`` is literal; an unclosed ``(`` or ``[`` applies to the end of the
  text (all unclosed ``(`` first, then all unclosed ``[``, so float products match A1111).
- ``(a:b)`` without a number is the text ``a:b`` at 1.1. A weight must be a plain decimal
  number (``1``, ``1.5``, ``.5``, ``-1``); anything else leaves the ``:`` as text.
- Free: a lone ``\\`` before another character is dropped (as A1111 does), the character kept.
- Free: ``BREAK`` inside parentheses is still a break, its weight stays -1.
- Empty pieces are left out; adjacent pieces with equal weight merge (BREAKs never merge).
  Empty text gives ``[("", 1.0)]``.
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
    pieces: list[list] = []  # [text, weight]: weight multiplied in place, None for BREAK
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

    # 3. Drop empty pieces and merge neighbours of equal weight.
    merged: list[tuple[str, float]] = []
    previous_weight = None
    for piece_text, weight in pieces:
        if weight is None:
            merged.append((BREAK, BREAK_WEIGHT))
        elif piece_text and weight == previous_weight:
            merged[-1] = (merged[-1][0] + piece_text, weight)
        elif piece_text:
            merged.append((piece_text, weight))
        else:
            continue
        previous_weight = weight
    return merged or [("", 1.0)]


def _split_breaks(run: str) -> list[list]:
    pieces = []
    for index, part in enumerate(_BREAK_RE.split(run)):
        if index > 0:
            pieces.append([BREAK, None])
        pieces.append([part, 1.0])
    return pieces


def _multiply(pieces: list[list], start: int, multiplier: float) -> None:
    for piece in pieces[start:]:
        if piece[1] is not None:
            piece[1] *= multiplier
