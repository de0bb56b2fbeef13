"""Size limits on everything a user or a file can hand to sdaug, each with a sane default.

One frozen :class:`Limits` holds them all. The person who starts sdaug sets them, for the whole
process: ``SDAUG_<NAME>`` environment variables (``SDAUG_MAX_PROMPT_CHARS=20000``) or the
CLI's ``--limit NAME=VALUE`` (``sdaug import --limit max_image_pixels=100000000 ...``).
:func:`active` returns the limits in force (built from the environment on first use);
:func:`configure` replaces them (the CLI calls it once with its options); ``Settings.limits``
carries the same object.

The checks here are cheap and run before any expensive work (decoding, tokenising a long
prompt, extracting a zip); each raises :class:`~sdaug.errors.InputError` (a ``ValueError``)
saying what is too big, the limit, and the option that raises it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PIL import Image

from sdaug.errors import InputError

warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Limits:
    """Every limit; the defaults fit real datasets and prompts with a wide margin."""

    # Prompts (each of prompt and negative prompt). Tokens are CLIP tokens; A1111 prompts may
    # span several 75-token chunks, so the default allows 13.
    max_prompt_chars: int = 10_000
    max_prompt_tokens: int = 1_000
    # Generation parameters stored in an image (PNG text chunk, EXIF comment).
    max_infotext_chars: int = 100_000
    # Labels.
    max_boxes_per_image: int = 2_000
    max_classes: int = 10_000
    # Images: width x height, checked before decoding (Pillow refuses only at ~179 MP).
    max_image_pixels: int = 60_000_000
    # Zip archives: unpacked total, compression ratio of the archive and of each entry,
    # number of entries and folder depth of an entry's path.
    max_zip_bytes: int = 8 * 1024**3
    max_zip_ratio: int = 100
    max_zip_members: int = 200_000
    max_path_depth: int = 32
    # Annotation files: YAML (data.yaml) and text files (labels, class lists) by size,
    # JSON (COCO) by size and nesting depth.
    max_yaml_bytes: int = 1024**2
    max_text_bytes: int = 16 * 1024**2
    max_json_bytes: int = 1024**3
    max_json_depth: int = 64

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError("value.whole_min", field=f"limit {f.name}", low=1, value=value)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, overrides: Iterable[str] = ()) -> Limits:
        """Limits from ``SDAUG_<NAME>`` variables, then ``NAME=VALUE`` ``overrides`` (CLI)."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"SDAUG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _whole(f"SDAUG_{f.name.upper()}", raw)
        names = [f.name for f in dataclasses.fields(cls)]
        for item in overrides:
            name, sep, raw = item.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in names:
                raise InputError("limit.option", names=", ".join(names), value=item)
            values[name] = _whole(f"--limit {name}", raw)
        return cls(**values)


def _whole(where: str, raw: str) -> int:
    try:
        return int(raw.strip().replace("_", ""))
    except ValueError:
        raise InputError("value.whole", field=where, value=raw) from None


_active: Limits | None = None


def active() -> Limits:
    """The limits in force in this process (from the environment unless :func:`configure` was called)."""
    global _active
    if _active is None:
        _active = Limits.from_env()
    return _active


def configure(limits: Limits) -> Limits:
    """Make ``limits`` the limits of this process (the CLI and the server call this once)."""
    global _active
    _active = limits
    return limits


# Checks --------------------------------------------------------------------------------------
def check_prompt(text: str, field: str = "prompt", limits: Limits | None = None) -> None:
    """Refuse a prompt longer than the character or CLIP token limit (characters first: cheap)."""
    limits = limits or active()
    if not isinstance(text, str):
        raise InputError("value.text_type", field=field, kind=type(text).__name__)
    if len(text) > limits.max_prompt_chars:
        raise InputError("limit.prompt_chars", field=field, count=len(text), limit=limits.max_prompt_chars,
                         option="max_prompt_chars")
    # A CLIP token covers at least one UTF-8 byte, so short texts need no tokeniser.
    if len(text.encode("utf-8")) > limits.max_prompt_tokens:
        tokens = count_tokens(text)
        if tokens > limits.max_prompt_tokens:
            raise InputError("limit.prompt_tokens", field=field, count=tokens, limit=limits.max_prompt_tokens,
                             option="max_prompt_tokens")


def count_tokens(text: str) -> int:
    """CLIP tokens of ``text`` (the SD 1.x tokenizer sdaug ships; no torch, no download)."""
    return len(_tokenizer()(text, add_special_tokens=False, verbose=False)["input_ids"])


@functools.cache
def _tokenizer():  # noqa: ANN202 - transformers is imported lazily
    from transformers import CLIPTokenizer

    from sdaug.resources import package_path

    return CLIPTokenizer.from_pretrained(str(package_path("assets", "diffusers-configs", "v1", "tokenizer")))


def check_infotext(text: str, where: str, limits: Limits | None = None) -> str:
    limits = limits or active()
    if len(text) > limits.max_infotext_chars:
        raise InputError("limit.infotext", where=where, count=len(text), limit=limits.max_infotext_chars,
                         option="max_infotext_chars")
    return text


def check_pixels(size: tuple[int, int], where: str, limits: Limits | None = None) -> None:
    """Refuse an image of more than ``max_image_pixels`` (checked from the header, before decoding).

    Pillow's own ``DecompressionBombWarning`` (printed for images over ~89 MP) is silenced when
    this module is imported: this check comes first and names the file and the option.
    """
    limits = limits or active()
    width, height = size
    if width * height > limits.max_image_pixels:
        raise InputError("limit.pixels", where=where, width=width, height=height,
                         megapixels=f"{width * height / 1e6:.0f}", limit=f"{limits.max_image_pixels / 1e6:g}",
                         option="max_image_pixels")


def check_boxes(count: int, where: str, limits: Limits | None = None) -> None:
    limits = limits or active()
    if count > limits.max_boxes_per_image:
        raise InputError("limit.boxes", where=where, count=count, limit=limits.max_boxes_per_image,
                         option="max_boxes_per_image")


def check_classes(count: int, where: str, limits: Limits | None = None) -> None:
    limits = limits or active()
    if count > limits.max_classes:
        raise InputError("limit.classes", where=where, count=count, limit=limits.max_classes, option="max_classes")


def check_size(size: int, where: str, limit_name: str, limits: Limits | None = None) -> None:
    """Refuse a file of more than the byte limit ``limit_name`` (max_yaml_bytes, max_json_bytes, ...)."""
    limit = getattr(limits or active(), limit_name)
    if size > limit:
        raise InputError("limit.file_size", where=where, size=_mb(size), limit=_mb(limit), option=limit_name)


def _mb(size: int) -> str:
    return f"{size / 1024**2:.1f} MB" if size >= 1024**2 else f"{size} bytes"
