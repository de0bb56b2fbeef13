"""A :class:`GenerationRequest` from an A1111 infotext (a pasted parameter block or an image's).

:func:`request_from_infotext` maps the parsed keys with :func:`sdaug.prompts.request_fields`,
then resolves what depends on this machine:

- ``Model``: the local checkpoint of that name (or, failing that, of that ``Model hash``) in
  the models folder, named by its file stem as the model list shows it. Names the engine
  loads without a local file (``tiny``, a Hugging Face id, an existing path) are kept. Otherwise
  the default model is used and a warning says so.
- ``Lora hashes``: each entry is matched to a local LoRA file by its hash. A file found under
  another name is used by rewriting the prompt's ``<lora:NAME:`` (and ``<lyco:NAME:``) tags to the local name; entries
  not found are reported. The key itself is dropped: the engine writes the hashes of the LoRAs
  it actually used.
- Sampler names are checked (old combined names such as ``DPM++ 2M Karras`` are split).
- Every other key sdaug does not interpret stays in ``extra_params`` and is written back into
  the infotext of the images made from the request.

No torch here: the UI and the CLI build requests without loading the engine.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from sdaug.engine import sources
from sdaug.engine.request import GenerationRequest
from sdaug.engine.samplers import split_name
from sdaug.prompts import find_local_model, match_lora_hashes, parse_infotext, request_fields
from sdaug.settings import Settings

LORA_HASHES_KEY = "Lora hashes"
MODEL_HASH_KEY = "Model hash"


def request_from_infotext(text: str, settings: Settings, *, model: str = "") -> tuple[GenerationRequest, list[str]]:
    """Build a request from infotext ``text``; returns ``(request, warnings)``.

    Warnings are short sentences for the user (model or LoRA not found locally, LoRA renamed).
    ``model``, when given, replaces the infotext's model (and no model warning is made).
    Raises ``ValueError`` for values that cannot be used (a bad number, an unknown sampler).
    """
    fields, warnings = infotext_fields(text, settings, model=model)
    request = GenerationRequest(**fields)
    request.validate()
    return request, warnings


def infotext_fields(text: str, settings: Settings, *, model: str = "",
                    fallback_model: str = "") -> tuple[dict[str, object], list[str]]:
    """The :class:`GenerationRequest` field values infotext ``text`` sets, resolved for this
    machine as :func:`request_from_infotext` does (unchecked); returns ``(fields, warnings)``.

    Only the fields the infotext names are present, plus ``extra_params`` (the keys sdaug does not
    interpret): a form fills those and keeps its other values. ``fallback_model`` is the model
    used when the infotext's is not here (default: the default model); the UI passes the model
    it has selected.
    """
    # 1. Parse and map the keys sdaug interprets.
    fields, extras = request_fields(parse_infotext(text))
    warnings: list[str] = []
    if "sampler" in fields:
        fields["sampler"], fields["schedule_type"] = split_name(
            str(fields["sampler"]), str(fields.get("schedule_type", "Automatic"))
        )

    # 2. The model: the caller's, else a local file, else the default model.
    if model:
        fields["model"] = model
    elif "model" in fields:
        model_hash = extras.get(MODEL_HASH_KEY, "")
        fields["model"] = _local_model(str(fields["model"]), model_hash, settings, fallback_model, warnings)

    # 3. LoRAs: match the hashes to local files; use local names in the prompt.
    hashes = extras.pop(LORA_HASHES_KEY, "")
    if hashes:
        fields["prompt"] = _match_loras(str(fields.get("prompt", "")), hashes, settings.loras_dir, warnings)
    fields["extra_params"] = extras
    return fields, warnings


def _local_model(name: str, model_hash: str, settings: Settings, fallback: str, warnings: list[str]) -> str:
    path = find_local_model(name, settings.models_dir) or (
        find_local_model(model_hash, settings.models_dir) if model_hash else None
    )
    if path is not None:
        if path.stem.lower() != name.lower():
            warnings.append(f"Model {name!r} found locally as {path.name} (same hash); using it")
        return path.stem
    # Not a local file, but maybe something the engine loads by name ("tiny", a hub id, a path).
    with contextlib.suppress(ValueError):
        sources.resolve_model(name, settings)
        return name
    described = f"{name!r} (hash {model_hash})" if model_hash else repr(name)
    using = f"the model {fallback}" if fallback else f"the default model {settings.default_model}"
    warnings.append(
        f"Model {described} is not in {settings.models_dir}; using {using}. "
        "Put the .safetensors file there to reproduce the image"
    )
    return fallback


def _match_loras(prompt: str, hashes: str, loras_dir: Path, warnings: list[str]) -> str:
    found, missing = match_lora_hashes(hashes, loras_dir)
    for name, path in found.items():
        if path.stem != name:
            prompt = re.sub(rf"<(lora|lyco):{re.escape(name)}(?=[:>])",
                            lambda match, stem=path.stem: f"<{match.group(1)}:{stem}", prompt)
            warnings.append(f"LoRA {name!r} found as {path.name} (same hash); the prompt uses it")
    for name in missing:
        same_name = (loras_dir / f"{name}.safetensors").is_file()
        reason = "has a different hash, so the image may not reproduce" if same_name else "is not there"
        warnings.append(f"LoRA {name!r} from Lora hashes: {loras_dir / (name + '.safetensors')} {reason}")
    return prompt
