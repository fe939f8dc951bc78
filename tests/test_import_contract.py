"""The import contract: what each entry point may load at start-up.

A user pays for every module an entry point imports before it does anything, so the heavy
libraries are imported only by the functions that need them. Each case runs in a fresh
interpreter and lists which of the heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import ROOT

# The notebook machinery, the renderer's compiled kernels, and the review libraries.
HEAVY = ("nbformat", "jsonschema", "papermill", "nbclient", "numba", "pandas", "matplotlib",
         "ipywidgets", "IPython", "PIL", "pycocotools", "imageio_ffmpeg", "visionfit.generator.job",
         "rfc3987_syntax.syntax_helpers")

PROBE = """
import json, sys
{code}
print(json.dumps([name for name in {heavy!r} if name in sys.modules]))
"""


def loaded(code: str, cwd: Path = ROOT, extra: tuple[str, ...] = ()) -> list[str]:
    """The heavy modules (and ``extra`` ones) a fresh interpreter holds after ``code``."""
    probe = PROBE.format(code=code, heavy=HEAVY + extra)
    result = subprocess.run([sys.executable, "-c", probe],
                            capture_output=True, text=True, timeout=120, cwd=cwd, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_package_loads_nothing_heavy() -> None:
    assert loaded("import infinity_workflows", extra=("numpy", "requests")) == []
    # The client and its sampling engine: still no notebook machinery, renderer or pandas.
    assert loaded("from infinity_workflows import Batch, Session; Session, Batch") == []


def test_the_workflow_steps_load_no_widgets_notebook_machinery_or_pandas() -> None:
    # Each step imports what it needs (pandas for the batch table, nbformat for a record)
    # inside the function that needs it.
    assert loaded("import infinity_workflows.workflow") == []
    assert loaded("from infinity_workflows.workflow import default_server, explain_error\n"
                  "default_server()\n"
                  "explain_error(KeyboardInterrupt(), 'http://127.0.0.1:8765/')\n") == []


def test_the_cli_loads_nothing_heavy_to_parse_or_answer_help() -> None:
    code = ("from infinity_workflows.cli import build_parser, main\n"
            "build_parser()\n"
            "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass\n")
    assert loaded(code, extra=("numpy",)) == []


def test_the_server_app_and_its_generators_load_no_renderer_or_notebook_machinery(
        tmp_path: Path) -> None:
    code = ("from infinity_workflows.server import Settings, create_app\n"
            "from infinity_workflows.server_home import Home\nfrom pathlib import Path\n"
            f"create_app(Settings(home=Home(Path({str(tmp_path)!r})), "
            "generator_specs=('tests.support.tiny:TinyGenerator',)))\n"
            "from infinity_workflows.generators import GeneratorRegistry\n"
            "assert 'visionfit-flagship-v0.1.0' in GeneratorRegistry.discover().names()\n")
    assert loaded(code) == []


def test_rendering_a_record_loads_papermill_but_never_builds_the_iri_grammar(
        tmp_path: Path) -> None:
    code = ("from infinity_workflows.records import create_workflow_notebook\n"
            "create_workflow_notebook('submit', generator='visionfit-flagship-v0.1.0',\n"
            f"    server='http://127.0.0.1:8765/', records_dir={str(tmp_path)!r})\n")
    found = loaded(code)
    assert "papermill" in found and "nbformat" in found
    assert "rfc3987_syntax.syntax_helpers" not in found
    assert "numba" not in found and "visionfit.generator.job" not in found
    assert list(tmp_path.glob("workflow_*/submit_batch_*.ipynb"))


def test_the_deferred_iri_grammar_still_answers_like_the_real_one() -> None:
    pytest.importorskip("rfc3987_syntax")
    code = ("import infinity_workflows.records, jsonschema, sys\n"
            "assert 'rfc3987_syntax.syntax_helpers' not in sys.modules\n"
            "check = jsonschema.FormatChecker()\n"
            "assert check.conforms('http://例え.jp/パス?q=1#f', 'iri')\n"
            "assert not check.conforms('no scheme here', 'iri')\n"
            "import rfc3987_syntax\n"
            "assert rfc3987_syntax.is_valid_syntax('iri', 'https://example.org/a')\n")
    assert "rfc3987_syntax.syntax_helpers" in loaded(code)
