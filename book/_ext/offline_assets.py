"""Sphinx extension: the book's pages load nothing from the network, so they read the same offline.

1. MathJax 3 comes from the book's own static files. Sphinx's default `mathjax_path` is a CDN URL; this
extension copies MathJax 3 out of the pinned PyPI wheel `django-static-mathjax` (it carries MathJax 3.2.2's
`es5/` build as plain files and has no dependencies; Django itself is not needed) into `<html>/_static/mathjax/`
and points `mathjax_path` there. The copy holds the entry script `tex-mml-chtml.js` and the parts it loads on
demand: TeX extensions (`input/`), the CommonHTML fonts (`output/chtml/`), the menu (`ui/`) and the
accessibility components (`a11y/`, `sre/`).

Configuration (the `sphinx: config:` block of `_config.yml`): `mathjax_path` may be left unset or set to
`mathjax/tex-mml-chtml.js`; a remote URL is refused with an error, since the book must read offline.

2. Thebe's loader is left out when the book has no thebe launch button (`launch_buttons: thebe: false`).
Jupyter Book always loads `sphinx_thebe`, which adds to every page a script naming thebe's CDN URL and, with
Sphinx 7, adds it twice, so that every page logs "Identifier 'THEBE_JS_URL' has already been declared". Without a
launch button nothing on the page can start thebe, so both of its scripts are dropped.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.ext.mathjax import MATHJAX_URL

DISTRIBUTION = "django-static-mathjax"   # the PyPI wheel that carries MathJax's files
PACKAGE = "mathjax"                       # the import name that wheel installs
ENTRY = "tex-mml-chtml.js"                # what Sphinx's own default loads, same configuration options
LOCAL_PATH = f"mathjax/{ENTRY}"           # relative to _static/, as Sphinx resolves a relative mathjax_path
PARTS = ("input", "output/chtml", "ui", "a11y", "sre")   # loaded on demand by the entry script
INSTALL_HINT = (
    f"install the pinned stack (`pip install -r requirements.txt`, which lists {DISTRIBUTION}) so that "
    "the book's math renders without a network"
)


def mathjax_source_dir() -> Path:
    """The `es5/` folder of the installed MathJax 3 distribution.

    Returns the folder holding `tex-mml-chtml.js`; raises `ExtensionError` saying how to install it when the
    wheel is missing, or when what is installed under the name `mathjax` is not MathJax 3.
    """
    try:
        importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as err:
        raise ExtensionError(f"offline_assets: {DISTRIBUTION} is not installed; {INSTALL_HINT}") from err
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ExtensionError(f"offline_assets: the `{PACKAGE}` package of {DISTRIBUTION} is not importable; "
                             f"{INSTALL_HINT}")
    root = Path(spec.origin).parent / "static" / "mathjax"
    version = json.loads((root / "package.json").read_text())["version"]
    if not version.startswith("3."):
        raise ExtensionError(f"offline_assets: found MathJax {version} in {root}, need 3.x; {INSTALL_HINT}")
    source = root / "es5"
    if not (source / ENTRY).is_file():
        raise ExtensionError(f"offline_assets: {source / ENTRY} is missing; reinstall {DISTRIBUTION}")
    return source


def mathjax_version() -> str:
    """The version of the MathJax that `mathjax_source_dir()` serves, e.g. '3.2.2'."""
    return json.loads((mathjax_source_dir().parent / "package.json").read_text())["version"]


def copy_mathjax(source: Path, static_dir: Path) -> Path:
    """Copy the entry script and the on-demand `PARTS` from `source` into `static_dir/mathjax/`.

    Returns the copied entry script. Files already there are overwritten (a few MB, a fraction of a second).
    """
    target = static_dir / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / ENTRY, target / ENTRY)
    for part in PARTS:
        shutil.copytree(source / part, target / part, dirs_exist_ok=True)
    license_file = source.parent / "LICENSE"
    if license_file.is_file():
        shutil.copy2(license_file, target / "LICENSE")
    return target / ENTRY


def is_remote(path: str) -> bool:
    """True for a URL that a browser would fetch from the network (`https://...`, `//host/...`)."""
    return "://" in path or path.startswith("//")


def _use_local_mathjax(app: Sphinx, config) -> None:
    if config.mathjax_path == MATHJAX_URL:
        config.mathjax_path = LOCAL_PATH
    elif is_remote(config.mathjax_path):
        raise ExtensionError(f"offline_assets: mathjax_path={config.mathjax_path!r} loads MathJax from the "
                             f"network; remove it or set it to {LOCAL_PATH!r}")
    elif config.mathjax_path != LOCAL_PATH:
        raise ExtensionError(f"offline_assets: mathjax_path={config.mathjax_path!r}; this extension serves "
                             f"{LOCAL_PATH!r} (relative to _static/)")
    mathjax_source_dir()   # fail at start-up, not after an hour of notebook execution


def is_thebe_loader(script) -> bool:
    """True for the two scripts sphinx-thebe adds to every page: its configuration and `sphinx-thebe.js`."""
    filename = str(getattr(script, "filename", script) or "")
    body = getattr(script, "attributes", {}).get("body", "") or ""
    return filename.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body


def thebe_enabled(config) -> bool:
    """Whether the book has a thebe launch button (`launch_buttons: thebe: true` in _config.yml)."""
    return bool((config.html_theme_options or {}).get("launch_buttons", {}).get("thebe"))


def _drop_thebe_loader(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not thebe_enabled(app.config) and "script_files" in context:
        context["script_files"] = [js for js in context["script_files"] if not is_thebe_loader(js)]


def _copy_into_build(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(mathjax_source_dir(), Path(app.outdir) / "_static")


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    # Sphinx loads MathJax only on pages whose markdown has math; tables rendered by the chapters' code (e.g. the
    # claims page) carry math of their own, so every page loads it.
    app.set_html_assets_policy("always")
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_into_build)
    app.connect("html-page-context", _drop_thebe_loader)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
