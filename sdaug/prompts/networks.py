"""Extra-network tags: ``<kind:name:arg...>``, for example ``<lora:snowfall:0.8>``.

:func:`extract_networks` removes every tag (pattern ``<(\\w+):([^>]+)>``) from the prompt text,
wherever it is, and returns them; the text around a tag is left as it is. A LoRA weight is the
first argument (or ``te=W``, as in A1111), default 1.0. Kinds other than :data:`KNOWN_KINDS`
are returned as well, so that callers can report them (:func:`unknown_networks`) instead of
dropping them silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

KNOWN_KINDS = ("lora",)
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
    def weight(self) -> float:
        """The multiplier: ``te=W`` if given, else the first plain argument, else 1.0.

        Raises ``ValueError`` naming the tag when that is not a number.
        """
        return _weight(self)


def extract_networks(prompt: str) -> tuple[str, list[ExtraNetwork]]:
    """Remove the extra-network tags from ``prompt``: (text without tags, the tags in order).

    A LoRA tag without a name or with a weight that is not a number raises ``ValueError``
    naming the tag and its position.
    """
    networks = []
    for match in _TAG_RE.finditer(prompt):
        name, *args = match.group(2).split(":")
        network = ExtraNetwork(match.group(1), name.strip(), tuple(arg.strip() for arg in args))
        if network.kind in KNOWN_KINDS:
            if not network.name:
                raise ValueError(
                    f"{network.tag} at position {match.start()} has no name: write <{network.kind}:NAME:0.8>"
                )
            _weight(network, match.start())
        networks.append(network)
    return _TAG_RE.sub("", prompt), networks


def unknown_networks(networks: Iterable[ExtraNetwork], known: Iterable[str] = KNOWN_KINDS) -> list[str]:
    """The tags of ``networks`` whose kind is not in ``known``, each once, in order."""
    known = set(known)
    return list(dict.fromkeys(network.tag for network in networks if network.kind not in known))


def _weight(network: ExtraNetwork, position: int | None = None) -> float:
    plain = [arg for arg in network.args if "=" not in arg]
    named = {
        key.strip(): value for key, _, value in (arg.partition("=") for arg in network.args if "=" in arg)
    }
    value = named.get("te", plain[0] if plain else "1").strip()
    try:
        weight = float(value)
    except ValueError:
        weight = math.nan
    if not math.isfinite(weight):
        where = "" if position is None else f" at position {position}"
        raise ValueError(
            f"{network.tag}{where}: weight {value!r} is not a number; write it like <{network.kind}:{network.name}:0.8>"
        )
    return weight
