"""The server's routes, one module a concern, each with its own ``router``:

- :mod:`.generators`: ``api/jobs/``, the generators a token may use;
- :mod:`.batches`: ``api/batch/``, submitting, listing, following and cancelling batches;
- :mod:`.jobs`: ``api/job_runs/`` and ``api/job_previews/``, one job at a time;
- :mod:`.results`: ``api/results/``, downloads behind signed links;
- :mod:`.portal`: ``portal/``, the web pages;
- :mod:`.portal_media`: ``portal/thumbnail/`` and ``portal/video/``, a job's pictures.

Routers share code through :mod:`..dependencies`, :mod:`.common`, :mod:`.portal_common` and
:mod:`.time_window` (no routers themselves), never through each other.
"""
