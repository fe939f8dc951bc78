"""``python -m infinity_workflows ...`` is the ``infinity-workflows`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
