"""``sdaug generate``: make images from the command line and print the paths written.

``--n`` is the total number of images, made in batches of ``--batch-size``; image ``i`` has
seed ``--seed + i``. ``--infotext FILE_OR_PNG`` starts from the parameters of an image (its
infotext) or of a text file holding one; every flag given overrides them. ``--init`` makes it
img2img, ``--control TYPE`` ControlNet (img2img when ``--init`` is given too, with the control
image made from ``--control-image`` or else from the input image). With ``--model tiny`` (and no
``--infotext``) images are the tiny model's own size and step count unless flags say otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from sdaug import limits
from sdaug.engine.request import MAX_SEED, GenerationRequest
from sdaug.engine.sources import TINY, TINY_SIZE, TINY_STEPS
from sdaug.limits import check_infotext
from sdaug.settings import Settings

if TYPE_CHECKING:
    from sdaug.engine.run import Progress

logger = logging.getLogger(__name__)

# Flag -> request field, for flags that map one to one.
_FLAGS = {
    "model": "model",
    "prompt": "prompt",
    "negative": "negative_prompt",
    "steps": "steps",
    "sampler": "sampler",
    "schedule": "schedule_type",
    "cfg": "cfg_scale",
    "seed": "seed",
    "width": "width",
    "height": "height",
    "strength": "denoising_strength",
    "control": "control_type",
    "control_weight": "control_weight",
    "controlnet_model": "controlnet_model",
    "clip_skip": "clip_skip",
    "rng": "rng",
}


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(home=args.home, allow_pickle=args.allow_pickle or None)
    requests = build_requests(args, settings)

    from sdaug.engine.manager import PipelineManager
    from sdaug.engine.output import save_images
    from sdaug.engine.run import run as run_request

    # Run each request (a last, smaller batch is a request of its own) and save as it goes.
    manager = PipelineManager(settings)
    out_dir = Path(args.out) if args.out else settings.outputs_dir
    for request in requests:
        result = run_request(request, manager, on_progress=_log_progress)
        for path in save_images(result, out_dir):
            print(path)
        for warning in result.warnings:
            print(f"sdaug: warning: {warning}", file=sys.stderr)
    return 0


def build_requests(args: argparse.Namespace, settings: Settings) -> list[GenerationRequest]:
    """The requests for ``args``: one of ``--n // batch`` batches, plus one for the remainder."""
    # 1. The starting point: an infotext, or the defaults.
    request = GenerationRequest()
    if args.infotext:
        from sdaug.engine.infotext_request import request_from_infotext

        # --model overrides the infotext's model, so warnings about finding that model are moot.
        request, warnings = request_from_infotext(_read_infotext(Path(args.infotext)), settings,
                                                  model=args.model or "")
        for warning in warnings:
            print(f"sdaug: warning: {warning}", file=sys.stderr)
    elif not args.prompt:
        raise ValueError("give --prompt (or --infotext FILE_OR_PNG to start from an image's parameters)")

    # 2. Flags override; the tiny model runs at its own size and steps unless told otherwise.
    changes = {field: getattr(args, flag) for flag, field in _FLAGS.items() if getattr(args, flag) is not None}
    if not args.infotext and (changes.get("model", "").strip() or settings.default_model) == TINY:
        changes = {"width": TINY_SIZE, "height": TINY_SIZE, "steps": TINY_STEPS, **changes}
    if args.init:
        changes.update(mode="img2img", init_images=[_open_image(args.init, "--init")])
    if args.control:
        changes["mode"] = "controlnet"
    if args.control_image:
        changes["control_image"] = _open_image(args.control_image, "--control-image")
    request = dataclasses.replace(request, **changes)
    if request.mode == "controlnet" and request.control_image is None and not request.init_images:
        raise ValueError("--control needs --control-image IMG or --init IMG to make the control image from")

    # 3. --n images in batches of --batch-size, seeds counting up from one resolved seed.
    total = args.n if args.n is not None else (args.batch_size or 1)
    batch_size = min(args.batch_size or 1, total)
    if total < 1 or batch_size < 1:
        raise ValueError(f"--n and --batch-size must be at least 1, got {total} and {batch_size}")
    seed = request.resolve_seed()
    full, rest = divmod(total, batch_size)
    requests = [dataclasses.replace(request, batch_size=batch_size, batch_count=full)] if full else []
    if rest:
        rest_seed = (seed + full * batch_size) % (MAX_SEED + 1)
        requests.append(dataclasses.replace(request, batch_size=rest, batch_count=1, seed=rest_seed))
    for item in requests:
        item.validate()
    return requests


def _read_infotext(path: Path) -> str:
    from sdaug.prompts import read_infotext

    if not path.is_file():
        raise ValueError(f"--infotext: file not found: {path}")
    if path.suffix.lower() in (".txt", ".text", ""):
        with path.open(encoding="utf-8-sig") as handle:  # read no more than the limit allows
            return check_infotext(handle.read(limits.active().max_infotext_chars + 1), str(path))
    text = read_infotext(path)
    if not text:
        raise ValueError(f"--infotext: {path} holds no generation parameters")
    return text


def _open_image(path: str, flag: str) -> Image.Image:
    try:
        with Image.open(path) as image:
            limits.check_pixels(image.size, f"{flag} {path}")
            return image.convert("RGB")
    except FileNotFoundError:
        raise ValueError(f"{flag}: file not found: {path}") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{flag}: cannot read {path} as an image ({error})") from None


def _log_progress(progress: Progress) -> None:
    if progress.message:
        logger.info("%s", progress.message)
    elif progress.total_steps and progress.step == progress.total_steps:
        left = f", about {progress.eta_s:.0f} s left" if progress.eta_s else ""
        logger.info("batch %d/%d done (%.1f s%s)", progress.batch_index, progress.batch_count, progress.elapsed_s,
                    left)
