"""Label-safe variants: how much region-aware strength protects the boxes.

    python tests/bench/bench_labels.py [--dataset assets/sample_dataset] [--box 0.1] [--background 0.5]

1. Classic engine, every built-in preset, every labelled photo of the sample dataset (YOLO):
   the mean absolute pixel change (0-255) inside the boxes and outside them, and the share of
   variants the drift check sends to review, without and with region strength
   (``box_strength`` = --box, ``background_strength`` = --background).
2. Diffusion with the tiny random-weight model (img2img, Euler, 10 steps): the same change
   inside and outside the boxes, measured on the latents (the tiny model's random VAE mixes
   pixels, so its pixels say nothing about where the sampler changed the image).

Prints numbers; not collected by pytest.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from sdaug.augment.classic import apply_classic
from sdaug.augment.drift import check_variant
from sdaug.augment.presets import KINDS, load_presets
from sdaug.engine.region import box_mask

Box = tuple[float, float, float, float]


def load_yolo(root: Path) -> list[tuple[Image.Image, list[Box]]]:
    """(image, pixel boxes) of every labelled photo of a YOLO folder."""
    photos = []
    for image_path in sorted((root / "images").rglob("*.jpg")):
        label = root / "labels" / image_path.parent.name / f"{image_path.stem}.txt"
        image = Image.open(image_path).convert("RGB")
        width, height = image.size
        boxes = []
        for line in label.read_text(encoding="utf-8").splitlines():
            _, cx, cy, w, h = (float(v) for v in line.split())
            boxes.append(((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height))
        if boxes:
            photos.append((image, boxes))
    return photos


def change_inside_outside(before: np.ndarray, after: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    delta = np.abs(before.astype(np.float64) - after.astype(np.float64))
    delta = delta.mean(axis=2) if delta.ndim == 3 else delta
    return float(delta[inside].mean()), float(delta[~inside].mean())


def classic_figures(photos: list[tuple[Image.Image, list[Box]]], box: float, background: float, feather: int) -> None:
    print(f"classic engine, {len(photos)} labelled photos, box_strength {box:g} / background_strength {background:g}, "
          f"feather {feather} px")
    print(f"  {'preset':<18} {'plain in/out':>14} {'region in/out':>14} {'review plain':>13} {'review region':>14}")
    totals = {"plain": [0, 0], "region": [0, 0]}
    for kind in KINDS:
        for preset in load_presets(kind):
            safe = replace(preset, box_strength=box, background_strength=background, box_feather=feather)
            row = {}
            for label, used in (("plain", preset), ("region", safe)):
                inside_outside, review = [], 0
                for seed, (image, boxes) in enumerate(photos):
                    variant = apply_classic(image, used, seed, boxes=boxes)
                    inside = box_mask(image.size, boxes) > 0
                    inside_outside.append(change_inside_outside(np.asarray(image), np.asarray(variant), inside))
                    review += not check_variant(image, variant, boxes, used.drift).passed
                row[label] = (np.mean([v[0] for v in inside_outside]), np.mean([v[1] for v in inside_outside]), review)
                totals[label][0] += review
                totals[label][1] += len(photos)
            print(f"  {preset.name:<18} {row['plain'][0]:6.1f}/{row['plain'][1]:<6.1f} "
                  f"{row['region'][0]:6.1f}/{row['region'][1]:<6.1f} {row['plain'][2]:>6}/{len(photos):<6} "
                  f"{row['region'][2]:>6}/{len(photos):<6}")
    for label, (review, total) in totals.items():
        print(f"  sent to review, {label}: {review}/{total} ({100 * review / total:.0f}%)")


def diffusion_figures(photos: list[tuple[Image.Image, list[Box]]], box: float, background: float, feather: int) -> None:
    from sdaug.engine.manager import PipelineManager
    from sdaug.engine.request import GenerationRequest
    from sdaug.engine.run import run
    from sdaug.settings import Settings

    manager = PipelineManager(Settings(home=Path(tempfile.mkdtemp()), device="cpu"))
    vae = manager.pipeline("txt2img", "tiny").vae
    decode, seen = vae.decode, []

    def spy(latent, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - a plain wrapper
        seen.append(latent.detach().clone())
        return decode(latent, *args, **kwargs)

    vae.decode = spy
    size = 128
    print(f"diffusion, tiny model, img2img Euler 10 steps at {size}x{size}, change of the latents")
    rows = []
    for seed, (image, boxes) in enumerate(photos):
        small = image.resize((size, size))
        sx, sy = size / image.width, size / image.height
        scaled = [(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in boxes]
        common = {"model": "tiny", "mode": "img2img", "prompt": "heavy fog", "steps": 10, "sampler": "Euler",
                  "width": size, "height": size, "seed": seed, "init_images": [small], "region_boxes": [scaled],
                  "box_feather": feather}
        seen.clear()
        run(GenerationRequest(**common, box_strength=0.0, background_strength=0.1), manager)  # boxes: the source
        run(GenerationRequest(**common, box_strength=background, background_strength=background), manager)
        run(GenerationRequest(**common, box_strength=box, background_strength=background), manager)
        source, plain, region = (latent[0].numpy().transpose(1, 2, 0) for latent in seen)
        latent_size = (source.shape[1], source.shape[0])
        inside = box_mask(latent_size, [(x0 / 8, y0 / 8, x1 / 8, y1 / 8) for x0, y0, x1, y1 in scaled]) > 0
        rows.append((change_inside_outside(source, plain, inside), change_inside_outside(source, region, inside)))
    plain_in, plain_out = np.mean([r[0][0] for r in rows]), np.mean([r[0][1] for r in rows])
    region_in, region_out = np.mean([r[1][0] for r in rows]), np.mean([r[1][1] for r in rows])
    print(f"  plain  (strength {background:g} everywhere): inside {plain_in:.3f}, outside {plain_out:.3f}")
    print(f"  region (box {box:g}, background {background:g}): inside {region_in:.3f}, outside {region_out:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=Path(__file__).resolve().parents[2] / "assets" / "sample_dataset")
    parser.add_argument("--box", type=float, default=0.1)
    parser.add_argument("--background", type=float, default=0.5)
    parser.add_argument("--feather", type=int, default=32, help="soft edge in pixels")
    parser.add_argument("--no-diffusion", action="store_true", help="skip the tiny-model figures")
    args = parser.parse_args()
    photos = load_yolo(args.dataset)
    classic_figures(photos, args.box, args.background, args.feather)
    if not args.no_diffusion:
        diffusion_figures(photos, args.box, args.background, args.feather)


if __name__ == "__main__":
    main()
