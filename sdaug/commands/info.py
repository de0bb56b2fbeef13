"""``sdaug info IMAGE``: print the generation parameters (infotext) stored in an image.

Exits 1 with a message when the image has none. Reads PNG ``parameters`` chunks and JPEG/WebP
EXIF comments (A1111's PNG Info reads the same); no torch is imported.
"""

from __future__ import annotations

import argparse
import sys

from sdaug.prompts import read_infotext


def run(args: argparse.Namespace) -> int:
    text = read_infotext(args.image)
    if not text:
        print(f"sdaug: {args.image} has no generation parameters (no infotext)", file=sys.stderr)
        return 1
    print(text)
    return 0
