"""Kept for compatibility (saved notebooks import it): the user's records and downloads
folders are now :mod:`.user_folders`."""

import sys

from . import user_folders

sys.modules[__name__] = user_folders
