"""Check that an sdaug VOC export loads in torchvision's ``VOCDetection`` as it is.

torchvision must not share sdaug's venv; run this where it is installed (the Ultralytics venv
of ``check_ultralytics.py`` has it)::

    ~/venv-ultra/bin/python tests/interop/check_torchvision.py VOC_EXPORT_FOLDER_OR_ZIP

``VOCDetection`` looks for ``<root>/VOCdevkit/VOC2007``; the export is linked there in a
temporary folder (a zip is unpacked first). Exit status 0 only when, for every image set in
``ImageSets/Main``, every listed image opens as ``JPEGImages/<id>.jpg`` and every object has a
``bndbox`` of whole 1-based pixels inside the image (the devkit's convention). Prints one line per
image set.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path


def check(voc_root: Path, root: Path) -> list[str]:
    from torchvision.datasets import VOCDetection

    failures = []
    for list_file in sorted((voc_root / "ImageSets" / "Main").glob("*.txt")):
        image_set = list_file.stem
        ids = list_file.read_text(encoding="utf-8").split()
        dataset = VOCDetection(str(root), year="2007", image_set=image_set, download=False)
        problems, objects = [], 0
        for index in range(len(dataset)):
            try:
                image, target = dataset[index]
            except OSError as exc:
                problems.append(f"item {index}: {exc}")
                continue
            annotation = target["annotation"]
            width, height = int(annotation["size"]["width"]), int(annotation["size"]["height"])
            if image.size != (width, height):
                problems.append(f"{annotation['filename']}: image {image.size} != size {(width, height)}")
            for obj in annotation.get("object", []):
                objects += 1
                box = {k: float(v) for k, v in obj["bndbox"].items()}
                if not (1 <= box["xmin"] <= box["xmax"] <= width and 1 <= box["ymin"] <= box["ymax"] <= height
                        and all(v == int(v) for v in box.values())):
                    problems.append(f"{annotation['filename']}: bndbox {box} is not whole 1-based pixels inside")
        ok = len(dataset) == len(ids) and not problems
        print(("ok   " if ok else "FAIL ") + f"{image_set}: {len(dataset)}/{len(ids)} images, {objects} objects")
        for problem in problems[:10]:
            print(f"     {problem}")
        if not ok:
            failures.append(image_set)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="sdaug VOC export: folder or .zip")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="check-torchvision-") as tmp:
        root = Path(tmp)
        devkit = root / "VOCdevkit" / "VOC2007"
        devkit.parent.mkdir()
        export = args.export.resolve()
        if export.is_file() and export.suffix == ".zip":
            with zipfile.ZipFile(export) as zf:
                zf.extractall(devkit)
        else:
            devkit.symlink_to(export, target_is_directory=True)
        if not (devkit / "ImageSets" / "Main").is_dir():
            print(f"FAIL {args.export}: no ImageSets/Main (not a VOC export?)")
            return 1
        failures = check(devkit, root)
    print("PASS" if not failures else f"FAILED: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
