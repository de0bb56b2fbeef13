"""Start the sdaug web app: ``python app.py [--model tiny] [--lang zh] [--share --auth user:pass]``."""

import sys

from sdaug.cli import main

if __name__ == "__main__":
    sys.exit(main(["ui", *sys.argv[1:]]))
