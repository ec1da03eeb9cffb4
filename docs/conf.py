"""Sphinx configuration of the sklearn-vae documentation site.

Build it with ``bash scripts/docs.sh`` (warnings are errors, as in CI); the
site lands in ``docs/_build/html``. Pages: the Markdown user guide of this
folder (MyST), the API reference generated from the numpydoc docstrings, and a
sphinx-gallery of the scripts in ``docs/examples`` (run at build time; set
``SKLEARN_VAE_DOCS_QUICK=1`` to run the slow ones with small settings, as CI does).
"""

import os
import warnings

import sklearn_vae

project = "sklearn-vae"
author = "the sklearn-vae developers"
copyright = "2026, the sklearn-vae developers"
release = version = sklearn_vae.__version__

root_doc = "contents"  # index.md stays the plain Markdown index of this folder
extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "index.md", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "**/*.codeobj.json"]

# The Markdown pages link to each other and to files of the repository outside
# this folder (../README.md, ../benchmarks/README.md) the way GitHub renders
# them; MyST cannot resolve the latter into the site, and says so per link.
suppress_warnings = ["myst.xref_missing"]
myst_heading_anchors = 3

autosummary_generate = True
# Methods the estimators inherit from our shared base (sample, score, ...) are
# documented on each estimator's page; those of scikit-learn's, imbalanced-learn's
# and torch's base classes are documented by those projects.
autodoc_default_options = {
    "members": True,
    "inherited-members": ",".join([
        "Module", "BaseEstimator", "_MetadataRequester", "_SetOutputMixin",
        "TransformerMixin", "OutlierMixin", "BaseOverSampler", "BaseSampler",
    ]),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-vae {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # every example runs at build time
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
}

# Examples run headless; a ConvergenceWarning of a deliberately short fit is
# not a documentation error.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-interactive.*")


def _skip_metadata_request_setters(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_<method>_request`` methods.

    scikit-learn adds them for metadata routing (here: ``partial_fit``'s
    ``sample``); their docstrings are scikit-learn's, with references into its
    own documentation that this site cannot resolve.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_setters)
