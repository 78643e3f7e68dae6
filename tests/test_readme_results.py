"""Every results table in the README, and every committed run report, is rendered from
the committed results file it names: a figure changed by hand, or a file changed under
it, fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tiercode.evals.report import markdown, readme_table

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- results: (\S+) -->\n(.*?)<!-- /results -->", re.DOTALL)


def test_each_results_table_in_the_readme_matches_its_results_file() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = BLOCK.findall(readme)
    assert blocks, "the README quotes no results table"
    for path, table in blocks:
        data = json.loads((ROOT / path).read_text())
        assert table == readme_table(data), path


def test_each_committed_run_report_is_its_results_file_rendered_today() -> None:
    """The `.md` beside each results JSON is what `tiercode eval show` prints for it now:
    a metric added to the report is re-rendered into the committed reports too."""
    runs = sorted((ROOT / "evals" / "results").glob("*.json"))
    assert runs
    for path in runs:
        assert path.with_suffix(".md").read_text() == markdown(json.loads(path.read_text())), path
