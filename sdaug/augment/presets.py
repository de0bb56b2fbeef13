"""Weather and lighting presets: TOML files a non-programmer can copy and edit.

A preset is one ``.toml`` file in a ``weather/`` or ``lighting/`` folder; its name (on the
command line, in job records) is the file name without ``.toml``. ``sdaug/presets/README.md`` lists
every key, in English and Chinese.

Where presets come from, later folders adding to and overriding earlier ones:

1. the built-in folder ``sdaug/presets/``, package data found with ``importlib.resources``
   (the same in a checkout, an editable install and a wheel);
2. the user folder ``<data folder>/presets/{weather,lighting}`` (``Settings.user_presets_dir``).
   A user file with a built-in preset's name replaces that preset.

A file that does not parse or validate is logged as a warning, added to the caller's
``problems`` list as ``"<file>: <what is wrong>"``, and skipped; the other presets still load.
"""

from __future__ import annotations

import difflib
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from sdaug.augment.classic import validate_classic
from sdaug.engine.region import MAX_FEATHER, RegionStrength
from sdaug.engine.request import GenerationRequest
from sdaug.errors import InputError, Phrase, as_line
from sdaug.resources import package_path
from sdaug.settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

logger = logging.getLogger(__name__)

KINDS = ("weather", "lighting")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_TOP_KEYS = ("title_en", "title_zh", "prompt", "negative_prompt", "strength", "steps", "sampler",
             "schedule_type", "cfg_scale", "clip_skip", "control_type", "control_weight", "loras", "drift",
             "classic", "box_strength", "background_strength", "box_feather")
_REQUIRED = ("title_en", "prompt", "strength", "classic")
_DRIFT_KEYS = ("box_min", "image_min", "semantic_drop")


@dataclass(frozen=True)
class DriftThresholds:
    """A variant passes when every carried box scores at least ``box_min`` and the whole image
    at least ``image_min`` (scores in [0, 1], see :mod:`sdaug.augment.drift`)."""

    box_min: float = 0.5
    image_min: float = 0.45
    # The CLIP check (a job run with a semantic model): a box fails when its class's probability
    # fell by more than this share of the source's, or another class became the best match.
    semantic_drop: float = 0.5


@dataclass
class Preset:
    """One weather or lighting preset, as read from its TOML file."""

    name: str
    kind: str
    title_en: str
    title_zh: str
    prompt: str
    negative_prompt: str = ""
    strength: float = 0.35
    steps: int = 20
    sampler: str = "DPM++ 2M"
    schedule_type: str = "Automatic"
    cfg_scale: float = 7.0
    clip_skip: int = 1
    loras: dict[str, float] = field(default_factory=dict)
    control_type: str = ""  # "" = plain img2img (weather); "canny" etc. = ControlNet (lighting)
    control_weight: float = 1.0
    drift: DriftThresholds = field(default_factory=DriftThresholds)
    classic: dict[str, object] = field(default_factory=lambda: {"effect": "tone"})
    # Region-aware strength (see sdaug.engine.region): None = the same strength everywhere.
    box_strength: float | None = None
    background_strength: float | None = None  # None: ``strength``
    box_feather: int = 32
    path: Path | None = None
    builtin: bool = False

    def title(self, lang: str = "en") -> str:
        """The preset's display name in ``lang`` ("en" or "zh")."""
        return self.title_zh if lang == "zh" and self.title_zh else self.title_en

    @property
    def region(self) -> RegionStrength | None:
        """Strength inside the boxes and outside, or None when the preset protects no boxes."""
        if self.box_strength is None:
            return None
        background = self.strength if self.background_strength is None else self.background_strength
        return RegionStrength(self.box_strength, background, self.box_feather)

    @property
    def full_prompt(self) -> str:
        """The prompt with a ``<lora:NAME:W>`` tag for each LoRA not already in it."""
        tags = [f"<lora:{name}:{weight:g}>" for name, weight in self.loras.items()
                if f"<lora:{name}:" not in self.prompt]
        return ", ".join([self.prompt.rstrip(", "), *tags]) if tags else self.prompt

    def to_request(self, **overrides: object) -> GenerationRequest:
        """A :class:`GenerationRequest` for this preset: img2img for a preset without a
        ControlNet, ControlNet with ``control_type``/``control_weight`` otherwise.
        ``overrides`` set any request field (``init_images``, ``seeds``, ``model``, size …)."""
        allowed = {f.name for f in fields(GenerationRequest)}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise ValueError(f"GenerationRequest has no field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        values: dict[str, object] = {
            "mode": "controlnet" if self.control_type else "img2img",
            "prompt": self.full_prompt,
            "negative_prompt": self.negative_prompt,
            "steps": self.steps,
            "sampler": self.sampler,
            "schedule_type": self.schedule_type,
            "cfg_scale": self.cfg_scale,
            "clip_skip": self.clip_skip,
            "denoising_strength": self.strength,
        }
        if self.control_type:
            values.update(control_type=self.control_type, control_weight=self.control_weight)
        region = self.region
        if region is not None:
            values.update(box_strength=region.box_strength, background_strength=region.background_strength,
                          box_feather=region.feather)
        values.update(overrides)
        return GenerationRequest(**values)  # type: ignore[arg-type]


# Finding and loading ------------------------------------------------------------------------------

def builtin_presets_dir() -> Path:
    """The folder of the built-in presets (see the module docstring)."""
    return package_path("presets")


def load_presets(kind: str, settings: Settings | None = None, problems: list[str] | None = None) -> list[Preset]:
    """All presets of ``kind`` ("weather" or "lighting"), sorted by name.

    Built-in ones first, then ``settings.user_presets_dir/<kind>`` adding to and overriding them
    (``settings=None``: built-ins only). Broken files are skipped and described in ``problems``.
    """
    if kind not in KINDS:
        raise InputError("value.choice", field="preset kind", allowed=", ".join(KINDS), value=kind)
    folders = [(builtin_presets_dir() / kind, True)]
    if settings is not None:
        folders.append((settings.user_presets_dir / kind, False))
    found: dict[str, Preset] = {}
    for folder, builtin in folders:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                preset = load_preset_file(path, kind, builtin=builtin)
            except ValueError as exc:
                logger.warning("skipping preset file %s", exc)
                if problems is not None:
                    problems.append(as_line(exc))
                continue
            found[preset.name] = preset
    return [found[name] for name in sorted(found)]


def load_all_presets(settings: Settings | None = None, problems: list[str] | None = None) -> dict[str, Preset]:
    """Every preset of every kind by name (a weather preset wins over a lighting one of the same
    name; the clash is reported in ``problems``)."""
    presets: dict[str, Preset] = {}
    for kind in KINDS:
        for preset in load_presets(kind, settings, problems):
            if preset.name in presets:
                message = Phrase("preset.clash", path=preset.path, name=preset.name,
                                 what=presets[preset.name].kind, kind=kind)
                logger.warning(message)
                if problems is not None:
                    problems.append(message)
                continue
            presets[preset.name] = preset
    return presets


def get_preset(name: str, settings: Settings | None = None) -> Preset:
    """The preset called ``name`` (file name without ``.toml``; ``kind/name`` also works)."""
    kind, _, short = name.rpartition("/")
    presets = {p.name: p for p in load_presets(kind, settings)} if kind else load_all_presets(settings)
    if short in presets:
        return presets[short]
    close = difflib.get_close_matches(short, presets, n=1)
    known = ", ".join(sorted(presets))
    if close:
        raise InputError("preset.unknown_close", name=name, close=close[0], names=known)
    raise InputError("preset.unknown", name=name, names=known)


def load_preset_file(path: str | Path, kind: str, builtin: bool = False) -> Preset:
    """Read and validate one preset file; ``ValueError("<file>: <what is wrong>")`` if it is bad."""
    path = Path(path)
    try:
        if not _NAME.match(path.stem):
            raise InputError("preset.file_name")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError("preset.not_utf8") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InputError("preset.not_toml", reason=str(exc)) from exc
        return _preset_from_table(data, name=path.stem, kind=kind, path=path, builtin=builtin)
    except (OSError, ValueError) as exc:
        raise InputError("error.in_file", where=path, error=exc if isinstance(exc, InputError) else str(exc)) from exc



def _preset_from_table(data: Mapping[str, object], *, name: str, kind: str, path: Path, builtin: bool) -> Preset:
    _check_keys("", data, _TOP_KEYS)
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise InputError("preset.missing_key", setting=missing[0], required=", ".join(_REQUIRED))
    drift = _table(data, "drift")
    _check_keys("[drift] ", drift, _DRIFT_KEYS)
    loras = _table(data, "loras")
    for lora, weight in loras.items():
        _number(f"[loras] {lora}", weight, -5.0, 5.0)
    classic = _table(data, "classic")
    defaults = Preset(name=name, kind=kind, title_en="", title_zh="", prompt="")
    control_default = "canny" if kind == "lighting" else ""
    control_type = _text(data, "control_type", control_default).strip().lower()
    return Preset(
        name=name,
        kind=kind,
        title_en=_text(data, "title_en", ""),
        title_zh=_text(data, "title_zh", _text(data, "title_en", "")),
        prompt=_text(data, "prompt", ""),
        negative_prompt=_text(data, "negative_prompt", ""),
        strength=_number("strength", data["strength"], 0.0, 1.0),
        steps=int(_number("steps", data.get("steps", defaults.steps), 1, 150, whole=True)),
        sampler=_text(data, "sampler", defaults.sampler),
        schedule_type=_text(data, "schedule_type", defaults.schedule_type),
        cfg_scale=_number("cfg_scale", data.get("cfg_scale", defaults.cfg_scale), 0.0, 30.0),
        clip_skip=int(_number("clip_skip", data.get("clip_skip", defaults.clip_skip), 1, 12, whole=True)),
        loras={str(lora): float(weight) for lora, weight in loras.items()},  # type: ignore[arg-type]
        control_type="" if control_type == "none" else control_type,
        control_weight=_number("control_weight", data.get("control_weight", defaults.control_weight), 0.0, 2.0),
        drift=DriftThresholds(
            box_min=_number("[drift] box_min", drift.get("box_min", DriftThresholds.box_min), 0.0, 1.0),
            image_min=_number("[drift] image_min", drift.get("image_min", DriftThresholds.image_min), 0.0, 1.0),
            semantic_drop=_number("[drift] semantic_drop", drift.get("semantic_drop", DriftThresholds.semantic_drop),
                                  0.0, 1.0),
        ),
        classic=validate_classic(classic),
        box_strength=_optional_number(data, "box_strength"),
        background_strength=_optional_number(data, "background_strength"),
        box_feather=int(_number("box_feather", data.get("box_feather", defaults.box_feather), 0, MAX_FEATHER,
                                whole=True)),
        path=path,
        builtin=builtin,
    )


def _optional_number(data: Mapping[str, object], key: str) -> float | None:
    return None if key not in data else _number(key, data[key], 0.0, 1.0)


def _check_keys(where: str, table: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                raise InputError("preset.unknown_key_close", where=where, setting=key, close=close[0],
                                 allowed=", ".join(allowed))
            raise InputError("preset.unknown_key", where=where, setting=key, allowed=", ".join(allowed))


def _table(data: Mapping[str, object], key: str) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InputError("preset.not_table", setting=key)
    return value


def _text(data: Mapping[str, object], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise InputError("preset.not_text", setting=key, value=value)
    if key in ("title_en", "prompt") and not value.strip():
        raise InputError("preset.empty", setting=key)
    return value


def _number(key: str, value: object, low: float, high: float, whole: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (whole and value != int(value)):
        raise InputError("value.whole_range" if whole else "value.number_range", field=key, low=f"{low:g}",
                         high=f"{high:g}", value=value)
    if not low <= value <= high:
        raise InputError("value.range", field=key, low=f"{low:g}", high=f"{high:g}", value=value)
    return float(value)
