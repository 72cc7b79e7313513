"""Sphinx settings of the course book (`make book`).

The sources Sphinx reads are not this folder but a staging folder that
`python -m fido_lib.course.book` writes for each edition (the pages below, the notebooks
as that edition shows them, the figures); this file is its configuration (`sphinx-build -c
book/`). The edition is a Sphinx tag: `-t student` or `-t instructor`.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

EDITION = "instructor" if tags.has("instructor") else "student"  # noqa: F821 (`tags` is Sphinx's)

project = "fido_lib: Simplified Concrete Dropout and FIDO"
author = "fido_lib contributors"
copyright = "fido_lib contributors, MIT licence"  # noqa: A001 (Sphinx's name)
root_doc = "index"

extensions = [
    "myst_nb",                  # Markdown pages and notebooks (stored outputs, never executed)
    "sphinx.ext.autodoc",       # the library reference, from docstrings
    "sphinx.ext.napoleon",
    "sphinx_togglebutton",      # folded model answers in the instructor edition
    "sphinx-mathjax-offline",   # MathJax served from _static/mathjax: no network
    "course_book",              # book/_ext: the syllabus' hours table
]

nb_execution_mode = "off"       # the notebooks' stored outputs, as committed
nb_ipywidgets_js = {}           # no widget manager fetched from a CDN (widget outputs are replaced at staging)
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# Docstrings are written as plain text for help() and the notebooks, not as reStructuredText:
# docutils' complaints about them (a list without a blank line, a word_ read as a link
# target) would fail the build without telling a reader anything. Broken links, missing
# pages and images still fail it.
suppress_warnings = ["mystnb.unknown_mime_type", "docutils"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_inherit_docstrings = False  # torch's own docstrings (autograd.Function.forward) link into torch's docs
autodoc_default_options = {"members": True, "show-inheritance": False}

exclude_patterns = ["_build", "**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_title = "fido_lib course book" + (" (instructor edition)" if EDITION == "instructor" else "")
html_static_path = [str(HERE / "_static")]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,    # the page's notebook, as this edition shows it
    "use_fullscreen_button": False,
    "use_repository_button": False,  # no icon fonts or remote links in the header
    "navigation_with_keys": False,
}
html_context = {"edition": EDITION, "default_mode": "light"}
