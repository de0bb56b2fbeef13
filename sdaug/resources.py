"""Files shipped inside the sdaug package (package data), found with ``importlib.resources``.

They live in the package itself so that a wheel install (``pip install .``) has them as well as a
checkout: ``sdaug/assets/`` (offline diffusers configs, the SD1.5 benchmark configs, the CSS) and
``sdaug/presets/`` (the built-in weather and lighting presets).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_path(*parts: str) -> Path:
    """The file system path of ``sdaug/<parts...>`` as installed.

    sdaug is installed as plain files (a checkout, an editable install or a wheel unpacked by
    pip), so the resource is a real path that diffusers' ``from_pretrained`` can read.
    """
    resource = files("sdaug").joinpath(*parts)
    path = Path(str(resource))
    if not path.exists():
        raise ValueError(f"sdaug package file missing: {'/'.join(parts)} (reinstall sdaug)")
    return path
