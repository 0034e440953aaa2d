"""Chapter 2's width law, beyond the paper: the distance of the finite-width empirical NTK from its infinite-width
limit on synthetic data with a chosen kappa(G), the smallest width that meets a tolerance, and log-log exponents.

Part of the chapter's compute (`ntkbook.experiments.spectral` re-exports every name): tidy frames keyed by ids
("relu", "attn"), float64. See that module's docstring for the two error criteria ("op" and "eig").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntkbook import data as _data
from ntkbook import kernels as _kernels
from ntkbook.kernel_limits import as_rows as _rows
from ntkbook.kernel_limits import first_layer as _first_layer
from ntkbook.kernel_limits import increasing_widths as _powers_of_two
from ntkbook.kernel_limits import ntk_error_curve
from ntkbook.kernel_limits import op_errors as _errors
from ntkbook.stats import fit_power_law

__all__ = ["feature_matrix", "kernel_conditions", "ntk_error_curve", "ntk_error_curve_bruteforce",
           "first_width_below", "width_law_sweep", "width_law_summary", "fit_power_law", "width_law_fits"]


def feature_matrix(arch: str, x) -> np.ndarray:
    """The unit-norm MLP inputs z of `arch` for the training set x itself, float64 (n, d).

    `ntkbook.models.features(arch, x, x)` run under `jax.enable_x64(True)`: relu -> unit_rows(x);
    attn -> unit_rows(G Xhat) with Xhat = unit_rows(x), G = Xhat Xhat^T (attention over the training set).
    """
    import jax
    import jax.numpy as jnp

    from ntkbook import models

    x = _rows(x)
    with jax.enable_x64(True):
        z = models.features(arch, jnp.asarray(x, dtype=jnp.float64), jnp.asarray(x, dtype=jnp.float64))
        return np.asarray(z, dtype=np.float64)


def kernel_conditions(x, archs: Sequence[str] = ("relu", "attn")) -> pd.DataFrame:
    """Condition numbers of the kernels each architecture sees on the data x (n, d), n <= d, float64.

    Per arch: kappa_G = kappa(Xhat Xhat^T) of the unit rows; kappa_features = kappa(Z Z^T) of the actual
    features z (`feature_matrix`; for attn about kappa_G^3, Theorem 4.7, up to the row normalisation after
    attention), from the SVD of Z (`ntkbook.data.gram_condition_number`, accurate beyond 1e16 where eigvalsh of
    Z Z^T is not); kappa_arccos = kappa of the arc-cosine factor A = `kernels.arccos0(Z, Z)`;
    kappa_K_inf = kappa of the infinite-width NTK K = A * Z Z^T (`kernels.first_layer_ntk(Z, Z)`);
    lambda_min_K_inf and norm_K_inf (its extreme eigenvalues). Schur's bounds give
    kappa_K_inf <= min(kappa_features, kappa_arccos) (the chapter's proposition; checked in the tests).
    """
    x = _rows(x)
    if x.shape[0] > x.shape[1]:
        raise ValueError(f"kernel_conditions needs n <= d (got n={x.shape[0]}, d={x.shape[1]}): for n > d the "
                         "linear kernels are singular")
    kappa_G = _data.gram_condition_number(x, normalise=True)
    rows = []
    for arch in archs:
        z = feature_matrix(arch, x)
        K = _kernels.first_layer_ntk(z, z)
        lam = _kernels.eigenvalues(K)
        rows.append({"arch": arch, "kappa_G": kappa_G,
                     "kappa_features": _data.gram_condition_number(z, normalise=False),
                     "kappa_arccos": _kernels.condition_number(_kernels.arccos0(z, z), rtol=0),
                     "kappa_K_inf": _kernels.condition_number(K, rtol=0),
                     "lambda_min_K_inf": float(lam[-1]), "norm_K_inf": float(lam[0])})
    return pd.DataFrame(rows)


def ntk_error_curve_bruteforce(z, widths: Sequence[int], *, seed: int = 0) -> pd.DataFrame:
    """Slow reference for `ntk_error_curve`: each width's kernel built from scratch.

    For each m, the empirical NTK of the first m neurons is `ntkbook.models.empirical_ntk({"W": W[:, :m]}, z, z)`
    (jax, float64) and the errors are computed from it. Same columns as `ntk_error_curve`.
    """
    import jax
    import jax.numpy as jnp

    from ntkbook import models

    z = _rows(z, "z")
    w = _powers_of_two(widths)
    K_inf = _kernels.first_layer_ntk(z, z)
    lam = _kernels.eigenvalues(K_inf)
    W = _first_layer(z, int(w[-1]), seed)
    rows = []
    with jax.enable_x64(True):
        zj = jnp.asarray(z, dtype=jnp.float64)
        for m in w:
            Wm = jnp.asarray(W[:, :m].astype(np.float64))
            K_m = np.asarray(models.empirical_ntk({"W": Wm}, zj, zj), dtype=np.float64)
            err_op, err_eig = _errors(K_m - K_inf, lam)
            rows.append({"width": int(m), "err_op": err_op, "err_eig": err_eig})
    return pd.DataFrame(rows)


def first_width_below(widths, errors, tol: float) -> float:
    """The smallest width whose error is <= tol (the first crossing on the grid), or nan if none is.

    widths: (k,) increasing; errors: (k,). nan means m* lies beyond the largest width tried (censored).
    """
    w = _powers_of_two(widths)
    e = np.asarray(errors, dtype=np.float64)
    if e.shape != w.shape:
        raise ValueError(f"widths and errors must have the same length, got {w.shape} and {e.shape}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    hit = np.flatnonzero(e <= tol)
    return float(w[hit[0]]) if hit.size else float("nan")


def width_law_sweep(
    *,
    n: int,
    d: int,
    kappas: Sequence[float],
    seeds: Sequence[int],
    widths: Sequence[int],
    archs: Sequence[str] = ("relu", "attn"),
    data_seed: int = 0,
    progress_bar: bool = True,
) -> pd.DataFrame:
    """Error curves of the empirical NTK at initialisation on synthetic data with a chosen kappa(G).

    For each nominal kappa: x = `ntkbook.data.synthetic_gram_data(n, d, kappa, seed=data_seed)` (n <= d); the
    conditions of `kernel_conditions(x, archs)`; for each arch and network seed, `ntk_error_curve`.
    Returns one row per (kappa, arch, seed, width): kappa_nominal, arch, seed, width, err_op, err_eig,
    kappa_G (of the unit rows the models see), kappa_features, kappa_arccos, kappa_K_inf, n, d.
    """
    from ntkbook.progress import progress

    frames = []
    jobs = [(k, a, s) for k in kappas for a in archs for s in seeds]
    conds = {}
    for kappa, arch, seed in progress(jobs, desc="width law", **({} if progress_bar else {"disable": True})):
        if kappa not in conds:
            x = _data.synthetic_gram_data(int(n), int(d), float(kappa), seed=int(data_seed))
            conds[kappa] = (x, kernel_conditions(x, archs).set_index("arch"))
        x, cond = conds[kappa]
        z = feature_matrix(arch, x)
        curve = ntk_error_curve(z, widths, seed=int(seed))
        c = cond.loc[arch]
        curve.insert(0, "kappa_nominal", float(kappa))
        curve.insert(1, "arch", arch)
        curve.insert(2, "seed", int(seed))
        for col in ("kappa_G", "kappa_features", "kappa_arccos", "kappa_K_inf"):
            curve[col] = float(c[col])
        curve["n"], curve["d"] = int(n), int(d)
        frames.append(curve)
    return pd.concat(frames, ignore_index=True)


def width_law_summary(curves: pd.DataFrame, *, tol_op: float, tol_eig: float) -> pd.DataFrame:
    """m* per (kappa, arch): the median over seeds of each seed's first width meeting the tolerance.

    curves: `width_law_sweep` output. For criterion c in (op, eig), each seed's m*_c = `first_width_below`
    (nan = beyond the largest width); the median over seeds counts those as +inf, so m_star_c is nan (censored)
    when more than half the seeds never met the tolerance. Columns: kappa_nominal, arch, kappa_G,
    kappa_features, kappa_arccos, kappa_K_inf, m_star_op, m_star_eig, censored_op, censored_eig, n_seeds, max_width.
    """
    rows = []
    for (kappa, arch), g in curves.groupby(["kappa_nominal", "arch"], sort=True):
        stars = {"op": [], "eig": []}
        for _, s in g.groupby("seed"):
            s = s.sort_values("width")
            stars["op"].append(first_width_below(s["width"], s["err_op"], tol_op))
            stars["eig"].append(first_width_below(s["width"], s["err_eig"], tol_eig))
        row = {"kappa_nominal": kappa, "arch": arch}
        for col in ("kappa_G", "kappa_features", "kappa_arccos", "kappa_K_inf"):
            row[col] = float(g[col].iloc[0])
        for c, vals in stars.items():
            med = float(np.median(np.where(np.isnan(vals), np.inf, vals)))
            row[f"m_star_{c}"] = med if np.isfinite(med) else float("nan")
            row[f"censored_{c}"] = not np.isfinite(med)
        row["n_seeds"] = int(g["seed"].nunique())
        row["max_width"] = int(g["width"].max())
        rows.append(row)
    return pd.DataFrame(rows)


# (quantity on y, quantity on x, label): the log-log fits of the width-law summary
_FITS = (
    ("kappa_features", "kappa_G", "kappa(ZZ^T) vs kappa(G)"),
    ("kappa_K_inf", "kappa_G", "kappa(K_inf) vs kappa(G)"),
    ("m_star_op", "kappa_G", "m*_op vs kappa(G)"),
    ("m_star_eig", "kappa_G", "m*_eig vs kappa(G)"),
    ("m_star_eig", "kappa_K_inf", "m*_eig vs kappa(K_inf)"),
)


def width_law_fits(summary: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Log-log exponents of the width-law summary, per architecture.

    Fits (y vs x): kappa(Z Z^T) and kappa(K_inf) against kappa(G); m*_op and m*_eig against kappa(G); m*_eig
    against kappa(K_inf). The values theory and the paper expect are the report layer's (`ntkbook.report.spectral`).
    Censored m* (beyond the largest width) are dropped and counted. m* is only known to a factor 2 (the
    power-of-two grid), so for the m* fits the interval is widened by grid_resolution = log10(2) / (the span of
    log10 x over the points used) on each side. Columns: arch, fit, y, x, exponent, lo, hi,
    grid_resolution, r2, n_points, n_dropped (and error, the reason, where a fit was impossible).
    """
    rows = []
    for arch, g in summary.groupby("arch", sort=False):
        for ycol, xcol, label in _FITS:
            try:
                fit = fit_power_law(g[xcol], g[ycol], level=level)
                res = 0.0
                if ycol.startswith("m_star"):
                    used = np.isfinite(g[xcol]) & np.isfinite(g[ycol])
                    res = float(np.log10(2.0) / np.ptp(np.log10(g.loc[used, xcol])))
                    fit["lo"], fit["hi"] = fit["lo"] - res, fit["hi"] + res
                fit["grid_resolution"] = res
            except ValueError as err:
                fit = {"exponent": np.nan, "lo": np.nan, "hi": np.nan, "log10_prefactor": np.nan, "r2": np.nan,
                       "n_points": int(np.isfinite(g[ycol]).sum()), "n_dropped": int((~np.isfinite(g[ycol])).sum()),
                       "grid_resolution": np.nan, "error": str(err)}
            rows.append({"arch": arch, "fit": label, "y": ycol, "x": xcol, **fit})
    return pd.DataFrame(rows)
