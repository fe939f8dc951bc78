"""Notebook helpers for VisionFit batches.

* :mod:`visionfit.utils.sampling`: draw job parameters (``sample_input``), reruns from seeds
  (the names notebooks import; the engine is :mod:`infinity_workflows.sampling`);
* :mod:`visionfit.utils.vis`: everything for looking at a batch (summary table, histograms,
  previews, the label video and mosaic, the coverage report), gathered from its modules;
* :mod:`visionfit.utils.export`: a downloaded batch as one COCO dataset.

The submodules are imported on use, so sampling does not pay for matplotlib. In a notebook,
a returned matplotlib Figure is shown as a PNG even without ``%matplotlib inline`` (notebooks
written for Infinity's toolkit, whose plots were Plotly, do not set it up).
"""

__all__ = ["export", "sampling", "vis"]


def _show_returned_figures() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]

    def to_png(fig):  # by name, so matplotlib is imported only once a figure exists
        from IPython.core.pylabtools import print_figure

        return print_figure(fig, "png", bbox_inches="tight")

    # %matplotlib inline registers the same thing; a formatter already there is kept.
    if not _has_figure_formatter(png):
        png.for_type_by_name("matplotlib.figure", "Figure", to_png)


def _has_figure_formatter(png) -> bool:
    return ("matplotlib.figure", "Figure") in png.deferred_printers or any(
        (getattr(t, "__module__", ""), getattr(t, "__name__", "")) == ("matplotlib.figure",
                                                                       "Figure")
        for t in png.type_printers)


_show_returned_figures()
