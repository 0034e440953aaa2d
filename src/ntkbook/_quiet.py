"""Silence TensorFlow's start-up noise before anything imports it.

neural-tangents imports TensorFlow at import time, and TensorFlow's native code writes CUDA-probe and oneDNN
messages straight to file descriptor 2, past Python's `sys.stderr`. Setting the log-level variables covers
most of it; the few lines printed while the shared library loads need the descriptor itself redirected.
"""

import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@contextlib.contextmanager
def native_stderr_silenced():
    """Redirect file descriptor 2 to /dev/null for the duration (Python-level warnings included)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow once with its native start-up messages discarded (a no-op if already imported)."""
    import sys

    if "tensorflow" in sys.modules:
        return
    with native_stderr_silenced():
        try:
            import tensorflow  # noqa: F401
        except ImportError as err:  # report after stderr is restored
            raise ImportError(
                "TensorFlow failed to import; neural-tangents needs it. Install the pinned stack with "
                "`pip install -r requirements.txt` (see README)."
            ) from err
