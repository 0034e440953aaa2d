"""neural-tangents on current JAX: the one place that imports it (the book's independent reference, not its engine).

neural-tangents 0.6.5 (2023, its last release) imports a few JAX names that have since moved, and its
`experimental` subpackage imports TensorFlow. `load()` restores the moved names where they are missing, stands in
for `neural_tangents.experimental` when TensorFlow is absent, imports NT and returns it. Each shim is guarded: it
is applied only when the name is missing and its new home exists, and `SHIMS_APPLIED` records which ones were
(shown in the book's environment appendix). If NT still cannot import, `load()` raises an ImportError that names
the JAX version.

Nothing in ntkbook's compute needs NT; tests and the chapters that show it as a reference call `load()` when they
need it, so importing ntkbook never imports NT (or TensorFlow).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

__all__ = ["SHIMS_APPLIED", "load", "versions"]

#: The shims `load()` applied in this process, e.g. ("jax.core.Jaxpr <- jax.extend.core.Jaxpr", ...); empty
#: before the first `load()` and on a JAX that still has every name NT imports.
SHIMS_APPLIED: tuple[str, ...] = ()

# (module that NT imports from, name, module that holds it on current JAX)
_MOVED = (
    ("jax.core", "Jaxpr", "jax.extend.core"),
    ("jax.core", "JaxprEqn", "jax.extend.core"),
    ("jax.core", "Literal", "jax.extend.core"),
    ("jax.core", "Var", "jax.extend.core"),
    ("jax.core", "Primitive", "jax.extend.core"),
    ("jax.util", "safe_map", "jax._src.util"),
    ("jax.util", "safe_zip", "jax._src.util"),
    ("jax.interpreters.ad", "zeros_like_p", "jax._src.ad_util"),
)


def _module(name: str) -> types.ModuleType | None:
    """The module `name`, imported, or None if it does not exist (e.g. `jax.util` on current JAX)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _restore_moved_names() -> list[str]:
    applied = []
    for target_name, attr, source_name in _MOVED:
        target = _module(target_name)
        if target is not None and hasattr(target, attr):
            continue
        source = _module(source_name)
        if source is None or not hasattr(source, attr):
            continue  # nothing to restore it from; NT's import then reports what is missing
        if target is None:  # the module itself is gone: stand in with one that holds the restored names
            target = types.ModuleType(target_name, f"ntkbook.nt_compat stand-in for {target_name}")
            sys.modules[target_name] = target
            parent, _, child = target_name.rpartition(".")
            setattr(sys.modules[parent], child, target)
        setattr(target, attr, getattr(source, attr))
        applied.append(f"{target_name}.{attr} <- {source_name}.{attr}")
    return applied


def _stand_in_for_experimental() -> list[str]:
    """An empty `neural_tangents.experimental` when TensorFlow is absent (only that subpackage needs it)."""
    name = "neural_tangents.experimental"
    if name in sys.modules or importlib.util.find_spec("tensorflow") is not None:
        return []
    module = types.ModuleType(name, "ntkbook.nt_compat stand-in: neural-tangents' TensorFlow-only subpackage, "
                                    "unavailable without TensorFlow")
    module.__path__ = []  # a package with no submodules
    sys.modules[name] = module
    return [f"{name} <- empty stand-in (no TensorFlow)"]


def load() -> types.ModuleType:
    """`neural_tangents`, imported after the guarded shims (idempotent). ImportError naming JAX's version if not."""
    global SHIMS_APPLIED
    if "neural_tangents" in sys.modules and hasattr(sys.modules["neural_tangents"], "stax"):
        return sys.modules["neural_tangents"]
    import jax

    if importlib.util.find_spec("neural_tangents") is None:
        raise ImportError("neural-tangents is not installed; it is the book's reference, installed without its "
                          "TensorFlow requirement by `pip install --no-deps neural-tangents==0.6.5` (see the "
                          "Makefile)")
    applied = _restore_moved_names() + _stand_in_for_experimental()
    SHIMS_APPLIED = tuple(dict.fromkeys(SHIMS_APPLIED + tuple(applied)))
    tensorflow = importlib.util.find_spec("tensorflow") is not None
    try:
        if tensorflow:  # NT's experimental subpackage imports it: keep its native start-up noise out of the logs
            from ntkbook._quiet import native_stderr_silenced, tensorflow_quiet_env

            tensorflow_quiet_env()
            with native_stderr_silenced():
                import neural_tangents
        else:
            import neural_tangents
    except Exception as err:  # an AttributeError or ImportError from deep inside NT, on a JAX it does not know
        raise ImportError(
            f"neural-tangents cannot be imported on JAX {jax.__version__} even with ntkbook.nt_compat's shims "
            f"(applied: {list(SHIMS_APPLIED) or 'none'}): {type(err).__name__}: {err}. Another JAX name it uses "
            "has moved; add it to nt_compat._MOVED, or install the JAX version requirements.txt pins."
        ) from err
    return neural_tangents


def versions() -> dict[str, str]:
    """`{"jax": ..., "jaxlib": ..., "neural_tangents": ..., "shims": "; ".join(SHIMS_APPLIED)}` after `load()`."""
    import jax
    import jaxlib

    nt = load()
    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "neural_tangents": nt.__version__,
            "shims": "; ".join(SHIMS_APPLIED) or "none"}
