"""The A1111 prompt language and infotext, pure Python (no torch).

Processing order of a positive prompt (spec/prompt-syntax.md): :func:`expand_wildcards`,
:func:`extract_networks`, :func:`split_and`, then per part :func:`schedules`, then per text
:func:`attention`. The negative prompt skips :func:`extract_networks` (its ``<...>`` tags stay
text, as in A1111) and :func:`split_and`.

- :mod:`.wildcards`, :mod:`.networks`, :mod:`.composable`, :mod:`.schedule`, :mod:`.emphasis`:
  the prompt language.
- :mod:`.infotext`: ``parse_infotext`` / ``format_infotext`` (the parameters block of an image);
  :mod:`.compat`: the A1111 compatibility flags an infotext's ``Version`` implies.
- :mod:`.metadata`: infotext inside PNG / JPEG / WebP files.
- :mod:`.params`: infotext parameters <-> GenerationRequest fields; sampler name splitting.
- :mod:`.hashes`: A1111 model / LoRA hashes and finding local files by name or hash.
"""

from sdaug.prompts.composable import split_and
from sdaug.prompts.emphasis import attention
from sdaug.prompts.hashes import find_local_model, lora_hash, match_lora_hashes, model_hash
from sdaug.prompts.infotext import format_infotext, parse_infotext
from sdaug.prompts.metadata import exif_with_infotext, read_infotext, save_png
from sdaug.prompts.networks import ExtraNetwork, extract_networks, unknown_networks
from sdaug.prompts.params import infotext_params, request_fields, split_sampler_name
from sdaug.prompts.schedule import schedules
from sdaug.prompts.wildcards import expand_wildcards

__all__ = [
    "ExtraNetwork",
    "attention",
    "exif_with_infotext",
    "expand_wildcards",
    "extract_networks",
    "find_local_model",
    "format_infotext",
    "infotext_params",
    "lora_hash",
    "match_lora_hashes",
    "model_hash",
    "parse_infotext",
    "read_infotext",
    "request_fields",
    "save_png",
    "schedules",
    "split_and",
    "split_sampler_name",
    "unknown_networks",
]
