"""Extra-network tags: ``<kind:name:arg...>``, for example ``<lora:snowfall:0.8>``.

:func:`extract_networks` removes every tag (pattern ``<(\\w+):([^>]+)>``) from the prompt text,
wherever it is, and returns them; the text around a tag is left as it is. Only the positive
prompt goes through it: A1111 leaves tags in the negative prompt as text.

As A1111 reads a tag (spec/prompt-syntax.md, "Extra-network arguments"):

- The name and arguments are taken as written, spaces included: ``<lora: x :0.8>`` names the
  LoRA `` x ``.
- ``<lyco:...>`` is another name for ``<lora:...>`` (:data:`LORA_KINDS`).
- Arguments are positional ``NAME:TE:UNET:DYN`` or named ``te=``, ``unet=``, ``dyn=`` (an
  argument with exactly one ``=`` is named). ``TE`` is the text encoder's weight (default 1.0),
  ``UNET`` the UNet's (default ``TE``), ``DYN`` LyCORIS' dynamic rank, which sdaug ignores
  (:attr:`ExtraNetwork.dyn` lets the caller warn about it). Numbers may have spaces around them.

Kinds other than :data:`KNOWN_KINDS` are returned as well, so that callers can report them
(:func:`unknown_networks`) instead of dropping them silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sdaug.errors import InputError

LORA_KINDS = ("lora", "lyco")
KNOWN_KINDS = LORA_KINDS
_TAG_RE = re.compile(r"<(\w+):([^>]+)>")


@dataclass(frozen=True)
class ExtraNetwork:
    """One tag: ``<lora:snowfall:0.8>`` is ``ExtraNetwork("lora", "snowfall", ("0.8",))``."""

    kind: str
    name: str
    args: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """The tag as written in a prompt."""
        return "<" + ":".join((self.kind, self.name, *self.args)) + ">"

    @property
    def is_lora(self) -> bool:
        return self.kind in LORA_KINDS

    @property
    def te_weight(self) -> float:
        """``te=W``, else the first argument, else 1.0; ``ValueError`` naming the tag if not a number."""
        positional, named = self._arguments()
        return _number(self, named.get("te", positional[0] if positional else "1"))

    @property
    def unet_weight(self) -> float:
        """``unet=W``, else the second argument, else :attr:`te_weight`."""
        positional, named = self._arguments()
        if "unet" in named:
            return _number(self, named["unet"])
        return _number(self, positional[1]) if len(positional) > 1 else self.te_weight

    @property
    def dyn(self) -> str | None:
        """The dynamic rank argument (``dyn=N`` or the third argument), if given."""
        positional, named = self._arguments()
        return named.get("dyn", positional[2] if len(positional) > 2 else None)

    def _arguments(self) -> tuple[list[str], dict[str, str]]:
        positional, named = [], {}
        for arg in self.args:
            parts = arg.split("=")
            if len(parts) == 2:
                named[parts[0]] = parts[1]
            else:
                positional.append(arg)
        return positional, named


def extract_networks(prompt: str) -> tuple[str, list[ExtraNetwork]]:
    """Remove the extra-network tags from ``prompt``: (text without tags, the tags in order).

    A LoRA tag without a name or with a weight that is not a number raises ``ValueError``
    naming the tag and its position.
    """
    networks = []
    for match in _TAG_RE.finditer(prompt):
        name, *args = match.group(2).split(":")
        network = ExtraNetwork(match.group(1), name, tuple(args))
        if network.is_lora:
            if not network.name.strip():
                raise InputError("network.no_name", tag=network.tag, position=match.start(), kind=network.kind)
            try:
                _ = network.te_weight, network.unet_weight
            except ValueError as error:
                raise InputError("network.at", error=error, position=match.start()) from None
        networks.append(network)
    return _TAG_RE.sub("", prompt), networks


def unknown_networks(networks: Iterable[ExtraNetwork], known: Iterable[str] = KNOWN_KINDS) -> list[str]:
    """The tags of ``networks`` whose kind is not in ``known``, each once, in order."""
    known = set(known)
    return list(dict.fromkeys(network.tag for network in networks if network.kind not in known))


def _number(network: ExtraNetwork, value: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        weight = math.nan
    if not math.isfinite(weight):
        raise InputError("network.weight", tag=network.tag, value=value, kind=network.kind, name=network.name)
    return weight
