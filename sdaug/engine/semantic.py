"""Semantic check per box: does a carried box still show its class after the weather changed?

The drift score (:mod:`sdaug.augment.drift`) compares edges; it cannot tell that a bin became a
heap of garbage with the same outline. This check asks CLIP: the crop of each carried box, in
the source and in the variant, is scored against a text for every class of the project
("a photo of a bin not full", plus the user's optional class description) and one for the
background. A box fails when

- its class was the best match in the source crop and another class is in the variant crop
  ("the bin not full looks like garbage now"), or
- the probability of its class fell by more than ``max_drop`` of the source's
  ("the bin not full is hard to recognise now: 0.81 -> 0.22").

Models: ``tiny`` (random weights built in code, for tests), a folder in the data folder's
``models/`` (or any path) holding a transformers CLIP (``config.json`` + weights), or a hub id
such as ``openai/clip-vit-base-patch32`` (downloaded on first use unless offline; the same
mirror hint as the generator's models). transformers' CLIP is used as it is; the image
preprocessing is its PIL image processor, so no torchvision is needed.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

from sdaug.engine import sources
from sdaug.engine.manager import PipelineManager
from sdaug.engine.region import Box
from sdaug.engine.tiny import TINY_VISION, seeded, tiny_text_settings, tiny_tokenizer

try:  # transformers 5: the PIL processor has its own name (CLIPImageProcessor needs torchvision)
    from transformers import CLIPImageProcessorPil as _ImageProcessor
except ImportError:  # transformers 4: CLIPImageProcessor is the PIL one
    from transformers import CLIPImageProcessor as _ImageProcessor

DEFAULT_CLIP = "openai/clip-vit-base-patch32"
TINY_CLIP_SIZE = 32  # image side of the tiny CLIP
_MARGIN = 0.1  # of the box size, each side
_BACKGROUND = "a photo of the background, with nothing in particular"


@dataclass(frozen=True)
class SemanticScore:
    """The check of one box: its class's probability in the source and variant crops."""

    class_name: str
    source_score: float
    variant_score: float
    best_class: str  # the best match in the variant ("" = background)
    passed: bool
    reason: str = ""  # why it failed, in words ("" when it passed)
    rule: str = ""  # which rule failed it: "best" (another class matches best) or "drop" ("" = passed)


class SemanticChecker:
    """Scores box crops against the project's class names with a CLIP model."""

    def __init__(self, model: CLIPModel, tokenizer: CLIPTokenizer, processor: Any, name: str) -> None:
        self.model, self.tokenizer, self.processor, self.name = model.eval(), tokenizer, processor, name
        self._texts: dict[tuple[str, ...], torch.Tensor] = {}

    @classmethod
    def load(cls, model: str, manager: PipelineManager) -> SemanticChecker:
        """The checker for ``model`` (``tiny``, a folder or a hub id), kept in ``manager``'s cache."""
        source = sources.resolve_transformers(model or DEFAULT_CLIP, manager.settings, "CLIP model")
        return manager.auxiliary(("clip", source.location), lambda: cls._build(source, manager))

    @classmethod
    def _build(cls, source: sources.ModelSource, manager: PipelineManager) -> SemanticChecker:
        if source.kind == sources.TINY:
            return cls(tiny_clip(), tiny_tokenizer(), tiny_clip_processor(), sources.TINY)
        clip = manager.load_pretrained(CLIPModel, source)
        tokenizer = manager.load_pretrained(CLIPTokenizer, source)
        processor = manager.load_pretrained(_ImageProcessor, source)
        return cls(clip.to(manager.device), tokenizer, processor, source.name)

    def check(self, source: Image.Image, variant: Image.Image, boxes: Sequence[tuple[str, Box]],
              classes: Sequence[str], descriptions: Mapping[str, str] | None = None,
              max_drop: float = 0.5) -> list[SemanticScore]:
        """Score every ``(class name, pixel xyxy box in the variant)``; see the module docstring."""
        # 1. Check the inputs.
        if not 0.0 <= max_drop <= 1.0:
            raise ValueError(f"max_drop must be from 0 to 1, got {max_drop!r}")
        names = list(dict.fromkeys(classes))
        unknown = [name for name, _ in boxes if name not in names]
        if unknown:
            raise ValueError(f"box class {unknown[0]!r} is not one of the classes {names}")
        if not boxes:
            return []
        # 2. Class probabilities of every crop, source crops first.
        if source.size != variant.size:
            source = source.resize(variant.size, Image.Resampling.BILINEAR)
        crops = [_crop(image, box) for image in (source, variant) for _, box in boxes]
        probs = self._probabilities(crops, names, descriptions or {})
        before, after = probs[: len(boxes)], probs[len(boxes):]
        # 3. A verdict per box.
        scores = []
        for (name, _), p_source, p_variant in zip(boxes, before, after, strict=True):
            own = names.index(name)
            best = int(p_variant.argmax())
            best_name = names[best] if best < len(names) else ""
            was_best = int(p_source.argmax()) == own
            source_score, variant_score = float(p_source[own]), float(p_variant[own])
            reason, rule = "", ""
            if was_best and best != own:
                rule = "best"
                reason = f"the {name} looks like {best_name or 'background'} now"
            elif source_score > 0 and (source_score - variant_score) / source_score > max_drop:
                rule = "drop"
                reason = f"the {name} is hard to recognise now: {source_score:.2f} -> {variant_score:.2f}"
            scores.append(SemanticScore(name, source_score, variant_score, best_name, not reason, reason, rule))
        return scores

    @torch.no_grad()
    def _probabilities(self, crops: list[Image.Image], names: list[str], descriptions: Mapping[str, str]) -> torch.Tensor:
        key = (*names, *(descriptions.get(name, "") for name in names))
        if key not in self._texts:
            texts = [class_prompt(name, descriptions.get(name, "")) for name in names] + [_BACKGROUND]
            tokens = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt").to(self.model.device)
            self._texts[key] = _normalise(_features(self.model.get_text_features(**tokens)))
        pixels = self.processor(images=crops, return_tensors="pt")["pixel_values"]
        images = _normalise(_features(self.model.get_image_features(pixel_values=pixels.to(self.model.device,
                                                                                            self.model.dtype))))
        logits = self.model.logit_scale.exp() * images @ self._texts[key].T
        return logits.softmax(dim=-1).float().cpu()


def _features(output: Any) -> torch.Tensor:
    """transformers 4 returns the projected features; 5 may return an output object holding them."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def _normalise(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=-1, keepdim=True).clamp_min(1e-6)


def class_prompt(name: str, description: str = "") -> str:
    """The text a class is matched with: "a photo of a <name>", then its description."""
    return f"a photo of a {name}, {description.strip()}" if description.strip() else f"a photo of a {name}"


def _crop(image: Image.Image, box: Box) -> Image.Image:
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * _MARGIN, (y1 - y0) * _MARGIN
    left, top = max(0, int(x0 - mx)), max(0, int(y0 - my))
    right, bottom = min(image.width, int(round(x1 + mx))), min(image.height, int(round(y1 + my)))
    return image.convert("RGB").crop((left, top, max(right, left + 1), max(bottom, top + 1)))


@functools.lru_cache(maxsize=1)
def _tiny_clip_weights() -> CLIPModel:
    vision = {**TINY_VISION, "image_size": TINY_CLIP_SIZE, "patch_size": 8}
    return seeded(5, lambda: CLIPModel(CLIPConfig(text_config=tiny_text_settings(), vision_config=vision,
                                                  projection_dim=32)))


def tiny_clip() -> CLIPModel:
    """A tiny CLIP (text and vision) with random weights, built in code, on the tiny tokenizer."""
    return copy.deepcopy(_tiny_clip_weights())


def tiny_clip_processor() -> Any:
    """CLIP's image preprocessing at the tiny CLIP's size."""
    side = TINY_CLIP_SIZE
    return _ImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
