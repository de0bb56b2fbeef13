"""Preview: the chosen presets on a few sample images, as one grid, with a time estimate.

Before launching a job of thousands of images, :func:`preview` runs each preset once on ``n``
sample sources (evenly spread over the project) with the engine the job will use, and returns
a grid (rows: samples; columns: the source, then each preset) with the carried boxes drawn —
green where the drift check passes, red where the box would go to review — and an estimate of
the whole job's duration from the measured time per image.

For the diffusion engine the time is measured from the first denoising step to the end of each
request, so loading the model (the first preview of a session) does not inflate the estimate.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw

from sdaug.augment.classic import apply_classic
from sdaug.augment.drift import check_variant
from sdaug.augment.jobs import DEFAULT_SOURCE_STATUSES, ENGINES
from sdaug.augment.making import load_source
from sdaug.augment.presets import Preset, get_preset
from sdaug.dataset.store import ImageFilter, Project
from sdaug.errors import InputError
from sdaug.settings import Settings

Boxes = list[tuple[float, float, float, float]]
# on_progress(preset index, preset count, denoising step, steps): where a preview is (steps are 0
# for the classic engine).
PreviewProgress = Callable[[int, int, int, int], None]
_HEADER = 18  # pixels of the title row
_PASS, _FAIL = (40, 220, 60), (235, 40, 40)


def preview(source: Project | Sequence[Image.Image], presets: Sequence[str | Preset], engine: str = "classic",
            n: int = 4, *, variants: int = 1, model: str = "", where: ImageFilter | None = None,
            settings: Settings | None = None, manager: object = None, seed: int = 0,
            cell: int = 192, on_progress: PreviewProgress | None = None,
            header: bool = True) -> tuple[Image.Image, float]:
    """Run ``presets`` on ``n`` samples; return (grid image, estimated seconds for the whole job).

    ``source`` is a project (samples are its labelled source images, or those matching
    ``where``; the job is all of them × presets × ``variants``) or a list of images (the job
    is those images × presets × ``variants``). ``header`` writes the column titles (English)
    into the grid; the app leaves them out and names the columns in the page's language.
    """
    # 1. Check the inputs and pick the samples.
    if engine not in ENGINES:
        raise InputError("value.choice", field="engine", allowed=", ".join(ENGINES), value=engine)
    if not 1 <= n <= 16:
        raise InputError("preview.count", value=n)
    if not presets:
        raise InputError("preview.no_preset")
    chosen = [p if isinstance(p, Preset) else get_preset(p, settings) for p in presets]
    samples, n_sources = _samples(source, n, where)

    # 2. Make one variant per sample and preset, timing what a job does for each: the effect or
    #    the engine, the drift check and the PNG encoding.
    columns: list[list[tuple[Image.Image, list[bool] | None]]] = []
    seconds = 0.0
    for index, preset in enumerate(chosen):
        report = (lambda step, steps, index=index: on_progress(index, len(chosen), step, steps)) if on_progress \
            else None
        if report:
            report(0, 0)
        started = time.perf_counter()
        if engine == "classic":
            made = [apply_classic(image, preset, seed + k) for k, (image, _) in enumerate(samples)]
            seconds += time.perf_counter() - started
        else:
            made, spent = _diffuse(preset, [image for image, _ in samples], model, settings, manager, seed, report)
            seconds += spent
        column = []
        for (image, boxes), variant in zip(samples, made, strict=True):
            started = time.perf_counter()
            passed = check_variant(image, variant, boxes, preset.drift).box_passed if boxes else None
            variant.save(io.BytesIO(), format="PNG")
            seconds += time.perf_counter() - started
            column.append((variant, passed))
        columns.append(column)
    per_image = seconds / (len(samples) * len(chosen))
    estimate = per_image * n_sources * len(chosen) * variants

    # 3. The grid, with boxes coloured by the drift check.
    return _grid(samples, chosen, columns, cell, header), estimate


def _samples(source: Project | Sequence[Image.Image], n: int,
             where: ImageFilter | None) -> tuple[list[tuple[Image.Image, Boxes]], int]:
    if not isinstance(source, Project):
        images = [image.convert("RGB") for image in source]
        if not images:
            raise InputError("preview.no_image")
        return [(image, []) for image in images[:n]], len(images)
    ids = source.image_ids(where or ImageFilter(status=DEFAULT_SOURCE_STATUSES, kind="source"))
    if not ids:
        raise InputError("preview.no_sources")
    picks = sorted({ids[round(k * (len(ids) - 1) / max(1, n - 1))] for k in range(min(n, len(ids)))})
    samples = []
    for image_id in picks:
        image = load_source(source, source.get_image(image_id))  # a ValueError naming a spoiled file
        samples.append((image, [(b.x1, b.y1, b.x2, b.y2) for b in source.boxes(image_id)]))
    return samples, len(ids)


def _diffuse(preset: Preset, images: list[Image.Image], model: str, settings: Settings | None, manager: object,
             seed: int, report: Callable[[int, int], None] | None = None) -> tuple[list[Image.Image], float]:
    """Run the images through the engine (one request per image size); return them and the
    seconds spent denoising and decoding."""
    from sdaug.engine.run import run as run_engine

    if manager is None:
        from sdaug.engine.manager import PipelineManager

        manager = PipelineManager(settings or Settings.from_env())
    made: dict[int, Image.Image] = {}
    spent = 0.0
    sizes = sorted({image.size for image in images})
    for size in sizes:
        indices = [k for k, image in enumerate(images) if image.size == size]
        request = preset.to_request(init_images=[images[k] for k in indices], seeds=[seed + k for k in indices],
                                    batch_size=len(indices), batch_count=1, width=size[0], height=size[1],
                                    model=model)
        first_step: list[float] = []

        def on_progress(progress: object, first_step: list[float] = first_step) -> None:
            step = getattr(progress, "step", 0)
            if not first_step and step >= 1:
                first_step.append(time.perf_counter())
            if report is not None and step:
                report(step, getattr(progress, "total_steps", 0))

        started = time.perf_counter()
        result = run_engine(request, manager, on_progress=on_progress)
        ended = time.perf_counter()
        spent += ended - (first_step[0] if first_step else started)
        made.update(zip(indices, result.images, strict=True))
    return [made[k] for k in range(len(images))], spent


def _grid(samples: list[tuple[Image.Image, Boxes]], presets: list[Preset],
          columns: list[list[tuple[Image.Image, list[bool] | None]]], cell: int, header: bool = True) -> Image.Image:
    title_row = _HEADER if header else 0
    grid = Image.new("RGB", (cell * (1 + len(presets)), title_row + cell * len(samples)), (24, 24, 24))
    if header:
        draw = ImageDraw.Draw(grid)
        for col, title in enumerate(["source", *(p.title_en for p in presets)]):
            draw.text((col * cell + 4, 3), title, fill=(235, 235, 235))
    for row, (image, boxes) in enumerate(samples):
        top = title_row + row * cell
        grid.paste(_thumbnail(image, boxes, None, cell), (0, top))
        for col in range(1, len(presets) + 1):
            variant, passed = columns[col - 1][row]
            grid.paste(_thumbnail(variant, boxes, passed, cell), (col * cell, top))
    return grid


def _thumbnail(image: Image.Image, boxes: Boxes, passed: list[bool] | None, cell: int) -> Image.Image:
    scale = min(cell / image.width, cell / image.height)
    thumb = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(thumb)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        colour = _PASS if passed is None or passed[k] else _FAIL
        draw.rectangle([x1 * scale, y1 * scale, x2 * scale - 1, y2 * scale - 1], outline=colour, width=2)
    tile = Image.new("RGB", (cell, cell), (24, 24, 24))
    tile.paste(thumb, ((cell - thumb.width) // 2, (cell - thumb.height) // 2))
    return tile
