"""The ``sdaug`` command line: ``ui``, ``generate``, ``info``, ``import``, ``export``, ``stats``,
``augment``, ``bench``, ``autolabel`` and ``train-detector``.

This module only parses arguments. Each command lives in ``sdaug/commands/<name>.py`` as
``run(args) -> int`` and is imported when it runs, so ``sdaug info`` or ``sdaug export`` never
pays for torch. Every expected failure (``ValueError`` from the core, ``OSError``, database, zip
and model-file errors, an input too big for memory) is printed as ONE line ``sdaug: error: ...``
(:func:`sdaug.errors.describe`) with exit 1; ``-v`` also logs the traceback. Every command takes ``--limit NAME=VALUE``
to set a size limit of :mod:`sdaug.limits` for the run.

At the default verbosity the terminal shows sdaug's results, warnings and errors only: the
notices diffusers and transformers log (e.g. "modules that should be kept in float32: []") and
Python warnings raised inside libraries are held back; ``-v`` shows them with the log.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from sdaug import limits
from sdaug.errors import describe

logger = logging.getLogger("sdaug")


def _add_project(p: argparse.ArgumentParser, note: str = "") -> None:
    """``--project`` of the commands that work on a project, and the data folder it is found in."""
    p.add_argument("--project", required=True, metavar="NAME_OR_FOLDER",
                   help="a project name (a folder in <data folder>/projects, the ones the app lists) or a folder "
                        "path such as ./bins" + (f" ({note})" if note else ""))
    if not any("--home" in action.option_strings for action in p._actions):
        p.add_argument("--home", help="data folder (default ~/sdaug or $SDAUG_HOME)")


def _add_ui(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ui", help="start the web app (same as python app.py)")
    add_ui_arguments(p)


def add_ui_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``sdaug ui`` and ``python app.py``."""
    p.add_argument("--model", help="model to use: hub id, local folder, .safetensors file, or 'tiny'")
    p.add_argument("--project", metavar="NAME",
                   help="project to open first (a name in <data folder>/projects; created when missing)")
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    p.add_argument("--listen", action="store_true", help="listen on all interfaces (0.0.0.0), not only this machine")
    p.add_argument("--share", action="store_true", help="create a public gradio.live link (needs --auth)")
    p.add_argument("--share-without-auth", action="store_true",
                   help="allow --share without --auth (anyone with the link can use the GPU)")
    p.add_argument("--auth", action="append", default=[], metavar="USER:PASS",
                   help="require this login (repeatable)")
    p.add_argument("--auth-file", help="file with one USER:PASS per line")
    p.add_argument("--lang", choices=["en", "zh"], help="interface language (default: browser's)")
    p.add_argument("--home", help="data folder (default ~/sdaug or $SDAUG_HOME)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow loading pickled .ckpt/.pt/.bin checkpoints (runs code from the file)")
    p.add_argument("--max-upload-mb", type=int, default=200, help="largest upload accepted, in MB")
    p.add_argument("--max-queue", type=int, default=16, metavar="N",
                   help="most requests waiting for the GPU; more are told to retry later (default 16)")
    p.add_argument("--max-request-kb", type=int, default=1024, metavar="KB",
                   help="largest request body (prompts and form values, not uploads), in KB (default 1024)")
    p.add_argument("--host", metavar="ADDRESS", help="address to listen on with --listen (default 0.0.0.0: all)")
    p.add_argument("--import-root", action="append", default=[], metavar="DIR",
                   help="a server folder users may import photos and datasets from (repeatable)")
    p.add_argument("--ray-address", metavar="auto|HOST:PORT|local",
                   help="offer the Ray backend for augment jobs: join this cluster ('local': start a local Ray)")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate images (txt2img, img2img, ControlNet)")
    p.add_argument("--model", help="hub id, local folder, .safetensors file, or 'tiny'")
    p.add_argument("--prompt", help="prompt (A1111 syntax)")
    p.add_argument("--negative", help="negative prompt")
    p.add_argument("--infotext", metavar="FILE_OR_PNG",
                   help="start from the parameters of an image or a text file; other flags override")
    p.add_argument("--steps", type=int)
    p.add_argument("--sampler", help="sampler name, e.g. 'DPM++ 2M' or 'Euler a'")
    p.add_argument("--schedule", help="schedule type: Automatic, Uniform, Karras, Exponential, SGM Uniform")
    p.add_argument("--cfg", type=float, help="CFG scale")
    p.add_argument("--seed", type=int, help="seed (-1 = random)")
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--n", type=int, help="total number of images")
    p.add_argument("--init", metavar="IMG", help="input image (img2img)")
    p.add_argument("--strength", type=float, help="denoising strength for img2img")
    p.add_argument("--control", metavar="TYPE", help="ControlNet control type (canny, none, depth, ...)")
    p.add_argument("--control-image", metavar="IMG", help="control image (default: the input image)")
    p.add_argument("--control-weight", type=float)
    p.add_argument("--controlnet-model", help="ControlNet model: hub id or local path")
    p.add_argument("--clip-skip", type=int)
    p.add_argument("--rng", choices=("GPU", "CPU", "NV"),
                   help="random number source as in A1111 (default: GPU with CUDA, else CPU; NV = CUDA's numbers anywhere)")
    p.add_argument("--out", help="output folder (default: <home>/outputs)")
    p.add_argument("--home", help="data folder (default ~/sdaug or $SDAUG_HOME)")
    p.add_argument("--allow-pickle", action="store_true", help="allow pickled checkpoints")


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print an image's generation parameters (infotext)")
    p.add_argument("image")


def _add_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import images and labels into a project")
    _add_project(p, "created if missing")
    p.add_argument("--format", required=True, choices=["images", "yolo", "coco", "voc"])
    p.add_argument("path", help="folder, annotation file or .zip")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a project as YOLO, COCO or Pascal VOC")
    _add_project(p)
    p.add_argument("--format", required=True, choices=["yolo", "coco", "voc"])
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--split", help="train,val,test ratios, e.g. 0.8,0.1,0.1 (default: keep splits)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random split")
    p.add_argument("--zip", action="store_true", help="also write a .zip of the export")
    p.add_argument("--variants-train-only", action="store_true",
                   help="keep generated variants out of val and test")
    p.add_argument("--image-format", choices=["jpeg", "png", "keep"], default="jpeg",
                   help="write every image as JPEG (default), as PNG, or keep each stored file (VOC: JPEG only)")
    p.add_argument("--jpeg-quality", type=int, default=95, help="quality of images converted to JPEG (1-100)")


def _add_stats(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="print a project's counts per split, status, class and condition")
    _add_project(p)


def _add_augment(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("augment", help="make weather/lighting variants of a project's labelled images")
    _add_project(p)
    p.add_argument("--preset", action="append", default=[], help="preset name (file name without .toml)")
    p.add_argument("--variants", type=int, default=1, help="variants per source image and preset")
    p.add_argument("--engine", choices=["diffusion", "classic"], default="diffusion")
    p.add_argument("--model", help="model for the diffusion engine ('tiny' for tests)")
    p.add_argument("--split", help="only sources in this split (train, val, test)")
    p.add_argument("--status-filter", dest="status_filter", help="only sources with this review status")
    p.add_argument("--class", dest="class_filter", help="only sources that have a box of this class")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--semantic-check", nargs="?", const="openai/clip-vit-base-patch32", default="", metavar="CLIP",
                   help="also check each carried box with CLIP: 'tiny', a folder in <data folder>/models or a "
                        "hub id (default openai/clip-vit-base-patch32)")
    p.add_argument("--backend", choices=["in-process", "ray"], default="in-process",
                   help="where the images are made: this process, or Ray workers (many GPUs or machines)")
    p.add_argument("--address", metavar="auto|HOST:PORT",
                   help="Ray cluster to join (default $SDAUG_RAY_ADDRESS; none: start a local Ray instance)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="Ray workers to use (default: one per GPU, or one per CPU slot for --engine classic)")
    p.add_argument("--status", action="store_true", help="report the progress of the project's jobs and exit")
    p.add_argument("--retry-failed", action="store_true",
                   help="also try again the failed images that reached the retry limit")


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure generation throughput against the compute floor")
    p.add_argument("--model", default="sd15-random",
                   help="'sd15-random' (SD1.5-size random weights), 'tiny', or a model source")
    p.add_argument("--workloads", default="txt2img,img2img,controlnet")
    p.add_argument("--batch-sizes", help="comma-separated (default 1,2,4,8,16,32; 1,4 for --model tiny)")
    p.add_argument("--size", type=int, help="image size (default 512; the tiny model's own 64 for --model tiny)")
    p.add_argument("--steps", type=int, help="steps (default 20; the tiny model's own 10 for --model tiny)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--low-vram", action="store_true", help="also measure the low-VRAM mode")
    p.add_argument("--no-baseline", action="store_true", help="skip the plain-script baseline")
    p.add_argument("--json", metavar="FILE", help="write the numbers as JSON")
    p.add_argument("--peak-tflops", type=float, metavar="N",
                   help="device peak for the compute floor (default: by GPU name; on a CPU, measured)")
    p.add_argument("--profile", metavar="DIR", help="write a torch.profiler table and trace per workload to DIR")


def _add_autolabel(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("autolabel", help="let a detector propose boxes for a project's images (a person accepts them)")
    _add_project(p)
    p.add_argument("--detector", default="google/owlv2-base-patch16-ensemble",
                   help="'tiny', a folder in <data folder>/models or a hub id (default: OWLv2 base), or "
                        "trained:NAME for a detector trained on this project (sdaug train-detector)")
    p.add_argument("--threshold", type=float, default=0.2, help="lowest score of a proposal (default 0.2)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--only-unlabelled", dest="only_unlabelled", action="store_true", default=True,
                       help="propose boxes only for images without labels (the default)")
    which.add_argument("--all", dest="only_unlabelled", action="store_false",
                       help="also propose boxes for images that have labels")
    p.add_argument("--batch-size", type=int, default=4)


def _add_train_detector(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-detector", help="fine-tune a detector (RT-DETR) on a project's labelled images")
    _add_project(p)
    p.add_argument("--name", default="detector", help="the detector's name in the project (default detector)")
    p.add_argument("--base", default="PekingU/rtdetr_r18vd",
                   help="RT-DETR to start from: a hub id, a folder, or 'tiny' (random, for a quick CPU run)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--image-size", type=int, default=320, help="images are resized to this square (pixels)")
    p.add_argument("--learning-rate", type=float, default=1e-3)


_BUILDERS = (_add_ui, _add_generate, _add_info, _add_import, _add_export, _add_stats, _add_augment, _add_bench,
             _add_autolabel, _add_train_detector)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdaug", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the log (progress details)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _BUILDERS:
        add(sub)
    for command in sub.choices.values():  # every command (python app.py too) takes --limit
        command.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                             help="raise or lower a size limit for this run, e.g. max_image_pixels=100000000 "
                                  "(repeatable; names and defaults: sdaug/limits.py)")
    return parser


def _quiet_libraries(verbose: bool) -> None:
    """Route Python warnings into the log (shown with ``-v``) and, unless ``-v``, set diffusers'
    and transformers' log level to errors (before they are imported: they read it once; a level
    the user set in the environment wins)."""
    logging.captureWarnings(True)
    if verbose:
        return
    logging.getLogger("py.warnings").setLevel(logging.ERROR)
    for variable in ("DIFFUSERS_VERBOSITY", "TRANSFORMERS_VERBOSITY"):
        os.environ.setdefault(variable, "error")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    _quiet_libraries(args.verbose)
    try:
        limits.configure(limits.Limits.from_env(overrides=args.limit))
        module = importlib.import_module(f"sdaug.commands.{args.command.replace('import', 'import_').replace('-', '_')}")
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("sdaug: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one error path: a line, the traceback with -v
        logger.log(logging.ERROR if args.verbose else logging.DEBUG, "%s failed", args.command, exc_info=exc)
        print(f"sdaug: error: {describe(exc, where=getattr(args, 'project', None))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
