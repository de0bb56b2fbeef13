"""Infotext parameters <-> GenerationRequest fields.

:func:`infotext_params` builds the parameters written with an image from a request;
:func:`request_fields` maps a parsed infotext (:func:`sdaug.prompts.parse_infotext`) back to
request field values. The request is duck-typed (the fields of
``sdaug.engine.request.GenerationRequest``) so this package never imports the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from sdaug import __version__
from sdaug.errors import InputError
from sdaug.prompts.compat import COMPAT_FLAGS, PAD_CONDS_KEY, is_on

VERSION = f"sdaug {__version__}"
SCHEDULE_TYPES = ("Automatic", "Uniform", "Karras", "Exponential", "SGM Uniform")
DEFAULT_SCHEDULE = "Automatic"
# Suffixes of old combined sampler names ("DPM++ 2M Karras"); longest first.
_SCHEDULE_SUFFIXES = ("SGM Uniform", "Exponential", "Uniform", "Karras")
# Modes whose images start from an input image, so "Denoising strength" applies.
_IMAGE_MODES = ("img2img", "controlnet")
# Keys that describe the run that made the image: never copied from a pasted infotext.
_RUN_KEYS = ("Model hash", "Model", "Version")
# A1111's random number sources; an infotext without an RNG key was made with GPU.
RNG_KEY = "RNG"
RNG_SOURCES = ("GPU", "CPU", "NV")


def split_sampler_name(name: str) -> tuple[str, str]:
    """Split an A1111 sampler name into (sampler, schedule type).

    ``"DPM++ 2M Karras"`` -> ``("DPM++ 2M", "Karras")``; a name without a schedule suffix ->
    ``(name, "Automatic")``. Sampler names are not checked here (the engine knows them).
    """
    name = " ".join(name.split())
    for suffix in _SCHEDULE_SUFFIXES:
        if name.lower().endswith(" " + suffix.lower()):
            return name[: -len(suffix) - 1], suffix
    return name, DEFAULT_SCHEDULE


def infotext_params(
    request: Any,
    seed: int,
    model_name: str = "",
    model_hash: str = "",
    extra: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Infotext parameters of one image of ``request`` made with ``seed``.

    ``model_name`` defaults to ``request.model``. The request's ``extra_params`` (pasted keys
    sdaug does not interpret) are kept, except those that describe the run (Model, Model hash,
    Version); ``extra`` (for example ``Lora hashes`` computed by the engine) overrides them.
    """
    # 1. The parameters every image has.
    params = {
        "Steps": str(request.steps),
        "Sampler": request.sampler,
        "Schedule type": request.schedule_type,
        "CFG scale": _format_number(request.cfg_scale),
        "Seed": str(seed),
        "Size": f"{request.width}x{request.height}",
    }

    # 2. The ones that depend on the model and mode.
    if model_hash:
        params["Model hash"] = model_hash
    if model_name or request.model:
        params["Model"] = model_name or request.model
    if request.mode in _IMAGE_MODES:
        params["Denoising strength"] = _format_number(request.denoising_strength)
    if request.clip_skip > 1:
        params["Clip skip"] = str(request.clip_skip)

    # 3. The compatibility flags that are on, kept keys, the caller's extra keys, the version.
    for flag in COMPAT_FLAGS:
        if flag in request.compat:
            params[flag] = "True"
    for key, value in request.extra_params.items():
        if key not in params and key not in _RUN_KEYS:
            params[key] = str(value)
    params.update({key: str(value) for key, value in (extra or {}).items() if value is not None})
    params.setdefault("Version", VERSION)
    return params


def request_fields(params: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """Map parsed infotext parameters to (request field values, other keys kept as extras).

    Only keys present in ``params`` appear in the fields, except two that always do, because an
    infotext without them still says something (as A1111 reads it): ``rng`` (no ``RNG`` key is
    ``GPU``) and ``compat``, the compatibility flags that are on. A bad value raises
    ``ValueError`` naming its key.
    """
    fields: dict[str, object] = {"rng": "GPU", "compat": []}
    extras: dict[str, str] = {}
    for key, value in params.items():
        if key in COMPAT_FLAGS:
            if is_on(value):
                fields["compat"].append(key)
        elif key == PAD_CONDS_KEY:
            continue  # what sdaug always does; the engine writes it again when it pads
        elif key == RNG_KEY:
            if value not in RNG_SOURCES:
                raise InputError("value.choice", field="RNG", allowed=", ".join(RNG_SOURCES), value=value)
            fields["rng"] = value
        elif key in _FIELDS:
            name, convert = _FIELDS[key]
            fields[name] = convert(key, value)
        elif key == "Sampler":
            sampler, schedule = split_sampler_name(value)
            if not sampler:
                raise InputError("params.no_sampler")
            fields["sampler"] = sampler
            fields.setdefault("schedule_type", schedule)
        elif key == "Size":
            fields["width"], fields["height"] = _parse_size(value)
        else:
            extras[key] = value
    return fields, extras


def _format_number(value: float) -> str:
    """``7.0`` -> ``"7"``, ``0.35`` -> ``"0.35"`` (shortest exact form)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _to_text(key: str, value: str) -> str:
    return value


def _to_schedule(key: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InputError("params.empty_schedule", field=key, allowed=", ".join(SCHEDULE_TYPES))
    return value


def _to_int(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        number = _to_float(key, value)
        if not number.is_integer():
            raise InputError("value.whole", field=key, value=value) from None
        return int(number)


def _to_float(key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InputError("value.number", field=key, value=value) from None
    if not math.isfinite(number):
        raise InputError("value.finite", field=key, value=value)
    return number


def _parse_size(value: str) -> tuple[int, int]:
    width, sep, height = value.strip().lower().partition("x")
    try:
        if not sep:
            raise ValueError
        return int(width), int(height)
    except ValueError:
        raise InputError("params.size", value=value) from None


_FIELDS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "Prompt": ("prompt", _to_text),
    "Negative prompt": ("negative_prompt", _to_text),
    "Steps": ("steps", _to_int),
    "Schedule type": ("schedule_type", _to_schedule),
    "CFG scale": ("cfg_scale", _to_float),
    "Seed": ("seed", _to_int),
    "Denoising strength": ("denoising_strength", _to_float),
    "Clip skip": ("clip_skip", _to_int),
    "Model": ("model", _to_text),
}
