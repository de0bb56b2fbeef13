"""Reading the files of an import safely: regular files inside the import folder only, bounded in
size, UTF-8 with any byte-order mark removed; YAML without aliases; JSON bounded in depth.

A dataset folder is untrusted input: a FIFO or ``/dev/zero`` hangs or fills memory, a symlink
reads a private file (and a parse error would echo its first line), a YAML alias bomb expands
without bound, and 100,000 nested brackets overflow the parser. Every reader of
:mod:`.yolo`, :mod:`.coco` and :mod:`.voc` goes through here. The limits are
:mod:`sdaug.limits`'.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import stat
from pathlib import Path

import yaml

from sdaug import limits
from sdaug.errors import InputError, Phrase


def file_problem(path: Path, root: Path, where: str) -> InputError | None:
    """Why ``path`` must not be read (a link leaving ``root``, not a regular file), or None."""
    try:
        resolved, top = path.resolve(), _resolved(root)
        inside = resolved == top or top in resolved.parents
        mode = os.stat(resolved).st_mode
    except (OSError, RuntimeError):  # a dangling or looping link
        return InputError("file.outside", where=where)
    if not inside:
        return InputError("file.outside", where=where)
    if not stat.S_ISREG(mode):
        return InputError("file.not_regular", where=where)
    return None


@functools.lru_cache(maxsize=64)
def _resolved(root: Path) -> Path:
    return root.resolve()


def read_bytes(path: Path, root: Path, where: str, limit_name: str = "max_text_bytes") -> bytes:
    """The bytes of ``path`` after the checks of :func:`file_problem` and the size limit ``limit_name``."""
    problem = file_problem(path, root, where)
    if problem is not None:
        raise problem
    with open(path, "rb") as handle:
        limits.check_size(os.fstat(handle.fileno()).st_size, where, limit_name)
        return handle.read()


def read_text(path: Path, root: Path, where: str, limit_name: str = "max_text_bytes") -> str:
    """UTF-8 text of ``path`` (a leading byte-order mark removed); see :func:`read_bytes`."""
    data = read_bytes(path, root, where, limit_name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("file.encoding", where=where, reason=f"byte {exc.start}: {exc.reason}") from None


class _NoAliasLoader(yaml.SafeLoader):
    """yaml's safe loader, refusing aliases (``*name``): without them nothing can expand."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "alias", self.peek_event().start_mark)
        return super().compose_node(parent, index)


def load_yaml(text: str, where: str) -> object:
    """Parse YAML with the safe loader, refusing aliases; ``yaml.YAMLError`` when invalid."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:  # the loader recurses per level; max_yaml_bytes of "[" is too deep
        raise InputError("limit.nesting", where=where, limit=Phrase("where.few_hundred")) from None
    except yaml.composer.ComposerError as exc:
        if exc.problem == "alias":
            raise InputError("yaml.alias", where=where) from None
        raise


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def check_json_depth(text: str, where: str) -> None:
    """Refuse JSON nested deeper than ``max_json_depth`` (before parsing: the parser recurses)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    depth = max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)
    if depth > limits.active().max_json_depth:
        raise InputError("limit.nesting", where=where, limit=limits.active().max_json_depth)


def load_json(path: Path, root: Path, where: str) -> object:
    """Parse a JSON file after the file, size and depth checks; ``json.JSONDecodeError`` when invalid."""
    text = read_text(path, root, where, "max_json_bytes")
    check_json_depth(text, where)
    return json.loads(text)
