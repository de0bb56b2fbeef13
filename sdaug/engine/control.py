"""Control images for ControlNet: ``canny`` (OpenCV), ``none`` (the image as given), and
``depth`` / ``lineart`` / ``softedge`` through controlnet-aux when it is installed (the ``gpu``
extra; it needs torchvision). Missing ones are reported by :func:`available_control_types`,
never by a failing import. controlnet-aux downloads its annotator weights
(``lllyasviel/Annotators``) from the Hugging Face hub on first use.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import cv2
import numpy as np
from PIL import Image

from sdaug.errors import InputError

logger = logging.getLogger(__name__)

CONTROL_TYPES = ("canny", "none", "depth", "lineart", "softedge")
CANNY_LOW, CANNY_HIGH = 100, 200  # A1111's defaults
# controlnet-aux detector class per control type.
_AUX_DETECTORS = {"depth": "MidasDetector", "lineart": "LineartDetector", "softedge": "HEDDetector"}
_AUX_REPO = "lllyasviel/Annotators"
_GPU_EXTRA = "install the gpu extra: pip install 'sdaug[gpu]' (controlnet-aux, needs torchvision)"


def available_control_types() -> dict[str, str | None]:
    """``{control type: None}`` when it can be used, else the reason it cannot."""
    aux = _aux_problem()
    return {kind: aux if kind in _AUX_DETECTORS else None for kind in CONTROL_TYPES}


def make_control_image(image: Image.Image, control_type: str, **params: Any) -> Image.Image:
    """The control image for ``control_type`` made from ``image`` (RGB, same size).

    ``canny`` takes ``low_threshold`` and ``high_threshold`` (0-255, defaults 100 and 200).
    """
    if control_type not in CONTROL_TYPES:
        raise InputError("value.choice", field="control type", allowed=", ".join(CONTROL_TYPES), value=control_type)
    reason = available_control_types()[control_type]
    if reason:
        raise InputError("control.unavailable", name=control_type, reason=reason)
    rgb = image.convert("RGB")
    if control_type == "none":
        return rgb
    if control_type == "canny":
        return _canny(rgb, **params)
    detector = _aux_detector(_AUX_DETECTORS[control_type])
    return detector(rgb, **params).convert("RGB").resize(rgb.size, Image.Resampling.LANCZOS)


def _canny(image: Image.Image, low_threshold: int = CANNY_LOW, high_threshold: int = CANNY_HIGH) -> Image.Image:
    for name, value in (("low_threshold", low_threshold), ("high_threshold", high_threshold)):
        if not 0 <= value <= 255:
            raise InputError("value.range", field=f"canny {name}", low=0, high=255, value=value)
    if low_threshold > high_threshold:
        raise InputError("control.canny_order", low=low_threshold, high=high_threshold)
    edges = cv2.Canny(np.asarray(image), low_threshold, high_threshold)
    return Image.fromarray(np.stack([edges] * 3, axis=-1))


@functools.cache
def _aux_problem() -> str | None:
    try:
        import controlnet_aux  # noqa: F401
    except Exception as error:  # any import failure (missing package, torchvision mismatch) = unavailable
        logger.debug("controlnet-aux unavailable: %s", error)
        return _GPU_EXTRA
    return None


@functools.cache
def _aux_detector(class_name: str) -> Any:
    import controlnet_aux

    return getattr(controlnet_aux, class_name).from_pretrained(_AUX_REPO)
