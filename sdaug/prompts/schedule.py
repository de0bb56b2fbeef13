"""Prompt editing and alternation: ``schedules(prompt, steps) -> [(end_step, text), ...]``.

Syntax (spec/prompt-syntax.md, "Prompt editing and alternation")::

    [from:to:when]  [to:when]  [from::when]   prompt editing (when: step, or fraction with ".")
    [a|b|c]                                   alternation, one option per step
    (x)  (x:w)  [x]                           emphasis: kept as text for :func:`attention`

A hand-written recursive-descent parser (no parser library): the grammar is small, and writing
it here keeps the error positions and the "literal text" fallbacks under our control.

Parsing rules, matching A1111:

- Inside brackets every nested bracket must be a well-formed construct; escapes (``\\x``) are
  copied through unchanged. At the top level a bracket or ``:`` that does not start a
  construct is literal text, so ``[a:b:c]`` (no number) is plain text.
- A ``|`` outside any ``[...]`` (or a lone ``\\`` at the end) makes the whole prompt not parse:
  it is then returned unchanged as ``[(steps, prompt)]``.
- ``when`` containing ``.`` is a fraction of ``steps`` (``int(when * steps)``), otherwise an
  absolute step; it is clamped to ``steps``, and ``<= 0`` means "already switched". With
  ``old_timelines`` (A1111's ``Old prompt editing timelines`` flag, for images of A1111 before
  1.6.0) a ``when`` below 1 is a fraction and 1 or more a step, with or without a ``.``.
- Brackets nested deeper than :data:`MAX_DEPTH` raise ``ValueError`` with the position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sdaug.errors import InputError

MAX_DEPTH = 100

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
# The end of `[... : when]`, matched right after the last ":".
_WHEN_RE = re.compile(rf"\s*({_NUMBER})\s*\]")
# Characters that end a run of plain text.
_SPECIAL = frozenset("\\[]():|")
# Characters that are literal text when they start no construct at the top level.
_STRAY = frozenset("[]():")


@dataclass(frozen=True)
class _Emphasis:
    """``(a)``, ``(a:b)`` or ``[a]``: rendered back as text, with its parts scheduled."""

    open: str
    parts: tuple[tuple[object, ...], ...]
    close: str


@dataclass(frozen=True)
class _Edit:
    """``[before:after:when]``: ``before`` up to and including step ``when``, then ``after``."""

    before: tuple[object, ...]
    after: tuple[object, ...]
    when: int


@dataclass(frozen=True)
class _Alternation:
    """``[a|b|c]``: option ``(step - 1) % len(options)`` at each step."""

    options: tuple[tuple[object, ...], ...]


def schedules(prompt: str, steps: int, old_timelines: bool = False) -> list[tuple[int, str]]:
    """The prompt text to use up to each end step: ``[(end_step, text), ...]``, last = ``steps``.

    ``a[b:[c:d:2]:1]e`` for 10 steps -> ``[(1, 'abe'), (2, 'ace'), (10, 'ade')]``.
    ``old_timelines``: A1111's old reading of ``when`` (see the module docstring).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number of at least 1, got {steps!r}")

    # 1. Parse; a prompt that does not parse is used unchanged for every step.
    nodes = _Parser(prompt, steps, old_timelines).parse()
    if nodes is None:
        return [(steps, prompt)]

    # 2. The steps where the text can change.
    ends = {steps}
    for node in _walk(nodes):
        if isinstance(node, _Edit) and node.when >= 1:
            ends.add(node.when)
        elif isinstance(node, _Alternation):
            ends.update(range(1, steps + 1))

    # 3. The text up to each of them.
    return [(end, _render(nodes, end)) for end in sorted(ends)]


class _Parser:
    def __init__(self, text: str, steps: int, old_timelines: bool = False) -> None:
        self.text = text
        self.steps = steps
        self.old_timelines = old_timelines
        self.constructs: dict[int, tuple[object, int] | None] = {}

    def parse(self) -> tuple[object, ...] | None:
        """The top level: sequences joined by stray characters; None if it does not parse."""
        nodes: list[object] = []
        pos = 0
        while True:
            sequence, pos = self.sequence(pos, depth=0)
            nodes.extend(sequence)
            if pos == len(self.text):
                return tuple(nodes)
            if self.text[pos] not in _STRAY:
                return None
            nodes.append(self.text[pos])
            pos += 1

    def sequence(self, pos: int, depth: int) -> tuple[list[object], int]:
        """Plain text and constructs from ``pos``; stops at the first character it cannot use."""
        nodes: list[object] = []
        text = self.text
        while pos < len(text):
            char = text[pos]
            if char in "[(":
                parsed = self.construct(pos, depth + 1)
                if parsed is None:
                    break
                node, pos = parsed
                nodes.append(node)
            elif char == "\\":
                if pos + 1 == len(text):
                    break
                nodes.append(text[pos : pos + 2])
                pos += 2
            elif char in _SPECIAL:
                break
            else:
                start = pos
                while pos < len(text) and text[pos] not in _SPECIAL:
                    pos += 1
                nodes.append(text[start:pos])
        return nodes, pos

    def construct(self, pos: int, depth: int) -> tuple[object, int] | None:
        """The bracket construct starting at ``pos`` and the position after it, or None."""
        if pos not in self.constructs:
            if depth > MAX_DEPTH:
                raise InputError("prompt.too_deep", limit=MAX_DEPTH, position=pos)
            parse = self._round if self.text[pos] == "(" else self._square
            self.constructs[pos] = parse(pos, depth)
        return self.constructs[pos]

    def _round(self, pos: int, depth: int) -> tuple[object, int] | None:
        first, pos = self.sequence(pos + 1, depth)
        parts = [tuple(first)]
        if self._at(pos, ":"):
            second, pos = self.sequence(pos + 1, depth)
            parts.append(tuple(second))
        if not self._at(pos, ")"):
            return None
        return _Emphasis("(", tuple(parts), ")"), pos + 1

    def _square(self, pos: int, depth: int) -> tuple[object, int] | None:
        first, pos = self.sequence(pos + 1, depth)
        if self._at(pos, "]"):
            return _Emphasis("[", (tuple(first),), "]"), pos + 1
        if self._at(pos, "|"):
            return self._alternation(first, pos, depth)
        if not self._at(pos, ":"):
            return None
        # `[to:when]`, else `[from:to:when]`.
        when = _WHEN_RE.match(self.text, pos + 1)
        if when is not None:
            return _Edit((), tuple(first), self._when(when.group(1))), when.end()
        second, pos = self.sequence(pos + 1, depth)
        when = _WHEN_RE.match(self.text, pos + 1) if self._at(pos, ":") else None
        if when is None:
            return None
        return _Edit(tuple(first), tuple(second), self._when(when.group(1))), when.end()

    def _alternation(self, first: list[object], pos: int, depth: int) -> tuple[object, int] | None:
        options = [tuple(first)]
        while self._at(pos, "|"):
            option, pos = self.sequence(pos + 1, depth)
            options.append(tuple(option))
        if not self._at(pos, "]"):
            return None
        return _Alternation(tuple(options)), pos + 1

    def _when(self, number: str) -> int:
        value = float(number)
        if (value < 1) if self.old_timelines else ("." in number):
            value *= self.steps
        # Clamp before int(): the number may be huge ("1e400" is inf).
        return int(max(-1.0, min(float(self.steps), value)))

    def _at(self, pos: int, char: str) -> bool:
        return pos < len(self.text) and self.text[pos] == char


def _walk(nodes: tuple[object, ...]) -> Iterator[object]:
    """Every construct in ``nodes``, nested ones included."""
    for node in nodes:
        if isinstance(node, _Emphasis):
            children = node.parts
        elif isinstance(node, _Edit):
            children = (node.before, node.after)
        elif isinstance(node, _Alternation):
            children = node.options
        else:
            continue
        yield node
        for child in children:
            yield from _walk(child)


def _render(nodes: tuple[object, ...], step: int) -> str:
    """The text of ``nodes`` at ``step`` (1-based)."""
    pieces = []
    for node in nodes:
        if isinstance(node, str):
            pieces.append(node)
        elif isinstance(node, _Emphasis):
            inner = ":".join(_render(part, step) for part in node.parts)
            pieces.append(node.open + inner + node.close)
        elif isinstance(node, _Edit):
            pieces.append(_render(node.before if step <= node.when else node.after, step))
        else:
            pieces.append(_render(node.options[(step - 1) % len(node.options)], step))
    return "".join(pieces)
