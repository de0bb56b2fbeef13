"""One error path: every expected failure becomes ONE clear line, in English or 简体中文.

:func:`describe` turns an exception into that line (what went wrong, where, what to do); the
CLI prints it (exit 1) and the UI shows it in ``gr.Error``. :func:`explain` gives the message
key and its values instead, for callers that translate themselves. Expected failures are the
core's ``ValueError`` (and :class:`InputError`, a ``ValueError`` with a message key), ``OSError``
(disk full, read-only, deleted file, ...), ``sqlite3`` errors (database locked or damaged),
zip errors, safetensors errors, ``MemoryError`` and ``RecursionError`` from a hostile input.
Anything else is a bug: :func:`describe` says so and asks for the ``-v`` traceback.

Messages are a key with English and Chinese texts and ``{placeholders}``, in the same
``key: (en, zh)`` shape as :data:`sdaug.ui.i18n.STRINGS`, kept in :mod:`sdaug.error_messages`;
this module imports no gradio.
"""

from __future__ import annotations

import errno
import json
import re
import sqlite3
import string
import zipfile
from collections.abc import Mapping

from sdaug.error_messages import MESSAGES, ZH_WORDS

_FORMATTER = string.Formatter()
_CJK = re.compile("[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z0-9'\]]")
# The placeholders that words of ours fill (a field name, a status, a split, ...): translated by
# ZH_WORDS in Chinese. Others hold the user's text, file names, numbers or option values.
WORD_PLACEHOLDERS = frozenset({"field", "what", "action", "status", "split", "format", "where", "member"})


class Phrase(str):
    """Text that sdaug words itself, kept translatable: message ``key`` of :data:`MESSAGES` with
    ``values``. It *is* its English text (a ``str``), so it fills a message, an f-string or a
    report line like the string it replaces; :meth:`text` gives it in another language. Used for
    where something happened (``image id 7``) and for import report lines."""

    key: str
    values: dict[str, object]

    def __new__(cls, key: str, **values: object) -> Phrase:
        if key not in MESSAGES:
            raise KeyError(f"no message {key!r} in sdaug.errors.MESSAGES")
        phrase = super().__new__(cls, render(key, values, "en"))
        phrase.key, phrase.values = key, values
        return phrase

    def __reduce__(self) -> tuple[object, ...]:  # pickled for Ray workers
        return _phrase, (self.key, self.values)

    def text(self, lang: str) -> str:
        return render(self.key, self.values, lang)


def _phrase(key: str, values: dict[str, object]) -> Phrase:
    return Phrase(key, **values)


def as_line(exc: BaseException) -> str:
    """``exc``'s message as a report line that keeps its translation (a :class:`Phrase` for an
    :class:`InputError`)."""
    return Phrase(exc.key, **exc.values) if isinstance(exc, InputError) else str(exc)


def text_of(line: str, lang: str) -> str:
    """A report line (see :func:`as_line`) in ``lang``; a plain string stays as it is."""
    return line.text(lang) if isinstance(line, Phrase) else line


def failure(exc: BaseException, where: str | None = None) -> Phrase:
    """Why a work item failed, kept translatable: ``exc`` as :func:`describe` words it (a bug in
    one item is its own message: the log has the traceback), after ``where`` (the file) when given."""
    key, values = explain(exc)
    if key == "error.unexpected":
        key, values = "error.plain", {"message": values["reason"] or values["kind"]}
    reason = Phrase(key, **values)
    return Phrase("error.in_file", where=where, error=reason) if where else reason


def record(line: str) -> str:
    """A line (a :class:`Phrase` or plain text) as text to store, e.g. a job item's error: a
    phrase as JSON of its key and values, which :func:`from_record` shows in any language."""
    if not isinstance(line, Phrase):
        return str(line)
    return json.dumps(_encode(line), ensure_ascii=False)


def from_record(text: str | None, lang: str) -> str:
    """A stored line (see :func:`record`) in ``lang``; text stored before, or not ours, as it is."""
    return text_of(line_of(text), lang)


def line_of(text: str | None) -> str:
    """A stored line (see :func:`record`) as the :class:`Phrase` it was; other text as it is."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return text or ""
    if not (isinstance(data, dict) and data.get("phrase") in MESSAGES and isinstance(data.get("values"), dict)):
        return text or ""
    return _decode(data)


def _encode(value: object) -> object:
    if isinstance(value, Phrase | InputError):
        return {"phrase": value.key, "values": {name: _encode(v) for name, v in value.values.items()}}
    if isinstance(value, Mapping):
        return {str(name): _encode(v) for name, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value if value is None or isinstance(value, bool | int | float) else str(value)


def _decode(value: object) -> object:
    if isinstance(value, dict) and value.get("phrase") in MESSAGES and isinstance(value.get("values"), dict):
        return Phrase(value["phrase"], **{name: _decode(v) for name, v in value["values"].items()})
    if isinstance(value, dict):
        return {name: _decode(v) for name, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class KeyedError(ValueError):
    """A refused action whose English text is ``messages[key]`` filled with ``values``; the UI
    shows it in the user's language by :attr:`translation_key` (``<prefix><key>``)."""

    messages: Mapping[str, str] = {}
    prefix = ""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(self.messages[key].format(**values))
        self.key = key
        self.values = values

    @property
    def translation_key(self) -> str:
        return f"{self.prefix}{self.key}"


class InputError(ValueError):
    """A ``ValueError`` with a message key (see :data:`MESSAGES`); ``str()`` is the English text."""

    def __init__(self, key: str, **values: object) -> None:
        if key not in MESSAGES:
            raise KeyError(f"no message {key!r} in sdaug.errors.MESSAGES")
        self.key = key
        self.values = values
        super().__init__(render(key, values, "en"))


def render(key: str, values: Mapping[str, object], lang: str = "en") -> str:
    """The text of message ``key`` in ``lang`` (``en`` or ``zh``) with ``values`` filled in.

    In Chinese a value of a :data:`WORD_PLACEHOLDERS` placeholder that is one of our English
    words (:data:`ZH_WORDS`) is translated unless the message quotes it (``{field!r}``); an
    :class:`InputError` or :class:`Phrase` value is its own text in ``lang``; a list reads ``a, b`` (``a、b``)
    and a ``{word: count}`` mapping ``3 unlabelled, 2 review`` (its words translated).
    """
    en, zh = MESSAGES[key]
    template = zh if lang == "zh" else en
    filled = dict(values)
    if "option" in filled:
        filled.setdefault("option_upper", str(filled["option"]).upper())
    pieces: list[tuple[str, bool]] = []  # (text, filled in)
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        pieces.append((literal, False))
        if name is not None:
            value = _fill(filled[name], lang, name in WORD_PLACEHOLDERS and conversion != "r")
            pieces.append((_FORMATTER.format_field(_FORMATTER.convert_field(value, conversion), spec or ""), True))
    text = ""
    for piece, value in (piece for piece in pieces if piece[0]):
        # A space between the Chinese text and a Latin word or number filled in ("SDAUG_MAX_CLASSES
        # 必须是整数"); a value itself (a file name) is never changed.
        if lang == "zh" and text and ((_CJK.match(text[-1]) and _LATIN.match(piece[0]) and value)
                                      or (_LATIN.match(text[-1]) and _CJK.match(piece[0]) and not value)):
            text += " "
        text += piece
    return text


def _fill(value: object, lang: str, translate: bool) -> object:
    if isinstance(value, InputError | Phrase):
        return render(value.key, value.values, lang)
    if isinstance(value, Mapping):
        if lang == "zh":
            return "、".join(f"{ZH_WORDS.get(str(word), word)} {count}" for word, count in value.items())
        return ", ".join(f"{count} {word}" for word, count in value.items())
    if isinstance(value, list | tuple):
        return ("、" if lang == "zh" else ", ").join(str(_fill(item, lang, translate)) for item in value)
    if lang == "zh" and translate and isinstance(value, str):
        return ZH_WORDS.get(value, value)
    return value


def describe(exc: BaseException, lang: str = "en", where: str | None = None) -> str:
    """ONE line for ``exc`` in ``lang``; ``where`` names the project for database errors."""
    key, values = explain(exc, where)
    return render(key, values, lang)


def explain(exc: BaseException, where: str | None = None) -> tuple[str, dict[str, object]]:
    """The message key and values for ``exc`` (see :func:`describe`)."""
    if isinstance(exc, InputError):
        return exc.key, exc.values
    if isinstance(exc, sqlite3.Error):
        return _sqlite(exc, where)
    if isinstance(exc, zipfile.BadZipFile | zipfile.LargeZipFile):
        return "zip.bad", {"where": where or Phrase("where.archive"), "reason": _reason(exc)}
    if isinstance(exc, OSError):
        return _os(exc)
    if isinstance(exc, MemoryError):
        return "input.memory", {"reason": _reason(exc) or "MemoryError"}
    if isinstance(exc, RecursionError):
        return "input.recursion", {}
    if type(exc).__name__ == "SafetensorError":
        return "model.bad_file", {"where": where or Phrase("where.model_file"), "reason": _reason(exc)}
    if type(exc).__name__ == "DecompressionBombError":  # Pillow's text names the size
        return "image.pillow_bomb", {"reason": _reason(exc)}
    if isinstance(exc, ValueError):
        return "error.plain", {"message": _reason(exc) or type(exc).__name__}
    return "error.unexpected", {"kind": type(exc).__name__, "reason": _reason(exc)}


_OS_KEYS = {
    errno.ENOSPC: "os.no_space",
    errno.EDQUOT: "os.no_space",
    errno.EFBIG: "os.too_large",
    errno.EROFS: "os.read_only",
    errno.EACCES: "os.permission",
    errno.EPERM: "os.permission",
    errno.ENOENT: "os.not_found",
    errno.EISDIR: "os.is_dir",
    errno.ENOTDIR: "os.not_dir",
    errno.ENAMETOOLONG: "os.name_too_long",
}


def _os(exc: OSError) -> tuple[str, dict[str, object]]:
    path = exc.filename if exc.filename is not None else "a file"
    if exc.filename2 is not None:
        path = f"{exc.filename} -> {exc.filename2}"
    key = _OS_KEYS.get(exc.errno or 0, "os.other")
    return key, {"path": path, "reason": exc.strerror or _reason(exc) or type(exc).__name__}


def _sqlite(exc: sqlite3.Error, where: str | None) -> tuple[str, dict[str, object]]:
    text = _reason(exc)
    lowered = text.lower()
    values: dict[str, object] = {"where": f" ({where})" if where else "", "reason": text}
    if "locked" in lowered or "busy" in lowered:
        return "db.locked", values
    if "disk is full" in lowered or "disk full" in lowered:
        return "db.no_space", values
    if "readonly" in lowered or "read-only" in lowered:
        return "db.read_only", values
    if any(word in lowered for word in ("malformed", "not a database", "corrupt", "disk i/o")):
        return "db.corrupt", values
    return "db.other", values


def _reason(exc: BaseException) -> str:
    """The first line of the exception's text, shortened (never a whole file's content)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if len(text) <= 300 else text[:300] + " …"
