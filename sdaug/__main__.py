"""``python -m sdaug`` runs the ``sdaug`` command line."""

import sys

from sdaug.cli import main

sys.exit(main())
