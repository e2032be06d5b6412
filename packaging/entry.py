"""Entry point of the PyInstaller bundle: the `radsight` command line."""

import sys

from viewer.cli import main

if __name__ == "__main__":
    sys.exit(main())
