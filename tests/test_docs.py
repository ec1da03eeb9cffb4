"""Every Python snippet in README.md and docs/*.md runs as written.

The ```python blocks of one page run in order in one namespace (a page reads
top to bottom, so a later block may use names an earlier one defined), in a
temporary working directory, with matplotlib's headless backend. A block
directly preceded by a line ``<!-- skip-test: reason -->`` is skipped (for a
GPU or a peer tool only).
"""

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?P<before>[^\n]*)\n(?P<indent>[ \t]*)```python\n(?P<code>.*?)\n[ \t]*```",
                    re.S)


def snippets(page):
    """``(code, skip_reason)`` of each python block of ``page``, in order."""
    text = "\n" + page.read_text()
    out = []
    for m in _BLOCK.finditer(text):
        skip = re.match(r"\s*<!--\s*skip-test:\s*(.*?)\s*-->", m["before"])
        out.append((textwrap.dedent(m["code"]), skip.group(1) if skip else None))
    return out


def test_the_pages_have_snippets():
    counts = {p.name: len(snippets(p)) for p in PAGES}
    assert counts["README.md"] >= 4, counts
    assert sum(counts.values()) >= 12, counts


@pytest.mark.parametrize("page", [p for p in PAGES if snippets(p)],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_snippets_run_as_written(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__snippet__"}
    for i, (code, skip) in enumerate(snippets(page)):
        if skip:
            continue
        exec(compile(code, f"{page.name} block {i + 1}", "exec"), namespace)
