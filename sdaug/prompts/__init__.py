"""The A1111 prompt language and infotext, pure Python (no torch).

- :mod:`.infotext`: ``parse_infotext`` / ``format_infotext`` (the parameters block of an image).
- :mod:`.metadata`: infotext inside PNG / JPEG / WebP files.
- :mod:`.params`: infotext parameters <-> GenerationRequest fields; sampler name splitting.
- :mod:`.hashes`: A1111 model / LoRA hashes and finding local files by name or hash.
"""

from sdaug.prompts.hashes import find_local_model, lora_hash, match_lora_hashes, model_hash
from sdaug.prompts.infotext import format_infotext, parse_infotext
from sdaug.prompts.metadata import exif_with_infotext, read_infotext, save_png
from sdaug.prompts.params import infotext_params, request_fields, split_sampler_name

__all__ = [
    "exif_with_infotext",
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
    "split_sampler_name",
]
