"""The project's JupyterLab, started for a test: headless, token-less, on 127.0.0.1 at a free port, stopped after.

`running_lab(root)` is a context manager yielding the lab's base URL with `root` as its file root. It starts
`jupyter lab` from the venv beside this Python (so the lab extensions pinned in requirements.txt, e.g.
jupyterlab-myst, are the ones that load), with `--allow-root` when run as root, waits until the server answers,
and terminates it (then kills it) on exit; its settings autosave every `AUTOSAVE_S` seconds and attach every cell to the
page. `open_and_run_all(page, url, notebook)` opens a notebook in the lab,
runs every cell through the lab's own "Run All Cells" command and waits until the kernel is idle again with every
code cell executed; a failing cell raises `CellFailed` with its traceback at once (the lab stops Run All there, so
waiting for the cells below it would last until the timeout).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: the project's JupyterLab extensions (book/_ext/jupyterlab/<name>/): ntkbook-glue fills myst-nb glue roles
LAB_EXTENSIONS = Path(__file__).resolve().parents[2] / "book" / "_ext" / "jupyterlab"


def lab_command(root: Path, port: int, state: Path) -> list[str]:
    """The `jupyter lab` command line: the venv's, no browser, no token or password, loopback only; the lab's
    workspaces and user settings in `state` (fresh, so nothing from an earlier session is restored)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "lab", "--no-browser", f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1",
               f"--LabApp.workspaces_dir={state}/workspaces", f"--LabApp.user_settings_dir={state}/settings",
               f"--LabApp.extra_labextensions_path={LAB_EXTENSIONS}",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
               "--LabApp.news_url=", "--LabApp.collaborative=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses to run as root without it
    return command


#: the lab's autosave interval in the tests, seconds (JupyterLab's default is 120)
AUTOSAVE_S = 10


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def running_lab(root: Path, log: Path | None = None, timeout: float = 120):
    """Start JupyterLab on `root`; yield its base URL ("http://127.0.0.1:PORT"); stop it on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    env = {**os.environ, "JUPYTER_NO_CONFIG": "1"}
    state = Path(tempfile.mkdtemp(prefix="ntkbook-lab-"))
    # no "get notified about Jupyter news?" toast over the screenshots, and no update check (offline)
    settings = state / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # autosave soon (a test can wait past it), and every cell in the page (no windowing), so the DOM shows them all
    for plugin, value in ((("docmanager-extension", "plugin"), {"autosave": True, "autosaveInterval": AUTOSAVE_S}),
                          (("notebook-extension", "tracker"), {"windowingMode": "none"})):
        (state / "settings" / "@jupyterlab" / plugin[0]).mkdir(parents=True, exist_ok=True)
        (state / "settings" / "@jupyterlab" / plugin[0] / f"{plugin[1]}.jupyterlab-settings").write_text(json.dumps(value))
    process = subprocess.Popen(lab_command(Path(root), port, state), stdout=out, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    # a SIGTERM (e.g. from `timeout`) would end Python without running `finally`: turn it into an exception so
    # the lab, which runs in its own session, is stopped all the same
    previous = signal.signal(signal.SIGTERM, _raise_exit) if _main_thread() else None
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {process.returncode} before answering"
                                   + (f"; see {log}" if log else ""))
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"jupyter lab did not answer on {url} within {timeout} s")
            time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and the kernels it started
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        if log:
            out.close()
        shutil.rmtree(state, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_KERNEL_IDLE = """() => {
  const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return status !== null && status.dataset.status === 'idle' && !document.querySelector('.jp-Dialog');
}"""

# Done when the kernel is not busy and either every code cell has run or a cell failed: after an error the lab
# stops Run All, so the cells below it never get a number and waiting for them would last until the timeout. The
# lab renders an error output with the stderr renderer, so a failed cell is told by its traceback's text, read as
# textContent (innerText depends on layout: in a chapter the failing cell's innerText came back empty).
_FAILED_OUTPUTS = """[...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')].filter(e =>
    ['application/vnd.jupyter.error', 'application/vnd.jupyter.stderr'].includes(e.dataset.mimeType)
    && /Traceback \\(most recent call last\\)/.test(e.textContent))"""

_ALL_EXECUTED = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
  const busy = document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="busy"]') !== null;
  const failed = FAILED_OUTPUTS.length > 0;
  return cells.length > 0 && !busy && (failed || prompts.every(p => /\\[\\d+\\]/.test(p)));
}""".replace("FAILED_OUTPUTS", _FAILED_OUTPUTS)

_ERRORS = "() => " + _FAILED_OUTPUTS + ".map(e => e.textContent.slice(-3000))"


class CellFailed(AssertionError):
    """A cell raised during Run All in JupyterLab; the message holds its traceback as the lab shows it."""


def open_notebook(page, url: str, notebook: str, timeout_ms: float = 120_000) -> None:
    """Open `notebook` (a path relative to the lab's root) and wait until its cells are on the page and its
    kernel is idle."""
    page.goto(f"{url}/lab/tree/{notebook}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    # The lab may ask which kernel to start (the dialog can come after the status bar already says Idle):
    # accept the proposed one, and call the notebook ready once the kernel has been idle, with no dialog, for
    # three polls in a row.
    deadline, quiet = time.monotonic() + timeout_ms / 1000, 0
    while quiet < 3:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{notebook}: the kernel did not become idle in JupyterLab")
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count():
            accept.first.click()
            quiet = 0
        elif page.evaluate(_KERNEL_IDLE):
            quiet += 1
        else:
            quiet = 0
        page.wait_for_timeout(1000)


def run_all(page, timeout_ms: float = 600_000) -> None:
    """Run every cell with the lab's "Run All Cells" command (the Run menu) and wait until all have executed.

    A cell that raises stops the lab's Run All; then `CellFailed` is raised at once with the cell's traceback
    (e.g. a chapter that cannot find its data fails with that message instead of waiting for the timeout)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_timeout(1000)
    page.wait_for_function(_ALL_EXECUTED, timeout=timeout_ms, polling=1000)
    errors = page.evaluate(_ERRORS)
    if errors:
        raise CellFailed("a cell failed in JupyterLab (Run All stopped there):\n" + "\n---\n".join(errors))
