"""Kept for compatibility (saved notebooks import it): jobs re-run from the seeds of earlier
jobs are now :mod:`.seed_reruns`."""

import sys

from . import seed_reruns

sys.modules[__name__] = seed_reruns
