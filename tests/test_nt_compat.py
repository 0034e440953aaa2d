"""ntkbook.nt_compat: neural-tangents on current JAX, through guarded shims, as the book's reference.

NT's stax ReLU NTK and its empirical_ntk_fn are checked against ntkbook's closed forms in tests/test_kernels.py and
tests/test_models.py (both load NT through this module); here: what the module restores, that it is the only door
to NT, and its error messages.
"""

import importlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from ntkbook import kernels, nt_compat


def test_load_returns_neural_tangents_and_records_each_shim_it_applied():
    nt = nt_compat.load()
    assert nt.__version__ == "0.6.5"
    assert nt_compat.load() is nt  # idempotent
    assert isinstance(nt_compat.SHIMS_APPLIED, tuple)
    for shim in nt_compat.SHIMS_APPLIED:
        target, _, source = shim.partition(" <- ")
        if source.startswith("empty stand-in"):
            assert importlib.util.find_spec("tensorflow") is None
            assert sys.modules[target] is nt.experimental
            continue
        t_mod, _, t_name = target.rpartition(".")
        s_mod, _, s_name = source.rpartition(".")
        # each restored name is the very object at its new home
        assert getattr(importlib.import_module(t_mod), t_name) is getattr(importlib.import_module(s_mod), s_name)
    versions = nt_compat.versions()
    assert versions["jax"] == jax.__version__ and versions["neural_tangents"] == "0.6.5"


def test_on_current_jax_the_moved_names_are_restored():
    """JAX >= 0.6 moved what NT imports; on the pinned JAX (>= 0.11) the shims must be there and do the work."""
    major, minor = (int(v) for v in jax.__version__.split(".")[:2])
    if (major, minor) < (0, 11):
        pytest.skip(f"the pinned stack has JAX >= 0.11; this environment has {jax.__version__}")
    nt_compat.load()
    applied = " ".join(nt_compat.SHIMS_APPLIED)
    for name in ("jax.core.Jaxpr", "jax.core.Var", "jax.util.safe_map", "jax.interpreters.ad.zeros_like_p"):
        assert name in applied


def test_stax_relu_ntk_runs_through_the_module_and_matches_the_closed_form():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 5))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    ours = kernels.first_layer_ntk(z, z)
    ref = kernels.first_layer_ntk_nt(z, z)
    # NT takes arccos of a cosine that errs by eta <= 4 gamma_{d+5}(u) + u; arccos is Hoelder-1/2 with constant
    # pi / sqrt(2), so the kernel errs by <= sqrt(eta) / (2 sqrt 2) + 2 gamma_{d+1}(u) (derived in
    # tests/test_models.py::test_neural_tangents_kernel_fn_agrees_within_its_arccos_error); ours is exact to eps64
    u, d = 2.0**-53, z.shape[1]

    def gamma(k):
        return k * u / (1 - k * u)

    eta = 4 * gamma(d + 5) + u
    assert np.max(np.abs(ours - ref)) <= 1.01 * (np.sqrt(eta) / (2 * np.sqrt(2)) + 2 * gamma(d + 1))


def test_an_nt_that_cannot_import_gives_an_error_naming_the_jax_version(monkeypatch):
    for name in [m for m in sys.modules if m == "neural_tangents" or m.startswith("neural_tangents.")]:
        monkeypatch.delitem(sys.modules, name)

    class Broken:
        def find_spec(self, name, path=None, target=None):
            if name == "neural_tangents":
                raise AttributeError("module 'jax.core' has no attribute 'SomethingMoved'")
            return None

    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    with pytest.raises(ImportError, match=rf"JAX {jax.__version__}.*SomethingMoved"):
        nt_compat.load()


def test_a_missing_nt_says_how_to_install_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "neural_tangents", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ImportError, match="--no-deps neural-tangents==0.6.5"):
        nt_compat.load()


def test_importing_ntkbook_and_its_compute_modules_imports_neither_nt_nor_tensorflow():
    code = ("import sys, ntkbook.models, ntkbook.kernels, ntkbook.train, ntkbook.experiments.ntk_distance; "
            "bad = [m for m in ('neural_tangents', 'tensorflow') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_only_nt_compat_imports_neural_tangents():
    """Every other module of the package reaches NT through `nt_compat.load()` (so the shims come first)."""
    from pathlib import Path

    import ntkbook

    root = Path(ntkbook.__file__).parent
    offenders = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
                 if p.name != "nt_compat.py" and ("import neural_tangents" in p.read_text()
                                                  or "from neural_tangents" in p.read_text())]
    assert offenders == []


def test_environment_appendix_lists_the_reference_and_every_shim():
    """book/_ext/build_environment.py's `reference` table: NT's version, JAX's, one row per shim applied."""
    from pathlib import Path

    pytest.importorskip("sphinx")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
    try:
        import build_environment
    finally:
        sys.path.pop(0)
    rows = build_environment.reference_rows()
    assert rows[0] == ("neural-tangents", "0.6.5")
    assert rows[1] == ("JAX / jaxlib", f"{jax.__version__} / {nt_compat.versions()['jaxlib']}")
    assert [r[1] for r in rows[2:]] == list(nt_compat.SHIMS_APPLIED or ("none",))
