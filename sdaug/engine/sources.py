"""Where a model, ControlNet or LoRA named by the user comes from. Pure Python (no torch).

A model name is resolved in this order:

1. ``""`` -> ``settings.default_model``; ``"tiny"`` -> the tiny random pipeline.
2. An existing path: a diffusers folder (has ``model_index.json``), a ``.safetensors`` file, or a
   pickled checkpoint (``.ckpt``, ``.pt``, ``.pth``, ``.bin``) which is refused unless
   ``settings.allow_pickle`` (loading a pickle runs code from the file).
3. A name in ``<home>/models/``: a file name with or without ``.safetensors``, the file's stem in
   any case, a 10-hex-digit A1111 model hash (as pasted infotexts carry), or a diffusers folder.
4. Otherwise a hub id (``owner/name``), loaded from the Hugging Face cache or downloaded.

ControlNets resolve the same way in ``<home>/controlnet/``; LoRAs are ``.safetensors`` files in
``<home>/loras/`` named by their stem, as ``<lora:NAME:W>`` tags name them.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from sdaug.engine.errors import BadModelFileError, ModelNotFoundError, UnsafeCheckpointError
from sdaug.errors import InputError
from sdaug.prompts import find_local_model
from sdaug.settings import Settings

TINY = "tiny"
# The tiny model's own image size and step count: what `--model tiny` uses unless told otherwise
# (its images are noise; more pixels or steps only take longer).
TINY_SIZE = 64
TINY_STEPS = 10
SAFETENSORS = ".safetensors"
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
# The safetensors library refuses headers over 100 MB too.
MAX_HEADER_BYTES = 100 * 1024**2
CONFIG_SUFFIX = ".config"  # <stem>.config/ next to a checkpoint: its diffusers config
# Keys that tell an SD 1.x checkpoint (text context width 768, 4-channel UNet input) and an
# SD 1.x ControlNet (its input hint block; keys with or without the "control_model." prefix).
_SD1_CONTEXT = "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
_SD1_INPUT = "input_blocks.0.0.weight"
_CONTROLNET_HINT = "input_hint_block.0.weight"

# ControlNet used for a control type when the request names none (SD1.5 ControlNet 1.1).
DEFAULT_CONTROLNETS = {
    "canny": "lllyasviel/control_v11p_sd15_canny",
    "depth": "lllyasviel/control_v11f1p_sd15_depth",
    "lineart": "lllyasviel/control_v11p_sd15_lineart",
    "softedge": "lllyasviel/control_v11p_sd15_softedge",
}


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: ``kind`` is ``tiny``, ``hub``, ``folder`` or ``single_file``."""

    kind: str
    location: str  # hub id or absolute path ("tiny" for the tiny model)
    name: str  # what infotexts call it: file stem, folder name or hub id

    @property
    def is_pickle(self) -> bool:
        return self.kind == "single_file" and Path(self.location).suffix.lower() in PICKLE_SUFFIXES


def resolve_model(model: str, settings: Settings) -> ModelSource:
    """Resolve a checkpoint name (see the module docstring) or raise a ``ValueError`` that says
    where sdaug looked and how to get the model."""
    return _resolve(model.strip() or settings.default_model, settings.models_dir, settings, "model")


def resolve_controlnet(controlnet: str, settings: Settings) -> ModelSource:
    """Resolve a ControlNet name like :func:`resolve_model`, looking in ``<home>/controlnet/``."""
    if not controlnet.strip():
        raise InputError("model.no_controlnet")
    return _resolve(controlnet.strip(), settings.controlnet_dir, settings, "ControlNet")


def resolve_transformers(model: str, settings: Settings, what: str) -> ModelSource:
    """A transformers model (the CLIP box check, a detector): ``tiny``, a transformers folder (a
    path, or a folder in the data folder's ``models/``) or a hub id."""
    source = _resolve(model.strip(), settings.models_dir, settings, what)
    if source.kind == "single_file":
        raise InputError("model.single_file", what=what, model=model)
    return source


def default_controlnet(control_type: str, model: ModelSource) -> str:
    """The ControlNet for ``control_type`` when a request names none: the tiny one for the tiny
    model, else the SD1.5 ControlNet 1.1 model of that type."""
    if model.kind == TINY:
        return TINY
    if control_type not in DEFAULT_CONTROLNETS:
        raise InputError("model.no_default_controlnet", control_type=control_type,
                         known=", ".join(DEFAULT_CONTROLNETS))
    return DEFAULT_CONTROLNETS[control_type]


def find_lora(name: str, settings: Settings) -> Path:
    """The LoRA file called ``name`` (file stem, any case) in ``<home>/loras/``."""
    folder = settings.loras_dir
    stem = name[: -len(SAFETENSORS)] if name.lower().endswith(SAFETENSORS) else name
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    for same in (lambda p: p.stem == stem, lambda p: p.stem.lower() == stem.lower()):
        for path in files:
            if same(path) and path.suffix.lower() == SAFETENSORS:
                return path
            if same(path) and path.suffix.lower() in PICKLE_SUFFIXES:
                _check_pickle(path, settings)
                return path
    known = ", ".join(local_loras(settings)) or "none"
    raise ModelNotFoundError("model.lora_not_found", name=name, folder=folder, stem=stem, known=known)


def single_file_config(checkpoint: Path, shipped: Path, controlnet: bool = False) -> str | None:
    """The diffusers config folder to load a single-file ``checkpoint`` with, offline.

    A folder ``<stem>.config`` next to the checkpoint (holding ``model_index.json`` and the
    component configs, or a ControlNet's ``config.json``) wins; else the config sdaug ships for
    Stable Diffusion 1.x checkpoints (``shipped/v1``) or SD 1.x ControlNets
    (``shipped/controlnet-v1``), told from the safetensors header without reading the weights;
    else ``None``: diffusers then fetches the config for the checkpoint's type from the Hugging
    Face hub (or its cache).
    """
    marker = "config.json" if controlnet else "model_index.json"
    sidecar = checkpoint.with_name(checkpoint.stem + CONFIG_SUFFIX)
    if (sidecar / marker).is_file():
        return str(sidecar)
    folder = shipped / ("controlnet-v1" if controlnet else "v1")
    if (folder / marker).is_file() and _is_sd1(checkpoint, controlnet):
        return str(folder)
    return None


def read_safetensors_header(path: Path) -> dict:
    """The JSON header of a ``.safetensors`` file, checked before any weights are read.

    A file that is cut short, holds random bytes, announces a huge header, or is another format
    renamed (a pickled ``.ckpt`` is a zip starting ``PK``) raises :class:`BadModelFileError`.
    """
    def bad(reason: str) -> BadModelFileError:
        return BadModelFileError("model.bad_file", where=path.name, reason=reason)

    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        start = handle.read(8)
        if start[:2] == b"PK" or start[:1] == b"\x80":
            raise bad("it holds pickled PyTorch data, not safetensors")
        if len(start) < 8:
            raise bad(f"only {size} bytes long")
        (length,) = struct.unpack("<Q", start)
        if length > min(size - 8, MAX_HEADER_BYTES):
            raise bad(f"its header claims {length} bytes but the file has {size}")
        try:
            header = json.loads(handle.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise bad("its header is not JSON") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    return header


def _is_sd1(checkpoint: Path, controlnet: bool) -> bool:
    if checkpoint.suffix.lower() != SAFETENSORS:
        return False
    header = read_safetensors_header(checkpoint)
    shapes = {key.split("control_model.")[-1].removeprefix("model.diffusion_model."): entry.get("shape", [])
              for key, entry in header.items() if isinstance(entry, dict)}
    context, first = shapes.get(_SD1_CONTEXT, [0]), shapes.get(_SD1_INPUT, [0, 0])
    is_controlnet = _CONTROLNET_HINT in shapes
    return context[-1:] == [768] and first[1:2] == [4] and is_controlnet == controlnet


def local_models(settings: Settings) -> list[str]:
    """Names of the checkpoints in ``<home>/models/`` (``.safetensors`` stems and diffusers folders)."""
    return _local_names(settings.models_dir)


def local_loras(settings: Settings) -> list[str]:
    """Names (stems) of the ``.safetensors`` LoRA files in ``<home>/loras/``."""
    folder = settings.loras_dir
    return sorted(p.stem for p in folder.rglob(f"*{SAFETENSORS}")) if folder.is_dir() else []


def _resolve(name: str, folder: Path, settings: Settings, what: str) -> ModelSource:
    if name == TINY:
        return ModelSource(TINY, TINY, TINY)
    # 1. A path as given, then a name inside the folder.
    for path in (Path(name).expanduser(), folder / name):
        if path.exists():
            return _from_path(path.resolve(), settings, what)
    local = find_local_model(name, folder)
    if local is not None:
        return _from_path(local.resolve(), settings, what)
    for suffix in PICKLE_SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return _from_path(candidate.resolve(), settings, what)
    # 2. A hub id.
    if _HUB_ID.match(name):
        return ModelSource("hub", name, name)
    known = ", ".join(_local_names(folder)) or "none"
    raise ModelNotFoundError("model.not_found", what=what, name=name, folder=folder, known=known)


def _from_path(path: Path, settings: Settings, what: str) -> ModelSource:
    if path.is_dir():
        if not (path / "model_index.json").is_file() and not (path / "config.json").is_file():
            raise InputError("model.not_diffusers", path=path, what=what)
        return ModelSource("folder", str(path), path.name)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        _check_pickle(path, settings)
    elif suffix != SAFETENSORS:
        raise InputError("model.unknown_file", path=path, what=what)
    return ModelSource("single_file", str(path), path.stem)


def _check_pickle(path: Path, settings: Settings) -> None:
    if not settings.allow_pickle:
        raise UnsafeCheckpointError.for_file(path.name, path.suffix)


def _local_names(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    folders = [p for p in folder.iterdir()
               if p.is_dir() and ((p / "model_index.json").is_file() or (p / "config.json").is_file())]
    files = [p.stem for p in folder.rglob(f"*{SAFETENSORS}") if not any(d in p.parents for d in folders)]
    return sorted({*files, *(d.name for d in folders if not d.name.endswith(CONFIG_SUFFIX))})
