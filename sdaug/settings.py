"""Application settings: folders, device, memory mode and defaults.

Pure Python (no torch, no gradio). Every field can be overridden from the environment with
``SDAUG_<FIELD>`` (for example ``SDAUG_HOME``, ``SDAUG_DEVICE``, ``SDAUG_MEMORY_MODE``).
The device and dtype stay ``"auto"`` here; :mod:`sdaug.engine.manager` resolves them when
torch is imported.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from sdaug import limits as _limits
from sdaug.errors import InputError

DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEVICES = ("auto", "cuda", "mps", "cpu")
DTYPES = ("auto", "float16", "bfloat16", "float32")
MEMORY_MODES = ("auto", "full", "model-offload", "sequential-offload")
LANGUAGES = ("en", "zh")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def default_home() -> Path:
    """The data folder used when ``SDAUG_HOME`` is not set: ``~/sdaug``."""
    return Path.home() / "sdaug"


@dataclass
class Settings:
    """Everything the app, the CLI and the engine share. Folders live under ``home``."""

    home: Path = field(default_factory=default_home)
    default_model: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "auto"
    memory_mode: str = "auto"
    allow_pickle: bool = False
    lang: str = "en"
    # Fast path switches (used on CUDA; ignored on CPU).
    attention: str = "auto"  # auto | sdpa | xformers
    channels_last: bool = True
    compile: bool = False
    vae_tiling: bool = False
    attention_slicing: bool = False
    # How generated variants are stored: "png" (lossless) or "jpeg" at variant_quality (1-100).
    variant_format: str = "png"
    variant_quality: int = 95
    # Size limits of inputs (sdaug.limits): SDAUG_MAX_* variables or the CLI's --limit NAME=VALUE.
    limits: _limits.Limits = field(default_factory=_limits.active)
    # Ray cluster for augment jobs: "" = Ray backend not offered in the app, "local" = start a
    # local Ray instance, "auto" or "HOST:PORT" = join a cluster (see sdaug.augment.ray_backend).
    ray_address: str = ""

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser()
        self.validate()

    # Folders -------------------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def loras_dir(self) -> Path:
        return self.home / "loras"

    @property
    def controlnet_dir(self) -> Path:
        return self.home / "controlnet"

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"

    @property
    def projects_dir(self) -> Path:
        return self.home / "projects"

    @property
    def user_presets_dir(self) -> Path:
        return self.home / "presets"

    def ensure_dirs(self) -> None:
        """Create the data folder and its sub-folders (idempotent)."""
        for path in (self.models_dir, self.loras_dir, self.controlnet_dir, self.outputs_dir,
                     self.projects_dir, self.user_presets_dir):
            path.mkdir(parents=True, exist_ok=True)

    # Validation ----------------------------------------------------------------------------
    def validate(self) -> None:
        for name, allowed in (("device", DEVICES), ("dtype", DTYPES), ("memory_mode", MEMORY_MODES),
                              ("lang", LANGUAGES), ("attention", ("auto", "sdpa", "xformers")),
                              ("variant_format", ("png", "jpeg"))):
            value = getattr(self, name)
            if value not in allowed:
                raise InputError("value.choice", field=name, allowed=", ".join(allowed), value=value)
        if isinstance(self.variant_quality, bool) or not isinstance(self.variant_quality, int) \
                or not 1 <= self.variant_quality <= 100:
            raise InputError("value.range", field="variant_quality", low=1, high=100, value=self.variant_quality)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``SDAUG_*`` environment variables, then explicit ``overrides``.

        Overrides whose value is ``None`` are ignored, so CLI flags that were not given can be
        passed straight through.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            if f.name == "limits":
                continue
            raw = environ.get(f"SDAUG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _coerce(name: str, type_name: object, raw: str) -> object:
    if type_name in (bool, "bool"):
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InputError("value.bool", field=f"SDAUG_{name.upper()}", value=raw)
    if type_name in (Path, "Path"):
        return Path(raw)
    if type_name in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise InputError("value.whole", field=f"SDAUG_{name.upper()}", value=raw) from None
    return raw
