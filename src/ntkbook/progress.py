"""Progress bars for long loops: shown when a person is watching, silent in CI logs and book builds."""

import os
import sys

try:  # widget bars in JupyterLab when ipywidgets is installed; plain text bars otherwise (no stderr warning)
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm.std import tqdm


def progress_enabled() -> bool:
    """True in an interactive session (a terminal or JupyterLab), False under CI or when NTKBOOK_PROGRESS=0.

    `make book` and the chapter tests set NTKBOOK_PROGRESS=0 so that rendered pages carry no progress bars.
    """
    setting = os.environ.get("NTKBOOK_PROGRESS")
    if setting is not None:
        return setting not in ("0", "false", "no", "")
    if os.environ.get("CI"):
        return False
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def progress(iterable=None, **kwargs):
    """`tqdm.auto.tqdm(iterable, **kwargs)`, disabled where `progress_enabled()` is False."""
    kwargs.setdefault("disable", not progress_enabled())
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)
