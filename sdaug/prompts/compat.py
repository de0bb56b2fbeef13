"""A1111's compatibility flags: older versions made images differently, and an infotext's
``Version`` says which of those behaviours reproduce it (A1111's ``infotext_versions``).

The version is the text up to its second ``-`` (``v1.6.0-2-g4afaaf8a`` -> ``v1.6.0-2``, which
``packaging`` reads as 1.6.0.post2); a version that does not parse (sdaug's own, a fork's) sets
no flag. The rules, from spec/prompt-syntax.md:

========================================  =================================================
flag                                      set when
========================================  =================================================
``Old prompt editing timelines``          below 1.6.0 and the prompt holds ``[``
``Pad conds v0``                          below 1.6.0 and the sampler is DDIM or PLMS
``Downcast alphas_cumprod``               below v1.7.0-225
``Refiner switch by sampling steps``      below 1.8.0 and there is a ``Refiner`` key
========================================  =================================================

Flags are infotext keys with the value ``True``; a flag already in the infotext is kept as
written, and (as A1111 casts it) any value but ``False`` is on. What each flag changes is applied
by the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from packaging.version import InvalidVersion, Version

OLD_PROMPT_EDITING = "Old prompt editing timelines"
PAD_CONDS_V0 = "Pad conds v0"
DOWNCAST_ALPHAS_CUMPROD = "Downcast alphas_cumprod"
REFINER_BY_STEPS = "Refiner switch by sampling steps"
COMPAT_FLAGS = (OLD_PROMPT_EDITING, PAD_CONDS_V0, DOWNCAST_ALPHAS_CUMPROD, REFINER_BY_STEPS)
# A1111's key for its "Pad prompt/negative prompt" option: prompts of different lengths padded
# with empty chunks. sdaug always pads so and writes the key when it did, so A1111 reproduces the
# image; read back it changes nothing (it is not kept as an unknown key).
PAD_CONDS_KEY = "Pad conds"

_V160 = Version("1.6.0")
_V170_TSNR = Version("v1.7.0-225")
_V180 = Version("1.8.0")
_UP_TO_SECOND_DASH = re.compile(r"([^-]+-[^-]+)-.*")


def parse_version(text: str | None) -> Version | None:
    """``"v1.6.0-2-g4afaaf8a"`` -> ``Version("1.6.0.post2")``; None when it is no A1111 version."""
    if not text:
        return None
    match = _UP_TO_SECOND_DASH.match(text)
    try:
        return Version(match.group(1) if match else text)
    except InvalidVersion:
        return None


def version_flags(params: Mapping[str, str]) -> list[str]:
    """The flags the ``Version`` of parsed infotext ``params`` implies (see the module table)."""
    version = parse_version(params.get("Version"))
    if version is None:
        return []
    flags = []
    if version < _V160 and "[" in params.get("Prompt", ""):
        flags.append(OLD_PROMPT_EDITING)
    if version < _V160 and params.get("Sampler", "") in ("DDIM", "PLMS"):
        flags.append(PAD_CONDS_V0)
    if version < _V170_TSNR:
        flags.append(DOWNCAST_ALPHAS_CUMPROD)
    if version < _V180 and params.get("Refiner"):
        flags.append(REFINER_BY_STEPS)
    return flags


def is_on(value: str) -> bool:
    """A flag's infotext value: on unless it is ``False`` (A1111 casts with ``bool()``)."""
    return value.strip() != "False"
