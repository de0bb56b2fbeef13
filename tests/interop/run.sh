#!/usr/bin/env bash
# The interop suite in a venv of its own (datumaro pins opencv-python-headless<5 and pandas~=2.3,
# which must not reach sdaug's venv). sdaug itself is not installed there: the suite needs only
# sdaug.dataset (and its few dependencies: filelock, psutil), taken from this checkout through
# PYTHONPATH. About 2-3 minutes to build the venv, 15 s to run the suite on 2 cores. For CI:
# `bash tests/interop/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${INTEROP_VENV:-${TMPDIR:-/tmp}/sdaug-interop-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -c tests/interop/constraints.txt pillow numpy pyyaml defusedxml filelock psutil pycocotools pytest pytest-timeout \
  supervision==0.31.2 globox==2.9.0 datumaro==1.13.12
"$venv/bin/pip" check
PYTHONPATH="$PWD" "$venv/bin/python" -m pytest -q tests/interop
