"""The curation gallery: thumbnails of a downloaded batch to filter, sort, page and pick, and
the picked previews rerun as videos.

A thin view over :class:`~infinity_workflows.workflow.curation.Curation`: one page of tiles
(picture and caption, a pick button) is built once and reused, so a filter or page change only
swaps the tiles' values, about two comm messages a tile (in a browser the messages, not the
Python, are what a redraw costs): the thumbnails are small JPEGs made once, and the
filtering is NumPy over columns held as arrays. ``Rerun selected as videos`` checks the
selection and the overrides, then writes a Submit record (lineage: the previews batch and
the selected jobs, ``selection.json`` beside it) or, on confirmation, also submits it now.

Kept in one module, past 400 lines, because it is one widget: its filters, page of reused
tiles, selection and rerun buttons all read and redraw the same state (the filtered rows, the
page, the selection), and the work itself already lives in
:mod:`infinity_workflows.workflow.curation`.
"""

from __future__ import annotations

import html
import json
import math
import time
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..batch import Batch
from ..errors import ValidationError
from ..workflow.curation import (
    Curation,
    Filter,
    RerunPlan,
    plan_rerun,
    read_selection,
    submit_rerun,
    write_rerun_record,
)
from ..workflow.explain import explain_error
from ._display import error_html, info_html, lab_link, link_html, show_html, success_html

__all__ = ["CurationGallery", "curation_gallery"]

_JOB_ORDER = "(job order)"
_SELECTED = "3px solid #1976d2"
_UNSELECTED = "3px solid transparent"
_CAPTION = '<div style="line-height:1.25;font-size:11px;padding:2px 0">'


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def _short(name: str) -> str:
    for prefix, short in (("avg_", ""), ("percent_", "% "), ("max_", "max "),
                          ("min_", "min ")):
        name = name.replace(prefix, short)
    return name.replace("_", " ")


class _Tile:
    """One reusable tile: its picture and caption in one HTML widget (one message a redraw,
    the thumbnail inline as a data URI), and the button that picks it."""

    def __init__(self, px: int) -> None:
        self.job_id: str | None = None
        self.px = px
        self.view = widgets.HTML(layout=widgets.Layout(width=f"{px}px"))
        self.view.add_class("iw-gallery-tile")
        self.pick = widgets.ToggleButton(description="", layout=widgets.Layout(
            width=f"{px}px"), tooltip="click to select or unselect this job")
        self.pick.add_class("iw-gallery-pick")
        self.box = widgets.VBox([self.view, self.pick], layout=widgets.Layout(
            border=_UNSELECTED, padding="2px", margin="2px", display="none"))

    def html(self, uri: str, caption: str) -> str:
        picture = (f'<img src="{uri}" width="{self.px}" height="{self.px}" '
                   f'style="object-fit:contain;display:block">' if uri else
                   f'<div style="width:{self.px}px;height:{self.px}px;background:#eee"></div>')
        return picture + _CAPTION + caption + "</div>"


class CurationGallery:
    """The gallery's widgets; ``widget`` is the box to display. ``batch`` (the previews
    batch) is needed only to rerun; without it the gallery browses and selects."""

    def __init__(self, folder: Path | str, batch: Batch | None = None, *,
                 generator: Any = None, per_page: int = 24, columns: int = 6,
                 thumb_px: int = 128, records_dir: Path | str | None = None,
                 notebook_folder: Path | str | None = None) -> None:
        self.folder = Path(folder)
        self.batch = batch
        self.generator = generator
        self.per_page = max(1, int(per_page))
        self.thumb_px = thumb_px
        self.records_dir = records_dir
        self.notebook_folder = Path(notebook_folder or Path.cwd())
        self.curation: Curation | None = None
        self.filters: list[Filter] = []
        self.selection: dict[str, None] = {}  # ordered set, in click order
        self.page = 0
        self._rows: Any = []
        self._drawing = False
        self._varying: list[str] = []
        self.last_redraw_s = 0.0
        self.last_plan: RerunPlan | None = None
        self.last_record: Path | None = None
        self.last_batch: Batch | None = None
        self._build(columns)
        self.reload()

    # -- layout -----------------------------------------------------------------------------
    def _build(self, columns: int) -> None:
        w = widgets
        self.status = w.HTML()
        self.reload_button = w.Button(description="Reload", tooltip="read the folder again "
                                      "(after downloading more jobs)", icon="refresh")
        self.reload_button.on_click(lambda _: self.reload())
        # Filters: a column, then a range (numbers) or values (anything else).
        self.column = w.Dropdown(description="Filter", options=[],
                                 layout=w.Layout(width="330px"))
        self.column.add_class("iw-gallery-column")
        self.low = w.FloatText(description="min", layout=w.Layout(width="160px"))
        self.high = w.FloatText(description="max", layout=w.Layout(width="160px"))
        self.low.add_class("iw-gallery-low")
        self.high.add_class("iw-gallery-high")
        self.values = w.SelectMultiple(options=[], rows=4, layout=w.Layout(width="240px"))
        self.add_filter_button = w.Button(description="Add filter", icon="filter")
        self.add_filter_button.add_class("iw-gallery-add-filter")
        self.active_filters = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.column.observe(lambda _: self._column_changed(), names="value")
        self.add_filter_button.on_click(lambda _: self._add_filter())
        self.sort = w.Dropdown(description="Sort by", options=[_JOB_ORDER],
                               layout=w.Layout(width="330px"))
        self.sort.add_class("iw-gallery-sort")
        self.descending = w.Checkbox(description="descending", value=False, indent=False)
        self.sort.observe(lambda _: self._refilter(), names="value")
        self.descending.observe(lambda _: self._refilter(), names="value")
        # Pages of reused tiles.
        self.prev_button = w.Button(description="Previous", icon="arrow-left")
        self.next_button = w.Button(description="Next", icon="arrow-right")
        self.prev_button.add_class("iw-gallery-prev")
        self.next_button.add_class("iw-gallery-next")
        self.prev_button.on_click(lambda _: self.go_to_page(self.page - 1))
        self.next_button.on_click(lambda _: self.go_to_page(self.page + 1))
        self.page_label = w.HTML()
        self.page_label.add_class("iw-gallery-page")
        self.tiles = [_Tile(self.thumb_px) for _ in range(self.per_page)]
        for tile in self.tiles:
            tile.pick.observe(lambda change, t=tile: self._picked(t, change["new"]),
                              names="value")
        self.grid = w.GridBox([t.box for t in self.tiles], layout=w.Layout(
            grid_template_columns=f"repeat({columns}, {self.thumb_px + 12}px)"))
        # Selection.
        self.select_shown_button = w.Button(description="Select all shown", icon="check")
        self.clear_button = w.Button(description="Clear selection", icon="times")
        self.select_shown_button.add_class("iw-gallery-select-shown")
        self.clear_button.add_class("iw-gallery-clear")
        self.select_shown_button.on_click(lambda _: self.select_shown())
        self.clear_button.on_click(lambda _: self.clear_selection())
        self.count = w.HTML()
        self.count.add_class("iw-gallery-count")
        # Rerun.
        self.overrides = w.Textarea(
            placeholder='optional overrides as JSON, e.g. {"frame_rate": 12}',
            layout=w.Layout(width="420px", height="48px"))
        self.overrides.add_class("iw-gallery-overrides")
        self.batch_name = w.Text(placeholder="videos batch name (empty: from the previews')",
                                 layout=w.Layout(width="420px"))
        self.rerun_button = w.Button(description="Rerun selected as videos",
                                     button_style="primary", icon="film",
                                     layout=w.Layout(width="230px"))
        self.rerun_button.add_class("iw-gallery-rerun")
        self.write_button = w.Button(description="Write Submit record", icon="file",
                                     layout=w.Layout(width="230px", display="none"))
        self.confirm_button = w.Button(description="Confirm: submit now",
                                       button_style="warning", icon="paper-plane",
                                       layout=w.Layout(width="230px", display="none"))
        self.write_button.add_class("iw-gallery-write")
        self.confirm_button.add_class("iw-gallery-confirm")
        self.rerun_button.on_click(lambda _: self.plan())
        self.write_button.on_click(lambda _: self._write_clicked())
        self.confirm_button.on_click(lambda _: self._confirm_clicked())
        self.result = w.HTML()
        self.result.add_class("iw-gallery-result")
        # Links go in rendered markdown, so JupyterLab opens them in a tab of its own (a link
        # in an HTML widget would open a new browser window).
        self.links = w.Output()
        self.links.add_class("iw-gallery-links")
        self.widget = w.VBox([
            w.HBox([self.status, self.reload_button]),
            w.HBox([self.column, self.low, self.high, self.values, self.add_filter_button]),
            self.active_filters,
            w.HBox([self.sort, self.descending]),
            w.HBox([self.prev_button, self.next_button, self.page_label]),
            self.grid,
            w.HBox([self.select_shown_button, self.clear_button, self.count]),
            w.HBox([w.VBox([self.overrides, self.batch_name]),
                    w.VBox([self.rerun_button, self.write_button, self.confirm_button])]),
            self.result,
            self.links,
        ])
        self.widget.add_class("iw-gallery")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- data -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the folder (new jobs get their statistics and thumbnails once)."""
        if not self.folder.is_dir() or not any(
                p.is_dir() and not p.name.startswith(".") for p in self.folder.iterdir()):
            self.curation = None
            self.status.value = info_html(f"No downloaded jobs in {self.folder} yet: download "
                                          f"the batch, then click Reload.")
            self._refilter()
            return
        started = time.perf_counter()
        self.curation = Curation.load(
            self.folder, self.generator, thumb_px=self.thumb_px,
            progress=lambda text: setattr(self.status, "value", info_html(f"Reading: {text}")))
        cur = self.curation
        none = "" if cur.statistics else \
            " (its generator declares none, or is not installed here)"
        self.status.value = info_html(
            f"{len(cur)} jobs, {len(cur.statistics)} label statistics{none}, read in "
            f"{time.perf_counter() - started:.1f} s")
        self._varying = cur.varying() or list(cur.statistics)
        columns = cur.columns()
        self.column.options = columns
        self.sort.options = [_JOB_ORDER, *columns]
        known = set(cur.job_ids)
        self.selection = {j: None for j in self.selection if j in known}
        self.filters = [f for f in self.filters if f.column in columns]
        self._column_changed()
        self._show_filters()
        self._refilter()

    def _column_changed(self) -> None:
        cur, name = self.curation, self.column.value
        if cur is None or name is None:
            return
        numeric = cur.is_numeric(name)
        for box in (self.low, self.high):
            box.layout.display = "" if numeric else "none"
        self.values.layout.display = "none" if numeric else ""
        if numeric:
            low, high = cur.bounds(name)
            self.low.value = 0.0 if math.isnan(low) else low
            self.high.value = 0.0 if math.isnan(high) else high
        else:
            self.values.options = cur.choices(name)

    def _add_filter(self) -> None:
        cur, name = self.curation, self.column.value
        if cur is None or name is None:
            return
        if cur.is_numeric(name):
            self.add_filter(Filter(name, low=self.low.value, high=self.high.value))
        elif self.values.value:
            self.add_filter(Filter(name, values=tuple(self.values.value)))

    def add_filter(self, f: Filter) -> None:
        """Keep only the jobs passing ``f`` too (one filter per column: a new one replaces)."""
        self.filters = [g for g in self.filters if g.column != f.column] + [f]
        self._show_filters()
        self._refilter()

    def remove_filter(self, column: str) -> None:
        self.filters = [f for f in self.filters if f.column != column]
        self._show_filters()
        self._refilter()

    def _show_filters(self) -> None:
        buttons = []
        for f in self.filters:
            b = widgets.Button(description=f"✕ {f.describe()}", tooltip="remove this filter",
                               layout=widgets.Layout(width="auto"))
            b.add_class("iw-gallery-filter")
            b.on_click(lambda _, c=f.column: self.remove_filter(c))
            buttons.append(b)
        self.active_filters.children = buttons

    def _refilter(self) -> None:
        started = time.perf_counter()
        if self.curation is None:
            self._rows = []
        else:
            sort = None if self.sort.value == _JOB_ORDER else self.sort.value
            self._rows = self.curation.select_rows(self.filters, sort, self.descending.value)
        self.page = 0
        self._draw(started)

    def shown_ids(self) -> list[str]:
        """Every job passing the filters, in the sorted order (all pages)."""
        return [] if self.curation is None else self.curation.ids_of(self._rows)

    def pages(self) -> int:
        return max(1, math.ceil(len(self._rows) / self.per_page))

    def go_to_page(self, page: int) -> None:
        started = time.perf_counter()
        self.page = min(max(0, page), self.pages() - 1)
        self._draw(started)

    # -- drawing ----------------------------------------------------------------------------
    def _caption_columns(self) -> list[str]:
        cur = self.curation
        assert cur is not None
        wanted = [] if self.sort.value == _JOB_ORDER else [self.sort.value]
        wanted += [f.column for f in self.filters] + self._varying
        return list(dict.fromkeys(wanted))[:3]

    def _draw(self, started: float) -> None:
        self._drawing = True
        try:
            ids: list[str] = []
            if self.curation is not None:
                start = self.page * self.per_page
                ids = self.curation.ids_of(self._rows[start:start + self.per_page])
                captions = self._caption_columns()
            # One comm message per widget that changes (hold_sync gathers its traits): in a
            # browser the messages, not the Python, are what a redraw costs.
            for i, tile in enumerate(self.tiles):
                if i >= len(ids):
                    tile.job_id = None
                    tile.box.layout.display = "none"
                    continue
                job_id = ids[i]
                tile.job_id = job_id
                tile.view.value = tile.html(self.curation.thumbnail_uri(job_id), "<br>".join(
                    f"{html.escape(_short(c))}: {html.escape(_fmt(self.curation.value(job_id, c)))}"
                    for c in captions))
                picked = job_id in self.selection
                with tile.pick.hold_sync():
                    tile.pick.value = picked
                    tile.pick.description = job_id[:8]
                    tile.pick.tooltip = job_id
                with tile.box.layout.hold_sync():
                    tile.box.layout.border = _SELECTED if picked else _UNSELECTED
                    tile.box.layout.display = ""
            shown = len(self._rows)
            total = 0 if self.curation is None else len(self.curation)
            self.page_label.value = (f"page {self.page + 1} / {self.pages()} · {shown:,} shown "
                                     f"of {total:,}")
            self.prev_button.disabled = self.page == 0
            self.next_button.disabled = self.page >= self.pages() - 1
            self._show_count()
        finally:
            self._drawing = False
        self.last_redraw_s = time.perf_counter() - started

    def _show_count(self) -> None:
        self.count.value = f"<b>{len(self.selection)} selected</b>"

    # -- selection --------------------------------------------------------------------------
    def _picked(self, tile: _Tile, picked: bool) -> None:
        if self._drawing or tile.job_id is None:
            return
        if picked:
            self.selection[tile.job_id] = None
        else:
            self.selection.pop(tile.job_id, None)
        tile.box.layout.border = _SELECTED if picked else _UNSELECTED
        self._show_count()

    def select(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.selection[str(job_id)] = None
        self._draw(time.perf_counter())

    def select_shown(self) -> None:
        """Select every job passing the filters (on every page)."""
        self.select(self.shown_ids())

    def clear_selection(self) -> None:
        self.selection.clear()
        self._draw(time.perf_counter())

    @property
    def selected(self) -> list[str]:
        return list(self.selection)

    def load_selection(self, record: Path | str) -> dict[str, Any]:
        """Select the jobs saved with a rerun record (its folder or notebook)."""
        saved = read_selection(record)
        self.selection = dict.fromkeys(saved["job_ids"])
        self._draw(time.perf_counter())
        return saved

    # -- rerun ------------------------------------------------------------------------------
    def _server(self) -> str:
        return self.batch.session.server if self.batch is not None else ""

    def _overrides(self) -> dict[str, Any]:
        text = self.overrides.value.strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"the overrides are not JSON ({exc.msg}); write them like "
                             f'{{"frame_rate": 12}}') from None
        if not isinstance(value, dict):
            raise ValidationError("the overrides must be a JSON object of parameter: value")
        return value

    def plan(self) -> RerunPlan | None:
        """Check the selection and overrides; show what would be submitted and the two
        ways on (write the record, or submit now)."""
        self.write_button.layout.display = self.confirm_button.layout.display = "none"
        self.last_plan = None
        self.links.clear_output()
        try:
            if self.batch is None:
                raise ValidationError("this gallery was opened without its previews batch; pass "
                                 "batch= to rerun (curation_gallery(folder, batch))")
            sort = None if self.sort.value == _JOB_ORDER else self.sort.value
            plan = plan_rerun(self.batch, self.selected, self._overrides(),
                              self.batch_name.value.strip() or None, self.filters, sort)
        except ValidationError as exc:  # the user's choice: said as it is
            self.result.value = error_html(str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - shown to the user, in one sentence
            self.result.value = error_html(explain_error(exc, self._server()))
            return None
        self.last_plan = plan
        self.result.value = info_html(plan.describe() + ". Write the Submit record to "
                                      "review it first, or confirm to submit now.")
        self.write_button.layout.display = self.confirm_button.layout.display = ""
        return plan

    def _write_clicked(self) -> None:
        self.write_button.layout.display = self.confirm_button.layout.display = "none"
        if self.last_plan is None:
            return
        try:
            self.last_record = write_rerun_record(self.last_plan, self.records_dir)
        except Exception as exc:  # noqa: BLE001
            self.result.value = error_html(explain_error(exc, self._server()))
            return
        self.result.value = success_html(f"Submit record written: {self.last_record}")
        show_html(self.links, link_html("Open the Submit record",
                                        lab_link(self.last_record, self.notebook_folder)))

    def _confirm_clicked(self) -> None:
        self.write_button.layout.display = self.confirm_button.layout.display = "none"
        plan, self.last_plan = self.last_plan, None  # one click submits once
        if plan is None or self.batch is None:
            return
        self.result.value = info_html(f"Submitting {len(plan.job_ids)} videos...")
        try:
            batch, record = submit_rerun(plan, self.batch, self.records_dir)
        except Exception as exc:  # noqa: BLE001
            self.result.value = error_html(explain_error(exc, self._server()))
            return
        self.last_batch, self.last_record = batch, record
        self.result.value = success_html(
            f"Submitted videos batch {batch.batch_id} ({len(plan.job_ids)} jobs); record "
            f"{record.parent}")
        show_html(self.links, "<br>".join(
            link_html(f"Open its Download notebook ({p.name})", lab_link(p, self.notebook_folder))
            for p in sorted(record.parent.glob("download_batch_*.ipynb"))))


def curation_gallery(folder: Path | str, batch: Batch | None = None, **options: Any,
                     ) -> CurationGallery:
    """Show the curation gallery of a downloaded batch folder and return it (its
    ``selected``, ``shown_ids()``, ``add_filter`` and ``plan`` are there for code too)."""
    from IPython.display import display

    gallery = CurationGallery(folder, batch, **options)
    display(gallery.widget)
    return gallery
