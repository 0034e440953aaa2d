"""Silence native start-up noise that bypasses Python's `sys.stderr`.

The book's stack has no TensorFlow. Where one is installed anyway, neural-tangents' `experimental` subpackage
imports it (see `ntkbook.nt_compat`), and TensorFlow's native code writes CUDA-probe and oneDNN messages straight
to file descriptor 2. `tensorflow_quiet_env` sets its log-level variables (unless the user set them) and
`native_stderr_silenced` redirects the descriptor itself for the few lines printed while its library loads.
"""

import contextlib
import os


def tensorflow_quiet_env() -> None:
    """Default TensorFlow's native logging to errors only and oneDNN's notice off (user settings win)."""
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
