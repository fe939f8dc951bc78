"""Kept for compatibility (saved notebooks import it): now :mod:`.compat.core_api`."""

import sys

from .compat import core_api

sys.modules[__name__] = core_api
