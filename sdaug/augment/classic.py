"""Classic (no-model) weather and lighting effects on the CPU, with numpy and OpenCV.

Every preset has a classic effect (its ``[classic]`` table names ``effect`` and its settings),
used by ``--engine classic``: no GPU and no model weights needed, a few milliseconds per image.

Why our own code: albumentations has most of these effects, but its MIT-licensed releases are
no longer maintained and its successor (AlbumentationsX) is AGPL, which this Apache-2.0 project
cannot ship; imgaug is unmaintained too. The effects here are short, plain numpy/OpenCV.

Rules every effect keeps:

- deterministic: all randomness comes from ``numpy.random.default_rng(seed)``;
- geometry preserved: same size, no warps or shifts, so carried boxes stay valid;
- images are float32 RGB in [0, 1] inside, 8-bit RGB outside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from sdaug.engine.region import Box, strength_map
from sdaug.errors import InputError

Array = np.ndarray
Color = tuple[float, float, float]


@dataclass(frozen=True)
class Setting:
    """One setting of an effect: its default and its allowed range (per component for colours)."""

    default: float | int | Color
    low: float
    high: float


# Settings the tone curve shares with the street-lamp effect.
_TONE_SETTINGS: dict[str, Setting] = {
    "brightness": Setting(1.0, 0.0, 3.0),
    "gamma": Setting(1.0, 0.2, 5.0),
    "contrast": Setting(1.0, 0.0, 3.0),
    "saturation": Setting(1.0, 0.0, 3.0),
    "tint": Setting((1.0, 1.0, 1.0), 0.0, 3.0),
    "noise": Setting(0.0, 0.0, 0.5),
    "vignette": Setting(0.0, 0.0, 1.0),
}

SETTINGS: dict[str, dict[str, Setting]] = {
    "rain": {
        "density": Setting(4.0, 0.0, 100.0),
        "length": Setting(0.05, 0.0, 1.0),
        "angle": Setting(8.0, -80.0, 80.0),
        "thickness": Setting(1, 1, 10),
        "opacity": Setting(0.35, 0.0, 1.0),
        "darken": Setting(0.12, 0.0, 1.0),
        "haze": Setting(0.1, 0.0, 1.0),
    },
    "snow": {
        "density": Setting(3.0, 0.0, 100.0),
        "size": Setting(0.008, 0.0, 0.2),
        "angle": Setting(0.0, -80.0, 80.0),
        "opacity": Setting(0.8, 0.0, 1.0),
        "whiten": Setting(0.12, 0.0, 1.0),
        "haze": Setting(0.08, 0.0, 1.0),
    },
    "fog": {
        "density": Setting(0.5, 0.0, 1.0),
        "gradient": Setting(0.6, 0.0, 1.0),
        "blur": Setting(0.004, 0.0, 0.1),
        "color": Setting((222.0, 225.0, 228.0), 0.0, 255.0),
    },
    "haze": {
        "density": Setting(0.4, 0.0, 1.0),
        "color": Setting((196.0, 186.0, 160.0), 0.0, 255.0),
        "contrast": Setting(0.85, 0.0, 2.0),
        "saturation": Setting(0.7, 0.0, 2.0),
    },
    "sandstorm": {
        "density": Setting(0.5, 0.0, 1.0),
        "color": Setting((205.0, 150.0, 85.0), 0.0, 255.0),
        "dust": Setting(6.0, 0.0, 100.0),
        "contrast": Setting(0.65, 0.0, 2.0),
    },
    "tone": dict(_TONE_SETTINGS),
    "streetlamps": {
        **_TONE_SETTINGS,
        "lamps": Setting(3, 0, 20),
        "lamp_color": Setting((255.0, 180.0, 95.0), 0.0, 255.0),
        "lamp_radius": Setting(0.22, 0.0, 1.0),
        "lamp_intensity": Setting(0.8, 0.0, 3.0),
    },
}

EFFECTS: tuple[str, ...] = tuple(SETTINGS)


def validate_classic(table: Mapping[str, object]) -> dict[str, object]:
    """Check a preset's ``[classic]`` table; return it with defaults filled in.

    Raises ``ValueError`` naming the bad setting and what is allowed.
    """
    effect = table.get("effect")
    if effect not in SETTINGS:
        raise InputError("value.choice", field="[classic] effect", allowed=", ".join(EFFECTS), value=effect)
    settings = SETTINGS[str(effect)]
    unknown = sorted(set(table) - set(settings) - {"effect"})
    if unknown:
        raise InputError("classic.no_setting", effect=effect, setting=unknown[0], allowed=", ".join(settings))
    values: dict[str, object] = {"effect": effect}
    for name, setting in settings.items():
        values[name] = _check_setting(f"[classic] {name}", table.get(name, setting.default), setting)
    return values


def _check_setting(label: str, value: object, setting: Setting) -> float | int | Color:
    if isinstance(setting.default, tuple):
        if not isinstance(value, list | tuple) or len(value) != 3 or not all(_is_number(v) for v in value):
            raise InputError("classic.color_list", field=label, value=value)
        if not all(setting.low <= v <= setting.high for v in value):
            raise InputError("classic.color_range", field=label, low=f"{setting.low:g}", high=f"{setting.high:g}", value=value)
        return (float(value[0]), float(value[1]), float(value[2]))
    whole = isinstance(setting.default, int)
    if not _is_number(value) or (whole and value != int(value)):
        raise InputError("value.whole_range" if whole else "value.number_range", field=label,
                         low=f"{setting.low:g}", high=f"{setting.high:g}", value=value)
    if not setting.low <= value <= setting.high:
        raise InputError("value.range", field=label, low=f"{setting.low:g}", high=f"{setting.high:g}", value=value)
    return int(value) if whole else float(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def apply_classic(image: Image.Image, preset: object, seed: int, boxes: Sequence[Box] = ()) -> Image.Image:
    """Apply a preset's classic effect to ``image``; same seed, same result; same size.

    ``preset`` is a :class:`~sdaug.augment.presets.Preset` (its ``classic`` table is used) or
    the ``[classic]`` table itself as a mapping. A preset with a region-aware strength applies
    its effect less inside ``boxes`` (pixel xyxy): the effect is scaled by each pixel's strength
    over the higher of the two strengths, so fog is thinner and rain sparser on the objects.
    """
    # 1. Check the inputs.
    table = getattr(preset, "classic", preset)
    if not isinstance(table, Mapping):
        raise ValueError(f"preset must be a Preset or a [classic] table, got {type(preset).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("value.whole_min", field="seed", low=0, value=seed)
    values = validate_classic(table)
    effect = str(values.pop("effect"))

    # 2. Run the effect in float RGB.
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    rng = np.random.default_rng(seed)
    out = _FUNCTIONS[effect](rgb, rng, **values)
    region = getattr(preset, "region", None)
    if region is not None and boxes and not region.uniform:
        amount = strength_map(image.size, boxes, region) / region.highest if region.highest else 0.0
        out = rgb + (out - rgb) * np.asarray(amount, dtype=np.float32)[..., None]

    # 3. Back to 8-bit RGB at the same size, dithered: no banding in smooth fog or dark skies,
    #    and two seeds never give byte-identical variants (the store refuses duplicates).
    dither = rng.uniform(0.0, 1.0, out.shape).astype(np.float32)
    return Image.fromarray(np.clip(out * 255.0 + dither, 0, 255).astype(np.uint8), "RGB")


# Building blocks ----------------------------------------------------------------------------------

def _luminance(img: Array) -> Array:
    return img @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _saturate(img: Array, factor: float) -> Array:
    gray = _luminance(img)[..., None]
    return gray + (img - gray) * factor


def _contrast(img: Array, factor: float) -> Array:
    return img.mean(axis=(0, 1), keepdims=True) + (img - img.mean(axis=(0, 1), keepdims=True)) * factor


def _airlight(img: Array, alpha: Array, color: Color) -> Array:
    """Blend towards a uniform light colour (fog, haze, dust): ``I·(1−a) + A·a``."""
    light = np.asarray(color, dtype=np.float32) / 255.0
    a = alpha[..., None]
    return img * (1.0 - a) + light * a


def _low_frequency(rng: np.random.Generator, shape: tuple[int, int], cells: int = 4) -> Array:
    """Smooth noise in [0, 1] (patchy fog, drifting dust), upscaled from a coarse grid."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0.0, 1.0)


def _vertical_ramp(height: int, width: int) -> Array:
    """0 at the top row, 1 at the bottom row: a stand-in for depth (far at the top)."""
    column = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    return np.repeat(column, width, axis=1)


def _line_kernel(length: float, angle_deg: float) -> Array:
    """A motion-blur kernel: a line of ``length`` pixels at ``angle_deg`` from vertical."""
    size = max(3, int(math.ceil(length)) | 1)
    kernel = np.zeros((size, size), dtype=np.float32)
    centre = size / 2.0 - 0.5
    dx = math.sin(math.radians(angle_deg)) * (length - 1) / 2.0
    dy = math.cos(math.radians(angle_deg)) * (length - 1) / 2.0
    start = (round(centre - dx), round(centre - dy))
    end = (round(centre + dx), round(centre + dy))
    cv2.line(kernel, start, end, 1.0, 1)
    return kernel


def _sparse_points(rng: np.random.Generator, shape: tuple[int, int], per_10k: float) -> Array:
    """Random points (``per_10k`` per 100×100 pixels) with random brightness in [0.5, 1]."""
    points = rng.random(shape) < per_10k / 10_000.0
    return (points * rng.uniform(0.5, 1.0, shape)).astype(np.float32)


def _screen(img: Array, mask: Array, opacity: float, color: float = 0.95) -> Array:
    """Lighten where ``mask`` is set (rain streaks, snow flakes, dust)."""
    m = (mask * opacity)[..., None]
    return img * (1.0 - m) + color * m


# Effects: (rgb float32, rng, **settings) -> rgb float32 ---------------------------------------------

def _rain(img: Array, rng: np.random.Generator, *, density: float, length: float, angle: float,
          thickness: int, opacity: float, darken: float, haze: float) -> Array:
    h, w = img.shape[:2]
    # 1. Darker, slightly hazy scene (wet air, overcast sky).
    out = _airlight(img * (1.0 - darken), np.full((h, w), haze * 0.7, np.float32), (190, 195, 200))
    # 2. Streaks: sparse noise smeared along the fall direction.
    drops = _sparse_points(rng, (h, w), density)
    if thickness > 1:
        drops = cv2.dilate(drops, np.ones((thickness, thickness), np.uint8))
    streaks = cv2.filter2D(drops, -1, _line_kernel(max(2.0, length * h), angle), borderType=cv2.BORDER_REFLECT)
    streaks = cv2.GaussianBlur(np.clip(streaks, 0.0, 1.0), (3, 3), 0)
    return _screen(out, streaks, opacity, color=0.85)


def _snow(img: Array, rng: np.random.Generator, *, density: float, size: float, angle: float,
          opacity: float, whiten: float, haze: float) -> Array:
    h, w = img.shape[:2]
    # 1. Whiten: bright areas (tops, ground) turn white first; colours fade.
    gray = _luminance(img)[..., None]
    out = _saturate(img, 1.0 - 0.6 * whiten)
    out = out * (1.0 - whiten) + whiten * (0.55 + 0.45 * gray)
    out = _airlight(out, np.full((h, w), haze, np.float32), (235, 238, 242))
    # 2. Flakes in three depth layers: many small far ones, a few large near ones (softer).
    flakes = np.zeros((h, w), np.float32)
    largest = size * min(h, w)
    for layer, share in enumerate((0.55, 0.3, 0.15)):
        radius = max(1, round(largest * (layer + 1) / 3))
        count = int(round(density * share * h * w / 10_000))
        layer_mask = np.zeros((h, w), np.float32)
        xs, ys = rng.integers(0, w, count), rng.integers(0, h, count)
        for x, y, value in zip(xs, ys, rng.uniform(0.6, 1.0, count), strict=True):
            cv2.circle(layer_mask, (int(x), int(y)), radius, float(value), -1, cv2.LINE_AA)
        if angle:
            kernel = _line_kernel(3.0 * radius + 2.0, angle)
            layer_mask = cv2.filter2D(layer_mask, -1, kernel / kernel.max(), borderType=cv2.BORDER_REFLECT)
        layer_mask = cv2.GaussianBlur(layer_mask, (0, 0), 0.3 + 0.35 * radius * layer)
        flakes = np.maximum(flakes, np.clip(layer_mask, 0.0, 1.0))
    return _screen(out, flakes, opacity, color=0.97)


def _fog(img: Array, rng: np.random.Generator, *, density: float, gradient: float, blur: float,
         color: Color) -> Array:
    h, w = img.shape[:2]
    # 1. Depth-like thickness: thickest at the top (far), patchy.
    alpha = density * (1.0 - gradient * _vertical_ramp(h, w))
    alpha = alpha * (0.85 + 0.3 * _low_frequency(rng, (h, w)))
    alpha = np.clip(alpha, 0.0, 0.97)
    # 2. Scattering softens detail in proportion to the fog.
    sigma = blur * min(h, w)
    if sigma > 0.3:
        blurred = cv2.GaussianBlur(img, (0, 0), sigma)
        img = img * (1.0 - alpha[..., None]) + blurred * alpha[..., None]
    # 3. Airlight.
    return _airlight(img, alpha, color)


def _haze(img: Array, rng: np.random.Generator, *, density: float, color: Color, contrast: float,
          saturation: float) -> Array:
    h, w = img.shape[:2]
    out = _contrast(_saturate(img, saturation), contrast)
    alpha = density * (0.85 + 0.15 * (1.0 - _vertical_ramp(h, w))) * (0.9 + 0.2 * _low_frequency(rng, (h, w)))
    return _airlight(out, np.clip(alpha, 0.0, 0.97), color)


def _sandstorm(img: Array, rng: np.random.Generator, *, density: float, color: Color, dust: float,
               contrast: float) -> Array:
    h, w = img.shape[:2]
    tint = np.asarray(color, dtype=np.float32) / 255.0
    # 1. Contrast loss and an orange/brown cast (the scene lit through dust).
    out = _contrast(img, contrast)
    out = out * (1.0 - 0.5 * density) + (_luminance(out)[..., None] * tint * 1.3) * (0.5 * density)
    # 2. Swirling dust airlight.
    alpha = density * (0.6 + 0.4 * _low_frequency(rng, (h, w), cells=6)) * (1.0 - 0.3 * _vertical_ramp(h, w))
    out = _airlight(out, np.clip(alpha, 0.0, 0.95), color)
    # 3. Particles blown sideways.
    particles = _sparse_points(rng, (h, w), dust)
    particles = cv2.filter2D(particles, -1, _line_kernel(max(2.0, 0.02 * w), 80.0), borderType=cv2.BORDER_REFLECT)
    particles = np.clip(particles, 0.0, 1.0)[..., None]
    return out * (1.0 - 0.6 * particles) + np.minimum(tint * 1.15, 1.0) * 0.6 * particles


def _tone(img: Array, rng: np.random.Generator, *, brightness: float, gamma: float, contrast: float,
          saturation: float, tint: Color, noise: float, vignette: float) -> Array:
    h, w = img.shape[:2]
    # 1. A small random jitter of exposure, gamma and tint, so variants of one source differ.
    brightness *= rng.uniform(0.93, 1.07)
    gamma *= rng.uniform(0.95, 1.05)
    tint_jittered = np.asarray(tint, dtype=np.float32) * rng.uniform(0.97, 1.03, 3).astype(np.float32)
    # 2. Tone curve: gamma > 1 darkens the mid-tones (dusk, night), then exposure.
    out = np.power(np.clip(img, 0.0, 1.0), gamma) * brightness
    # 3. Colour: contrast, saturation, per-channel tint (blue shift for night).
    out = _contrast(out, contrast)
    out = _saturate(out, saturation) * tint_jittered
    # 4. Vignette and sensor noise (stronger in the dark, as in real low-light photos).
    if vignette:
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xs - w / 2) / (w / 2)) ** 2 + ((ys - h / 2) / (h / 2)) ** 2
        out = out * (1.0 - vignette * np.clip(r2 / 2.0, 0.0, 1.0))[..., None]
    if noise:
        grain = rng.normal(0.0, noise, (h, w, 1)).astype(np.float32)
        out = out + grain * (1.2 - _luminance(np.clip(out, 0.0, 1.0)))[..., None]
    return out


def _streetlamps(img: Array, rng: np.random.Generator, *, lamps: int, lamp_color: Color, lamp_radius: float,
                 lamp_intensity: float, **tone: object) -> Array:
    h, w = img.shape[:2]
    out = _tone(img, rng, **tone)  # type: ignore[arg-type]
    colour = np.asarray(lamp_color, dtype=np.float32) / 255.0
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    light = np.zeros((h, w), np.float32)
    # Lamps spread across the width, in the upper half; each lights a warm pool around it.
    for i in range(lamps):
        cx = (i + 0.5 + rng.uniform(-0.3, 0.3)) / lamps * w
        cy = rng.uniform(0.05, 0.45) * h
        radius = max(1.0, lamp_radius * max(h, w) * rng.uniform(0.7, 1.3))
        light += np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (radius * radius)))
    light = np.clip(light * lamp_intensity, 0.0, 1.5)[..., None]
    # The lamp reveals the original scene in its colour, plus a soft glow of the lamp itself.
    return out + light * (img * colour * 0.8 + colour * 0.25 * light)


_FUNCTIONS: dict[str, Callable[..., Array]] = {
    "rain": _rain,
    "snow": _snow,
    "fog": _fog,
    "haze": _haze,
    "sandstorm": _sandstorm,
    "tone": _tone,
    "streetlamps": _streetlamps,
}
