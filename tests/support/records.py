"""A workflow record made for the rerun tests: it runs in any kernel, with no server."""

from __future__ import annotations

from pathlib import Path

import nbformat

from infinity_workflows import records
from infinity_workflows.records import new_record_folder

__all__ = ["probe_record"]


def probe_record(tmp_path: Path) -> Path:
    """A saved record whose run writes its parameter values to probe.json."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    params = nbformat.v4.new_code_cell('GENERATOR = "g"\nSERVER = "http://x/"\n'
                                       'NUM_JOBS = 10\nLABEL = "template default"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import json, os\n"
        "json.dump({'NUM_JOBS': NUM_JOBS, 'LABEL': LABEL, 'cwd': os.getcwd()},"
        " open('probe.json', 'w'))")]
    source = tmp_path / "probe_template.ipynb"
    nbformat.write(nb, str(source))
    folder, stamp = new_record_folder(tmp_path / "records")
    return records.render_record(
        "submit", {"GENERATOR": "g", "SERVER": "http://x/", "NUM_JOBS": 3,
                   "LABEL": "saved"}, folder=folder, stamp=stamp, template=source)
