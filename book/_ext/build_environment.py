"""Sphinx extension: tables of the environment the book was built with, made by the build itself.

The directive

    ```{build-environment} machine
    ```

becomes a table of the build's date (UTC), source commit, Python, operating system, CPU, memory and the
accelerator JAX sees; `{build-environment} packages` becomes a table of every package pinned in
`requirements.txt` beside the version installed; `{build-environment} reference` a table of the independent
reference, neural-tangents (installed without its TensorFlow requirement), with the JAX it runs on and every
compatibility shim `ntkbook.nt_compat` applied to import it. (myst-nb's own `{nb-exec-table}` gives the run time
per chapter.)
The tables are filled in when the page is written, and every page that uses the directive is re-read on every
build, so they never describe an older build.

Configuration (`sphinx: config:` in `_config.yml`): `ntkbook_requirements`, the requirements file, relative to
the book's source folder (default `../requirements.txt`).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

TABLES = ("machine", "packages", "reference")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-\[\]]*)\s*==\s*([^\s;#]+)")


def parse_requirements(text: str) -> list[tuple[str, str]]:
    """The `(name, pinned version)` pairs of the `name==version` lines of a requirements file, in order.

    Comments, blank lines, options (`-e .`, `-r ...`) and unpinned lines are skipped; extras are dropped from
    the name (`jax[cuda12]==0.5.3` -> `("jax", "0.5.3")`).
    """
    pins = []
    for line in text.splitlines():
        match = _REQUIREMENT.match(line)
        if match:
            pins.append((re.sub(r"\[.*\]", "", match.group(1)), match.group(2)))
    return pins


def installed_version(name: str) -> str:
    """The installed version of distribution `name`, or 'not installed'."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def package_rows(requirements: Path) -> list[tuple[str, str, str]]:
    """Rows `(package, pinned, installed)` for every pin of `requirements`; raises if the file is missing."""
    if not requirements.is_file():
        raise ExtensionError(f"build_environment: requirements file {requirements} not found; set "
                             "`ntkbook_requirements` (relative to the book folder) in _config.yml's sphinx.config")
    return [(name, pin, installed_version(name)) for name, pin in parse_requirements(requirements.read_text())]


def reference_rows() -> list[tuple[str, str]]:
    """Rows for neural-tangents as loaded through `ntkbook.nt_compat`: its version, JAX's, and each shim applied.

    Raises ExtensionError (with nt_compat's message, which names the JAX version) if NT cannot be imported.
    """
    try:
        from ntkbook import nt_compat

        versions = nt_compat.versions()
    except ImportError as err:
        raise ExtensionError(f"build_environment: {err}") from err
    rows = [("neural-tangents", versions["neural_tangents"]), ("JAX / jaxlib", f"{versions['jax']} / "
                                                                              f"{versions['jaxlib']}")]
    shims = nt_compat.SHIMS_APPLIED or ("none",)
    rows += [("shim applied" if i == 0 else "", shim) for i, shim in enumerate(shims)]
    return rows


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else `platform.processor()`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    """Total memory in GiB from /proc/meminfo, or 'unknown' where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def accelerator() -> str:
    """What JAX computes on, asked of a fresh interpreter (so this process never holds GPU memory).

    E.g. 'cpu: 1 device (cpu)' or 'gpu: 1 device (NVIDIA H100 80GB HBM3)'; when the query fails the text says why.
    """
    code = ("import jax; d = jax.devices(); print(f'{jax.default_backend()}: {len(d)} device' + 's' * (len(d) > 1)"
            " + ' (' + ', '.join(sorted({x.device_kind for x in d})) + ')')")
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false", TF_CPP_MIN_LOG_LEVEL="3")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unknown (asking JAX failed: {err})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"unknown (asking JAX failed: {last})"
    return done.stdout.strip().splitlines()[-1]


def nvidia_gpus() -> str:
    """`nvidia-smi`'s GPU names and memory, or 'none' where nvidia-smi is absent."""
    if shutil.which("nvidia-smi") is None:
        return "none (no nvidia-smi)"
    done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip().replace("\n", "; ") or f"none ({done.stderr.strip()})"


def source_commit(folder: Path) -> str:
    """`git describe`-like id of the checkout holding `folder` ('<sha> (+ local changes)'), or 'not a git checkout'."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=folder, capture_output=True,
                             text=True, timeout=30)
        if sha.returncode != 0:
            return "not a git checkout"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                               capture_output=True, text=True, timeout=30)
    except OSError:
        return "git not available"
    return sha.stdout.strip() + (" (+ local changes)" if dirty.stdout.strip() else "")


def machine_rows(started: _dt.datetime, srcdir: Path) -> list[tuple[str, str]]:
    """Rows `(what, value)` describing the build: date, commit, Python, OS, CPU, memory, accelerator, data."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    data = os.environ.get("NTKBOOK_DATA")
    return [
        ("build started (UTC)", started.strftime("%Y-%m-%d %H:%M:%S")),
        ("source commit", source_commit(srcdir)),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("operating system", platform.platform()),
        ("CPU", f"{cpu_model()}, {cores} usable of {os.cpu_count()} logical cores"),
        ("memory", memory_gib()),
        ("JAX backend and devices", accelerator()),
        ("NVIDIA GPUs", nvidia_gpus()),
        ("data", f"NTKBOOK_DATA={data}" if data else "NTKBOOK_DATA unset: data sets downloaded into the cache"),
    ]


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> nodes.table:
    """A docutils table with one header row and string cells."""
    tbl = nodes.table(classes=["colwidths-auto", "build-environment"])
    group = nodes.tgroup(cols=len(header))
    tbl += group
    group.extend(nodes.colspec(colwidth=1) for _ in header)

    def row(cells):
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=str(cell))
            line += entry
        return line

    head = nodes.thead()
    head += row(header)
    body = nodes.tbody()
    body.extend(row(r) for r in rows)
    group += head
    group += body
    return tbl


class build_environment_node(nodes.General, nodes.Element):
    """Placeholder, replaced by a table when the page is written."""


class BuildEnvironment(SphinxDirective):
    """`{build-environment} machine|packages|reference`: a table of the build's machine, packages or reference."""

    required_arguments = 1

    def run(self):
        which = self.arguments[0]
        if which not in TABLES:
            raise self.error(f"build-environment takes one of {TABLES}, not {which!r}")
        docs = getattr(self.env, "ntkbook_build_env_docs", set())
        docs.add(self.env.docname)
        self.env.ntkbook_build_env_docs = docs
        return [build_environment_node(which=which)]


class FillBuildEnvironment(SphinxPostTransform):
    """Replace each placeholder with its table (at write time, after every notebook has run)."""

    default_priority = 8

    def run(self, **kwargs) -> None:
        app = self.app
        for node in list(self.document.findall(build_environment_node)):
            if node["which"] == "machine":
                node.replace_self(table(("", "this build"), machine_rows(app.ntkbook_build_started,
                                                                         Path(app.srcdir))))
            elif node["which"] == "reference":
                node.replace_self(table(("", "this build"), reference_rows()))
            else:
                requirements = (Path(app.srcdir) / app.config.ntkbook_requirements).resolve()
                node.replace_self(table(("package", "pinned in requirements.txt", "installed"),
                                        package_rows(requirements)))


def _always_reread(app, env, added, changed, removed):
    return sorted(getattr(env, "ntkbook_build_env_docs", set()) & set(env.found_docs))


def _purge(app, env, docname):
    getattr(env, "ntkbook_build_env_docs", set()).discard(docname)


def _merge(app, env, docnames, other):
    env.ntkbook_build_env_docs = getattr(env, "ntkbook_build_env_docs", set()) | (
        getattr(other, "ntkbook_build_env_docs", set()) & set(docnames))


def _started(app):
    app.ntkbook_build_started = _dt.datetime.now(_dt.UTC)


#: Words for myst-nb's execution-table "Status" column. myst-nb writes the emoji U+2705 / U+274C there, which
#: fonts without colour emoji (headless Chromium on a server, many Linux desktops) draw as empty boxes.
EXEC_STATUS_WORDS = {True: "succeeded", False: "failed"}


def plain_exec_status() -> None:
    """Make `{nb-exec-table}` write `EXEC_STATUS_WORDS` instead of emoji in its Status column."""
    from myst_nb.ext import execution_tables

    if "succeeded" not in execution_tables._key2transform:
        raise ExtensionError("myst_nb.ext.execution_tables no longer has the 'succeeded' column this extension "
                             "rewrites; update book/_ext/build_environment.py for the pinned myst-nb")
    execution_tables._key2transform["succeeded"] = lambda ok: EXEC_STATUS_WORDS[ok is True]


def setup(app: Sphinx) -> dict:
    plain_exec_status()
    app.add_config_value("ntkbook_requirements", "../requirements.txt", "env")
    app.add_node(build_environment_node)
    app.add_directive("build-environment", BuildEnvironment)
    app.add_post_transform(FillBuildEnvironment)
    app.connect("builder-inited", _started)
    app.connect("env-get-outdated", _always_reread)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
