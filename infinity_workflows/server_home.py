"""Where the local server keeps its state: the *home* folder and the paths inside it.

The server's side only (the user's records and downloads folders are
:mod:`.user_folders`). This module was ``infinity_workflows.home``, a name that still imports.

Chosen by ``--home``, else the environment variable ``INFINITY_WORKFLOWS_HOME``, else the
platform's user data folder. Everything the server owns lives under this one folder, so a
user can move, back up or delete it as a unit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = ["HOME_ENV", "Home", "resolve_home"]

HOME_ENV = "INFINITY_WORKFLOWS_HOME"
APP_NAME = "infinity-workflows"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Home:
    """The home folder from the argument, the environment, or the user data folder."""
    chosen = explicit or os.environ.get(HOME_ENV) or platformdirs.user_data_dir(APP_NAME)
    return Home(Path(chosen).expanduser().resolve())


@dataclass(frozen=True)
class Home:
    """Named paths inside the home folder."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "infinity.sqlite3"

    @property
    def results(self) -> Path:
        """Finished jobs, one ``<job_id>.zip`` each; a file here is always complete."""
        return self.root / "results"

    @property
    def work(self) -> Path:
        """Scratch space for jobs being rendered; on the same file system as ``results`` so
        that moving a finished archive into place is an atomic rename."""
        return self.root / "work"

    @property
    def secret_key(self) -> Path:
        """The HMAC secret that signs download links."""
        return self.root / "secret.key"

    @property
    def gallery(self) -> Path:
        """Cached portal previews, one per choice of a generator's gallery parameter."""
        return self.root / "gallery"

    def ensure(self) -> Home:
        """Create the folders owner-only whatever the umask (results may be private data,
        and the home holds the database and the signing secret)."""
        for folder in (self.root, self.results, self.work, self.gallery):
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(folder, 0o700)
        return self

    def open_to_others(self) -> int:
        """The permission bits the home grants group and others (0 when owner-only)."""
        return self.root.stat().st_mode & 0o077
