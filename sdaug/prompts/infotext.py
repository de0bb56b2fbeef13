"""A1111 infotext: the parameter block stored with every image, read and written.

The format (see ``spec/prompt-syntax.md``)::

    prompt (any number of lines)
    Negative prompt: negative prompt (any number of lines)
    Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1, Size: 512x512, Lora hashes: "a: 0123"

There is no library for this format, so it is written here from the spec. Choices the spec
leaves free, and where this module goes beyond it:

- Reading, as A1111 does: the whole text is stripped and CRLF becomes LF; every prompt and
  negative-prompt line is stripped, and empty lines before the first non-empty one are dropped;
  a key with an empty value is dropped. The compatibility flags that the ``Version`` implies are
  added (:mod:`sdaug.prompts.compat`), so a reader sees what the image needs to reproduce.
- ``Template:`` / ``Negative Template:`` lines after the parameters line (dynamic-prompts
  extension) are read into the keys ``Template`` and ``Negative Template``.
- Writing quotes a value with ``json.dumps`` when it holds ``,`` ``:`` or a newline (the spec's
  rule) and also when it starts with ``"`` or has surrounding whitespace, so that every value
  reads back exactly. A1111 unquotes any quoted value, so it reads these the same way.
- Values are written with ``str()``; ``None`` and empty values are left out (an empty value
  would not be read back). Keys must match the key
  pattern A1111 reads (a word character, then at least one of word characters, space, ``-``,
  ``/``), otherwise they could not be read back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from sdaug.errors import InputError
from sdaug.prompts.compat import version_flags

PROMPT_KEY = "Prompt"
NEGATIVE_KEY = "Negative prompt"
NEGATIVE_LABEL = "Negative prompt:"
TEMPLATE_LABELS = ("Template:", "Negative Template:")

# Parameters written first, in this order; any other key follows them, then VERSION_KEY.
KEY_ORDER = (
    "Steps",
    "Sampler",
    "Schedule type",
    "CFG scale",
    "Seed",
    "Size",
    "Model hash",
    "Model",
    "VAE hash",
    "VAE",
    "Denoising strength",
    "Clip skip",
)
VERSION_KEY = "Version"

# One `key: value` pair of the parameters line (the spec's pattern).
_PARAM_RE = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_KEY_RE = re.compile(r"\w[\w \-/]+")
# A parameters line holds at least this many pairs.
_MIN_PARAMS = 3


def parse_infotext(text: str) -> dict[str, str]:
    """Read an infotext into ``{"Prompt": ..., "Negative prompt": ..., key: value, ...}``.

    Values stay strings with their spelling (``Size`` stays ``"500x375"``); quoted values are
    unquoted. Text without a parameters line is all prompt (and negative prompt).
    """
    # 1. Normalise line ends and split into lines.
    lines = text.replace("\r\n", "\n").strip().split("\n")

    # 2. Find the parameters line: the last line, or the line above trailing template lines.
    params_index = _find_params_line(lines)
    if params_index is None:
        text_lines, params_line, template_lines = lines, "", []
    else:
        text_lines = lines[:params_index]
        params_line = lines[params_index]
        template_lines = lines[params_index + 1 :]

    # 3. Split the stripped text lines into prompt and negative prompt.
    prompt_lines: list[str] = []
    negative_lines: list[str] | None = None
    for line in (line.strip() for line in text_lines):
        if negative_lines is None and line.startswith(NEGATIVE_LABEL):
            negative_lines = [line[len(NEGATIVE_LABEL) :].strip()]
        elif negative_lines is None:
            prompt_lines.append(line)
        else:
            negative_lines.append(line)

    result = {PROMPT_KEY: _join_lines(prompt_lines), NEGATIVE_KEY: _join_lines(negative_lines or [])}

    # 4. Read the parameters (empty values dropped), then the template lines.
    for key, value in _read_params(params_line):
        if key not in (PROMPT_KEY, NEGATIVE_KEY) and value:
            result[key] = value
    result.update(_read_templates(template_lines))

    # 5. The compatibility flags the version implies (a flag written in the text stays as written).
    for flag in version_flags(result):
        result.setdefault(flag, "True")
    return result


def format_infotext(prompt: str, negative_prompt: str, params: Mapping[str, object]) -> str:
    """Write the infotext for ``prompt``, ``negative_prompt`` and ``params`` (A1111 key spelling).

    Known keys come first in the spec's order, other keys after them in the order given, and
    ``Version`` last. :func:`parse_infotext` reads the result back exactly when at least three
    parameters are given (fewer do not make a parameters line), the prompt texts are as A1111
    reads them (lines stripped, no leading empty line) and the flags that ``Version`` implies
    are among the parameters.
    """
    # 1. Check the keys, so that every one can be read back.
    for key in params:
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise InputError("infotext.bad_key", name=key)
        if key in (PROMPT_KEY, NEGATIVE_KEY):
            raise InputError("infotext.reserved_key", name=key)

    # 2. Order the parameters.
    ordered = [key for key in KEY_ORDER if key in params]
    ordered += [key for key in params if key not in KEY_ORDER and key != VERSION_KEY]
    if VERSION_KEY in params:
        ordered.append(VERSION_KEY)
    pairs = [f"{key}: {_quote(str(params[key]))}" for key in ordered if params[key] is not None and str(params[key])]

    # 3. Join prompt, negative prompt and parameters line.
    text = prompt
    if negative_prompt:
        text += f"\n{NEGATIVE_LABEL} {negative_prompt}"
    if pairs:
        text += "\n" + ", ".join(pairs)
    return text


def _join_lines(lines: list[str]) -> str:
    """Lines joined with newlines, without the empty lines before the first non-empty one."""
    while lines and not lines[0]:
        lines = lines[1:]
    return "\n".join(lines)


def _quote(value: str) -> str:
    needs_quotes = any(char in value for char in ",:\n\r") or value.startswith('"') or value != value.strip()
    return json.dumps(value, ensure_ascii=False) if needs_quotes else value


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            unquoted = json.loads(value)
        except json.JSONDecodeError:
            return value
        return unquoted if isinstance(unquoted, str) else value
    return value


def _read_params(line: str) -> list[tuple[str, str]]:
    return [(key, _unquote(value.rstrip())) for key, value in _PARAM_RE.findall(line)]


def _is_params_line(line: str) -> bool:
    return len(_PARAM_RE.findall(line)) >= _MIN_PARAMS


def _find_params_line(lines: list[str]) -> int | None:
    if len(lines) > 0 and _is_params_line(lines[-1]):
        return len(lines) - 1
    # Template lines (and their continuation lines) may follow the parameters line.
    for index in range(len(lines) - 1, 0, -1):
        above = lines[index - 1]
        if (
            lines[index].startswith(TEMPLATE_LABELS)
            and not above.startswith(TEMPLATE_LABELS)
            and _is_params_line(above)
        ):
            return index - 1
    return None


def _read_templates(lines: list[str]) -> dict[str, str]:
    templates: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines:
        label = next((label for label in TEMPLATE_LABELS if line.startswith(label)), None)
        if label is None:
            current.append(line)
            continue
        current = [line[len(label) :].lstrip()]
        templates[label.rstrip(":")] = current
    return {key: "\n".join(value) for key, value in templates.items()}
