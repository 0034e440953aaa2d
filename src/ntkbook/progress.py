"""Progress bars for long loops: shown when a person is watching, silent in CI logs and book builds."""

import os
import sys

from tqdm.auto import tqdm


def progress_enabled() -> bool:
    """True in an interactive session (a terminal or JupyterLab), False under CI or when NTKBOOK_PROGRESS=0."""
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
