"""Sphinx configuration of pytest-gcguard's documentation site.

Build it with ``sphinx-build -W --keep-going -b html docs <out>`` (``.ci/run``
does).  The pages are Markdown, read by myst-parser.
"""

from __future__ import annotations

import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
# Import the checkout, installed or not, for autodoc.
sys.path.insert(0, str(ROOT))

from pytest_gcguard import __version__  # noqa: E402


project = "pytest-gcguard"
author = "pytest-gcguard contributors"
copyright = "pytest-gcguard contributors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
# docs/demo/ is a test suite the README runs, not pages; the JSON schema is
# linked as a download from report.md.
exclude_patterns = ["_build", "demo", "Thumbs.db", ".DS_Store"]

# Links like [the audit](how-it-works.md#the-audit) resolve to headings.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = f"pytest-gcguard {release}"
html_show_sourcelink = False
