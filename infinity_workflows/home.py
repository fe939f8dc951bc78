"""Kept for compatibility (saved scripts import it): the local server's data folder is now
:mod:`.server_home`."""

import sys

from . import server_home

sys.modules[__name__] = server_home
