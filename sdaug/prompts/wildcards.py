"""Wildcards (the dynamic-prompts convention): ``{a|b|c}`` picks one option at random.

- ``{2$$a|b|c}`` picks 2 distinct options, joined by ``", "``; ``{1-3$$a|b|c}`` picks a random
  count in that range. A count larger than the number of options picks them all.
- Nested braces resolve inside out, left to right: ``{a|{b|c}}``.
- The choices come from ``random.Random(seed)``: the same prompt and seed give the same text,
  so a batch (seed + i) varies and a re-run repeats.
- ``|`` splits options only outside ``[...]`` and ``(...)`` inside the braces, so A1111
  alternation ``{[a|b]|c}`` keeps working. ``\\{`` ``\\}`` ``\\|`` are literal and copied
  through unchanged (the emphasis parser then drops the backslash). An unmatched ``{`` or
  ``}`` is literal text.

A hand-written scanner with a stack of open groups: the format is a few rules, and no library
for it is a dependency of this project.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

JOINER = ", "
_COUNT_RE = re.compile(r"^\s*(\d+)(?:\s*-\s*(\d+))?\s*\$\$")


@dataclass
class _Group:
    """An open ``{``: its options so far, and the bracket depth inside the current option."""

    options: list[list[str]] = field(default_factory=lambda: [[]])
    depth: int = 0


def expand_wildcards(prompt: str, seed: int) -> str:
    """Resolve every ``{...}`` group of ``prompt`` with choices seeded by ``seed``."""
    rng = random.Random(seed)
    top: list[str] = []
    groups: list[_Group] = []
    pos = 0
    while pos < len(prompt):
        char = prompt[pos]
        out = groups[-1].options[-1] if groups else top
        if char == "\\" and pos + 1 < len(prompt):
            out.append(prompt[pos : pos + 2])
            pos += 2
            continue
        if char == "{":
            groups.append(_Group())
        elif char == "}" and groups:
            group = groups.pop()
            (groups[-1].options[-1] if groups else top).append(_choose(group, rng))
        elif char == "|" and groups and groups[-1].depth == 0:
            groups[-1].options.append([])
        else:
            if groups and char in "[(":
                groups[-1].depth += 1
            elif groups and char in "])":
                groups[-1].depth = max(0, groups[-1].depth - 1)
            out.append(char)
        pos += 1

    # Groups never closed are literal text.
    for group in groups:
        top.append("{" + "|".join("".join(option) for option in group.options))
    return "".join(top)


def _choose(group: _Group, rng: random.Random) -> str:
    options = ["".join(option) for option in group.options]
    count = _COUNT_RE.match(options[0])
    if count is None:
        return rng.choice(options)
    options[0] = options[0][count.end() :]
    low = int(count.group(1))
    high = int(count.group(2)) if count.group(2) is not None else low
    picked = rng.randint(min(low, high), max(low, high))
    return JOINER.join(rng.sample(options, min(picked, len(options))))
