"""Kept for compatibility (saved notebooks import it): now :mod:`.compat.interop`."""

import sys

from .compat import interop

sys.modules[__name__] = interop
