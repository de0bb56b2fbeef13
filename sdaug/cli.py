"""The ``sdaug`` command line: ``ui``, ``generate``, ``info``, ``import``, ``export``, ``stats``,
``augment`` and ``bench``.

This module only parses arguments. Each command lives in ``sdaug/commands/<name>.py`` as
``run(args) -> int`` and is imported when it runs, so ``sdaug info`` or ``sdaug export`` never
pays for torch. A ``ValueError`` from the core is printed as ``sdaug: error: ...`` with exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence


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
    p.add_argument("--out", help="output folder (default: <home>/outputs)")
    p.add_argument("--home", help="data folder (default ~/sdaug or $SDAUG_HOME)")
    p.add_argument("--allow-pickle", action="store_true", help="allow pickled checkpoints")


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print an image's generation parameters (infotext)")
    p.add_argument("image")


def _add_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import images and labels into a project")
    p.add_argument("--project", required=True, help="project folder (created if missing)")
    p.add_argument("--format", required=True, choices=["images", "yolo", "coco", "voc"])
    p.add_argument("path", help="folder, annotation file or .zip")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a project as YOLO, COCO or Pascal VOC")
    p.add_argument("--project", required=True)
    p.add_argument("--format", required=True, choices=["yolo", "coco", "voc"])
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--split", help="train,val,test ratios, e.g. 0.8,0.1,0.1 (default: keep splits)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random split")
    p.add_argument("--zip", action="store_true", help="also write a .zip of the export")
    p.add_argument("--variants-train-only", action="store_true",
                   help="keep generated variants out of val and test")


def _add_stats(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="print a project's counts per split, status, class and condition")
    p.add_argument("--project", required=True)


def _add_augment(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("augment", help="make weather/lighting variants of a project's labelled images")
    p.add_argument("--project", required=True)
    p.add_argument("--preset", action="append", default=[], help="preset name (file name without .toml)")
    p.add_argument("--variants", type=int, default=1, help="variants per source image and preset")
    p.add_argument("--engine", choices=["diffusion", "classic"], default="diffusion")
    p.add_argument("--model", help="model for the diffusion engine ('tiny' for tests)")
    p.add_argument("--split", help="only sources in this split (train, val, test)")
    p.add_argument("--status-filter", dest="status_filter", help="only sources with this review status")
    p.add_argument("--class", dest="class_filter", help="only sources that have a box of this class")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--status", action="store_true", help="report the progress of the project's jobs and exit")
    p.add_argument("--home", help="data folder (default ~/sdaug or $SDAUG_HOME)")


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure generation throughput against the compute floor")
    p.add_argument("--model", default="sd15-random",
                   help="'sd15-random' (SD1.5-size random weights), 'tiny', or a model source")
    p.add_argument("--workloads", default="txt2img,img2img,controlnet")
    p.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--low-vram", action="store_true", help="also measure the low-VRAM mode")
    p.add_argument("--no-baseline", action="store_true", help="skip the plain-script baseline")
    p.add_argument("--json", metavar="FILE", help="write the numbers as JSON")
    p.add_argument("--peak-tflops", type=float, metavar="N",
                   help="device peak for the compute floor (default: by GPU name; on a CPU, measured)")
    p.add_argument("--profile", metavar="DIR", help="write a torch.profiler table and trace per workload to DIR")


_BUILDERS = (_add_ui, _add_generate, _add_info, _add_import, _add_export, _add_stats, _add_augment, _add_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdaug", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the log (progress details)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _BUILDERS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(f"sdaug.commands.{args.command.replace('import', 'import_')}")
    try:
        return int(module.run(args) or 0)
    except ValueError as exc:
        print(f"sdaug: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sdaug: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
