"""Chapter 3's sweep: how far a trained width-m network is from its infinite-width NTK predictor (Table 1).

For each data set x model x width x seed, two protocols are run from the same initialisation:

- "adam" (the paper's): Adam, minibatches, L2 penalty, cross-entropy on 10 classes, `epochs` epochs. Its kernel
  counterpart `f_NTK` is the NTK kernel-ridge regressor on one-hot targets,
  `f_NTK(x) = f0(x) + K_inf(x, X) (K_inf(X, X) + r I)^(-1) (Y - f0(X))` with `r = n C l2` (the ridge that an L2
  penalty `(l2/2)||W - W0||^2` gives the linearised network under the MSE loss `0.5 mean (f - y)^2`; the paper's
  penalty is on W itself, which also shrinks the initial function), from `nt.predict.gradient_descent_mse(...,
  t=None)` started from the network's own initial outputs f0 (in the NTK parameterisation f0 is an O(1) random
  function at every width; starting the kernel predictor there removes it from the distance). `dist_abs_zero_init`
  is the same distance to the plain KRR started from zero outputs. There is no exact kernel counterpart of Adam on
  cross-entropy; this one is the usual `f_NTK` (the converged kernel predictor), so the distance mixes the
  departure from the kernel regime with the difference of loss, optimiser, penalty and training time.
- "gd" (the equal-time check): full-batch gradient descent on MSE with one-hot targets, no penalty, learning rate
  `eta = gd_rate * n C / lambda_max(K_inf)`, `gd_steps` steps. Its counterpart is exact in the kernel regime:
  `f_NTK(t) = nt.predict.gradient_descent_mse(K_inf, Y, learning_rate=eta)` at the same time, started from the
  network's own initial outputs, so the distance measures only how far training left the infinite-width kernel
  regime. NT's formula is continuous time; for `gd_rate <= 1` every kernel eigenmode's discrete decay
  `(1 - c)^T` differs from `exp(-c T)` by at most about `0.27 / T` of its amplitude (c <= gd_rate its step rate).

Metrics per run (test set): `dist_abs = ||f_m - f_NTK||_F` over test points x outputs (comparable with Table 1),
`dist_rel = dist_abs / ||f_NTK||_F`, `dist_abs_zero_init` (counterpart started from f0 = 0),
`init_output_norm = ||f0||_F` on the test set; on the training set `kernel_dist_init/final = ||K_m - K_inf||_F / ||K_inf||_F`
(per-output block, before/after training), `kernel_movement = ||K_m(T) - K_m(0)||_F / ||K_m(0)||_F`; test accuracy
of the network and of f_NTK.
"""

import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import neural_tangents as nt
import numpy as np
import pandas as pd
from jax.experimental import enable_x64

from ntkbook import models, train
from ntkbook.experiments.cache import cached_frame
from ntkbook.progress import progress

MODEL_NAMES = {"relu": "2L-ReLU", "attn": "MLP-Attn"}
ARCH_OF = {name: arch for arch, name in MODEL_NAMES.items()}
PROTOCOLS = ("adam", "gd")

#: The chapter's scales. quick: CI's re-execution test (seconds); default: the book build (minutes here); paper:
#: the paper's widths 4..4096, 500 epochs and 5 seeds (hours on a CPU).
PROFILES = {
    "quick": dict(widths=[16, 256], seeds=[0], n_train=64, n_test=32, epochs=3, gd_steps=5),
    "default": dict(widths=[16, 64, 256, 1024], seeds=[0, 1, 2], n_train=256, n_test=100, epochs=300, gd_steps=50),
    "paper": dict(widths=[2**k for k in range(2, 13)], seeds=[0, 1, 2, 3, 4], n_train=1000, n_test=500, epochs=500,
                  gd_steps=500),
}


def resolve_profile(profile: str, **knobs) -> dict:
    """The profile's settings (`PROFILES`), with every knob that is not None taking the caller's value instead.

    Returns a new dict with the keys of the profile; an unknown profile or knob name raises ValueError.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    unknown = sorted(set(knobs) - set(PROFILES[profile]))
    if unknown:
        raise ValueError(f"unknown knobs {unknown}; the profiles set {sorted(PROFILES[profile])}")
    return {k: (v if knobs.get(k) is None else knobs[k]) for k, v in PROFILES[profile].items()}


def relative_frobenius(a, b) -> float:
    """`||a - b||_F / ||b||_F` in float64; a, b arrays of the same shape."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def ntk_ridge_predictor(k_train, k_test_train, y, ridge: float, f0_train=None, f0_test=None) -> np.ndarray:
    """Kernel ridge regression with nt.predict: `f0(x) + K(x, X) (K(X, X) + ridge I)^(-1) (Y - f0(X))`, float64.

    k_train (n, n), k_test_train (N, n), y and f0_train (n, C), f0_test (N, C) -> (N, C); f0 = None means zero
    initial outputs (plain KRR). This is `gradient_descent_mse(..., diag_reg=ridge)` at `t=None`, the infinite-time
    limit of (ridge-regularised) gradient flow on MSE in the kernel regime.
    """
    n_test, c = len(k_test_train), np.shape(y)[1]
    f0_train = np.zeros(np.shape(y)) if f0_train is None else f0_train
    f0_test = np.zeros((n_test, c)) if f0_test is None else f0_test
    with enable_x64():
        k = jnp.asarray(k_train, jnp.float64)
        predict = nt.predict.gradient_descent_mse(k, jnp.asarray(y, jnp.float64), diag_reg=ridge,
                                                  diag_reg_absolute_scale=True)
        _, out = predict(None, jnp.asarray(f0_train, jnp.float64), jnp.asarray(f0_test, jnp.float64),
                         jnp.asarray(k_test_train, jnp.float64))
        return np.asarray(out)


def ntk_gd_predictor(k_train, k_test_train, y, f0_train, f0_test, learning_rate: float, steps: float) -> np.ndarray:
    """Gradient flow on `0.5 mean (f - y)^2` in the kernel regime at time `learning_rate * steps`, float64.

    `f(t) = f0 + K(x, X) K^(-1) (I - exp(-eta t K / (n C))) (Y - f0(X))` from nt.predict.gradient_descent_mse;
    k_train (n, n), k_test_train (N, n), y and f0_train (n, C), f0_test (N, C) -> test outputs (N, C).
    """
    with enable_x64():
        predict = nt.predict.gradient_descent_mse(jnp.asarray(k_train, jnp.float64), jnp.asarray(y, jnp.float64),
                                                  learning_rate=learning_rate)
        _, f_test = predict(float(steps), jnp.asarray(f0_train, jnp.float64), jnp.asarray(f0_test, jnp.float64),
                            jnp.asarray(k_test_train, jnp.float64))
        return np.asarray(f_test)


def infinite_kernels(z_train, z_test) -> tuple[np.ndarray, np.ndarray]:
    """`(K_inf(X, X), K_inf(X_test, X))` in float64 from `models.infinite_ntk` (rows renormalised in float64)."""
    zt = np.asarray(z_train, np.float64)
    zs = np.asarray(z_test, np.float64)
    zt /= np.linalg.norm(zt, axis=1, keepdims=True)
    zs /= np.linalg.norm(zs, axis=1, keepdims=True)
    with enable_x64():
        ktt = np.asarray(models.infinite_ntk(jnp.asarray(zt), jnp.asarray(zt)))
        kst = np.asarray(models.infinite_ntk(jnp.asarray(zs), jnp.asarray(zt)))
    return ktt, kst


def _accuracy(f, y) -> float:
    return float(np.mean(np.argmax(np.asarray(f), axis=1) == np.asarray(y)))


def run_width(
    z_train, y_train, z_test, y_test, k_inf, *, width: int, seed: int, epochs: int, gd_steps: int,
    gd_rate: float = 1.0, batch_size: int = 128, learning_rate: float = 1e-3, l2: float = 1e-3,
    protocols: Sequence[str] = PROTOCOLS,
) -> list[dict]:
    """Both protocols for one (width, seed) from the same initialisation; one row (dict) per protocol.

    z_train (n, d), z_test (N, d) unit-norm features; y_* class indices; k_inf = `infinite_kernels(z_train, z_test)`.
    """
    n_classes = int(max(np.max(y_train), np.max(y_test))) + 1
    n, d = np.shape(z_train)
    ktt_inf, kst_inf = k_inf
    z_train, z_test = jnp.asarray(z_train, jnp.float32), jnp.asarray(z_test, jnp.float32)
    params0, signs = models.init_network(jax.random.PRNGKey(seed), d, width, n_classes)
    k0 = np.asarray(models.empirical_ntk(params0, z_train), np.float64)
    f0_train = np.asarray(models.apply_network(params0, signs, z_train), np.float64)
    f0_test = np.asarray(models.apply_network(params0, signs, z_test), np.float64)
    base = {"width": width, "seed": seed, "kernel_dist_init": relative_frobenius(k0, ktt_inf)}
    rows = []
    for protocol in protocols:
        start = time.perf_counter()
        if protocol == "adam":
            t = train.targets(y_train, n_classes, "xent")
            cfg = train.TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, l2=l2,
                                    loss="xent", seed=seed)
            params, hist = train.train(params0, signs, z_train, t, cfg, eval_every=max(epochs, 1),
                                       show_progress=False)
            y1 = train.targets(y_train, n_classes, "mse")
            f_ntk = ntk_ridge_predictor(ktt_inf, kst_inf, y1, n * n_classes * l2, f0_train, f0_test)
            f_krr = ntk_ridge_predictor(ktt_inf, kst_inf, y1, n * n_classes * l2)
            final_loss = float(hist["data_loss"].iloc[-1]) if len(hist) else np.nan
        elif protocol == "gd":
            t = train.targets(y_train, n_classes, "mse")
            lam_max = float(np.linalg.eigvalsh(ktt_inf)[-1])
            eta = gd_rate * n * n_classes / lam_max
            params, hist = train.train_gd(params0, signs, z_train, t, learning_rate=eta, steps=gd_steps)
            f_ntk = ntk_gd_predictor(ktt_inf, kst_inf, t, f0_train, f0_test, eta, gd_steps)
            f_krr = ntk_gd_predictor(ktt_inf, kst_inf, t, np.zeros_like(f0_train), np.zeros_like(f0_test), eta,
                                     gd_steps)
            final_loss = float(hist["data_loss"].iloc[-1])
        else:
            raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
        f_m = np.asarray(models.apply_network(params, signs, z_test), np.float64)
        kT = np.asarray(models.empirical_ntk(params, z_train), np.float64)
        dist = float(np.linalg.norm(f_m - f_ntk))
        rows.append({
            **base, "protocol": protocol, "dist_abs": dist, "dist_rel": dist / float(np.linalg.norm(f_ntk)),
            "dist_abs_zero_init": float(np.linalg.norm(f_m - f_krr)), "init_output_norm": float(np.linalg.norm(f0_test)),
            "kernel_dist_final": relative_frobenius(kT, ktt_inf), "kernel_movement": relative_frobenius(kT, k0),
            "test_acc": _accuracy(f_m, y_test), "ntk_test_acc": _accuracy(f_ntk, y_test),
            "train_loss": final_loss, "seconds": time.perf_counter() - start,
        })
    return rows


def ntk_distance_sweep(
    datasets: Sequence[str] = ("mnist", "cifar10"),
    archs: Sequence[str] = models.ARCHITECTURES,
    widths: Sequence[int] = (16, 64, 256, 1024),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    n_train: int = 500,
    n_test: int = 200,
    epochs: int = 20,
    gd_steps: int = 200,
    gd_rate: float = 1.0,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    l2: float = 1e-3,
    data_seed: int = 0,
    protocols: Sequence[str] = PROTOCOLS,
    data_dir=None,
    cache_dir=None,
    refresh: bool = False,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The sweep data set x model x width x seed x protocol -> (tidy DataFrame, {dataset: split note}).

    Data: `ntkbook.data.train_test_split(name, n_train, n_test, seed=data_seed, allow_split_from_test=True)`, the
    same split for every model, width and seed. Columns: dataset, arch, model, width, seed, protocol, dist_abs,
    dist_rel, kernel_dist_init, kernel_dist_final, kernel_movement, test_acc, ntk_test_acc, train_loss, seconds,
    kappa_G (the condition number lambda_1 / lambda_r of the training Gram matrix of unit rows, r its numerical rank,
    i.e. the effective kappa_d of Theorem 4.7 when G has full rank min(n, d)).
    The frame is cached on disk by all these parameters (`ntkbook.experiments.cached_frame`); the notes are not.
    """
    from ntkbook import data, kernels

    for w in widths:
        if w < 1:
            raise ValueError(f"widths must be positive, got {w}")
    splits = {name: data.train_test_split(name, n_train, n_test, seed=data_seed, allow_split_from_test=True,
                                          data_dir=data_dir) for name in datasets}
    notes = {name: s.note for name, s in splits.items()}
    params = {"datasets": list(datasets), "archs": list(archs), "widths": list(widths), "seeds": list(seeds),
              "n_train": n_train, "n_test": n_test, "epochs": epochs, "gd_steps": gd_steps, "gd_rate": gd_rate,
              "batch_size": batch_size, "learning_rate": learning_rate, "l2": l2, "data_seed": data_seed,
              "protocols": list(protocols), "data": {k: s.note for k, s in splits.items()}}

    def compute() -> pd.DataFrame:
        rows, prepared = [], {}
        jobs = [(name, arch, width, seed) for name in datasets for arch in archs for width in widths for seed in seeds]
        for name, arch, width, seed in progress(jobs, desc="ntk distance sweep"):
            if (name, arch) not in prepared:
                s = splits[name]
                xtr = jnp.asarray(s.x_train, jnp.float32)
                z_train = models.features(arch, xtr, xtr)
                z_test = models.features(arch, jnp.asarray(s.x_test, jnp.float32), xtr)
                xu = data.unit_rows(s.x_train)
                g = xu @ xu.T
                kappa = kernels.condition_number(g, rank=kernels.numerical_rank(g))
                prepared[(name, arch)] = (z_train, z_test, infinite_kernels(z_train, z_test), kappa)
            z_train, z_test, k_inf, kappa = prepared[(name, arch)]
            s = splits[name]
            for row in run_width(z_train, s.y_train, z_test, s.y_test, k_inf, width=width, seed=seed, epochs=epochs,
                                 gd_steps=gd_steps, gd_rate=gd_rate, batch_size=batch_size,
                                 learning_rate=learning_rate, l2=l2, protocols=protocols):
                rows.append({"dataset": name, "arch": arch, "model": MODEL_NAMES[arch], **row, "kappa_G": kappa})
        return pd.DataFrame(rows)

    return cached_frame("ntk_distance", params, compute, cache_dir=cache_dir, refresh=refresh), notes


PAPER_TABLE1 = pd.DataFrame(
    [("2L-ReLU", "mnist", 45.1, 39.9, 39.2, "decreasing"),
     ("MLP-Attn", "mnist", 10.3, 33.3, 43.4, "non-monotonic, then increasing"),
     ("2L-ReLU", "cifar10", 246.2, 101.7, 56.9, "decreasing"),
     ("MLP-Attn", "cifar10", 3.7, 10.4, 12.6, "increasing")],
    columns=["model", "dataset", "m=16", "m=1024", "m=4096", "trend"],
)
"""The paper's Table 1: ||f_m - f_NTK|| at widths 16 / 1024 / 4096 and the stated trend."""


def trend(widths: Sequence[float], values: Sequence[float], *, tol: float = 0.05) -> str:
    """Classify a curve over increasing widths: "increasing", "decreasing", "non-monotonic, then increasing", ...

    Steps whose relative change is below `tol` count as flat. Rules: all non-negative steps -> "increasing" (or
    "flat" if all are flat); all non-positive -> "decreasing"; otherwise the sign of the last non-flat step decides
    "non-monotonic, then increasing/decreasing".
    """
    order = np.argsort(np.asarray(widths))
    v = np.asarray(values, np.float64)[order]
    if len(v) < 2:
        raise ValueError("need at least two widths to call a trend")
    rel = np.diff(v) / np.maximum(np.abs(v[:-1]), 1e-300)
    signs = np.where(np.abs(rel) < tol, 0, np.sign(rel))
    if np.all(signs == 0):
        return "flat"
    if np.all(signs >= 0):
        return "increasing"
    if np.all(signs <= 0):
        return "decreasing"
    last = signs[signs != 0][-1]
    return "non-monotonic, then " + ("increasing" if last > 0 else "decreasing")


def _trends(frame: pd.DataFrame, protocol: str, column: str) -> dict[tuple[str, str], str]:
    """{(model, dataset): trend of the seed-mean of `column` over width} for one protocol."""
    sub = frame[frame["protocol"] == protocol]
    mean = sub.groupby(["model", "dataset", "width"])[column].mean().reset_index()
    return {key: trend(g["width"], g[column]) for key, g in mean.groupby(["model", "dataset"], sort=False)}


def table1(frame: pd.DataFrame, widths: Sequence[int] | None = None) -> pd.DataFrame:
    """Our Table 1 beside the paper's, one row per (model, dataset).

    Columns: mean `dist_abs` over seeds under the paper protocol ("adam") at `widths` (default: those of 16 / 1024 /
    4096 that were run, NaN otherwise); `our trend` over all widths run; the paper's numbers and trend; `verdict`
    ("trend agrees" / "trend differs", comparing the direction at large width, i.e. the last word of the trend);
    `trend under equal-time GD` and its verdict `GD verdict`; `trend vs KRR from f0=0` (adam, the counterpart
    started from zero outputs). frame: `ntk_distance_sweep` output.
    """
    sub = frame[frame["protocol"] == "adam"]
    mean = sub.groupby(["model", "dataset", "width"])["dist_abs"].mean()
    widths = [w for w in (16, 1024, 4096) if w in set(frame["width"])] if widths is None else list(widths)
    adam, zero = _trends(frame, "adam", "dist_abs"), _trends(frame, "adam", "dist_abs_zero_init")
    gd = _trends(frame, "gd", "dist_abs") if "gd" in set(frame["protocol"]) else {}
    rows = []
    for model, dataset in adam:
        row = {"model": model, "dataset": dataset}
        for w in widths:
            row[f"ours m={w}"] = mean.get((model, dataset, w), np.nan)
        row["our trend"] = adam[(model, dataset)]
        p = PAPER_TABLE1[(PAPER_TABLE1["model"] == model) & (PAPER_TABLE1["dataset"] == dataset)]
        if len(p):
            p = p.iloc[0]
            for w in (16, 1024, 4096):
                row[f"paper m={w}"] = p[f"m={w}"]
            row["paper trend"] = p["trend"]
            row["verdict"] = _verdict(row["our trend"], p["trend"])
        if gd:
            row["trend under equal-time GD"] = gd[(model, dataset)]
            if len(p):
                row["GD verdict"] = _verdict(gd[(model, dataset)], p["trend"])
        row["trend vs KRR from f0=0"] = zero[(model, dataset)]
        rows.append(row)
    return pd.DataFrame(rows)


def _verdict(ours: str, paper: str) -> str:
    return "trend agrees" if ours.split()[-1] == paper.split()[-1] else "trend differs"


def loglog_slopes(frame: pd.DataFrame, columns: Sequence[str] = ("dist_abs", "kernel_dist_init",
                                                                  "kernel_dist_final")) -> pd.DataFrame:
    """Least-squares slope of log(seed-mean of each column) against log(width), per (dataset, arch, protocol).

    Returns a DataFrame indexed by (dataset, arch, protocol) with one column per metric; -0.5 is the Monte Carlo
    rate m^(-1/2).
    """
    out = {}
    for key, sub in frame.groupby(["dataset", "arch", "protocol"]):
        row = {}
        for col in columns:
            g = sub.groupby("width")[col].mean()
            row[col] = float(np.polyfit(np.log(g.index.to_numpy(float)), np.log(g.to_numpy()), 1)[0])
        out[key] = row
    return pd.DataFrame.from_dict(out, orient="index").rename_axis(["dataset", "arch", "protocol"])


def summary_at_width(frame: pd.DataFrame, width: int,
                     columns: Sequence[str] = ("test_acc", "ntk_test_acc", "train_loss", "kernel_movement")
                     ) -> pd.DataFrame:
    """Seed-means of `columns` at one width, indexed by (dataset, model, protocol)."""
    sub = frame[frame["width"] == width]
    if sub.empty:
        raise ValueError(f"width {width} is not in the frame (widths: {sorted(set(frame['width']))})")
    return sub.groupby(["dataset", "model", "protocol"])[list(columns)].mean()


def estimate_seconds(frame: pd.DataFrame, *, n_train_run: int, epochs_run: int, gd_steps_run: int,
                     widths: Sequence[int], seeds: int, n_train: int, epochs: int, gd_steps: int,
                     min_width: int = 256) -> float:
    """Extrapolated run time (s) of a sweep from the per-run timings of a smaller one (an estimate, not a measure).

    Cost model: a run's seconds are proportional to its work `m n T` (T = epochs for "adam", gd_steps for "gd");
    the rate seconds / work is the median over the measured runs with `width >= min_width` (where the arithmetic,
    not the overhead, dominates), per data set, model and protocol. The target sweep has the same data sets, models
    and protocols as `frame`, the given widths, `seeds` seeds, n_train, epochs and gd_steps. Ignores compilation and
    the kernel-predictor solves, which grow like n^3 (small for n <= a few thousand).
    """
    steps_run = {"adam": epochs_run, "gd": gd_steps_run}
    steps_new = {"adam": epochs, "gd": gd_steps}
    big = frame[frame["width"] >= min(min_width, frame["width"].max())]
    total = 0.0
    for (_, _, protocol), g in big.groupby(["dataset", "arch", "protocol"]):
        rate = float(np.median(g["seconds"] / (g["width"] * n_train_run * steps_run[protocol])))
        total += rate * seeds * sum(w * n_train * steps_new[protocol] for w in widths)
    return total


def kernel_spectrum_table(datasets: Sequence[str] = ("mnist", "cifar10"), *, n_train: int = 256, n_test: int = 100,
                          data_seed: int = 0, data_dir=None) -> pd.DataFrame:
    """Spectral summary of each model's infinite-width NTK on the training set, one row per (dataset, model).

    Columns: `mean_cosine` (mean off-diagonal <z_i, z_j> of the unit-norm features), `top_share` (lambda_1 / trace
    of K_inf), `kappa_K` (lambda_1 / lambda_r of K_inf, r its numerical rank), `kappa_G` (the same for the Gram
    matrix of the unit-norm inputs), all float64. Same split as `ntk_distance_sweep` with the same n_train and
    n_test and data_seed (pass the same values to get the same training rows).
    """
    from ntkbook import data, kernels

    rows = []
    for name in datasets:
        s = data.train_test_split(name, n_train, n_test, seed=data_seed, allow_split_from_test=True,
                                  data_dir=data_dir)
        xu = data.unit_rows(s.x_train)
        g = xu @ xu.T
        kappa_g = kernels.condition_number(g, rank=kernels.numerical_rank(g))
        for arch in models.ARCHITECTURES:
            xtr = jnp.asarray(s.x_train, jnp.float32)
            z = np.asarray(models.features(arch, xtr, xtr), np.float64)
            z /= np.linalg.norm(z, axis=1, keepdims=True)
            k, _ = infinite_kernels(z, z[:1])
            lam = kernels.eigenvalues(k)
            cos = z @ z.T
            rows.append({"dataset": name, "model": MODEL_NAMES[arch],
                         "mean_cosine": float((cos.sum() - np.trace(cos)) / (len(z) * (len(z) - 1))),
                         "top_share": float(lam[0] / lam.sum()),
                         "kappa_K": kernels.condition_number(k, rank=kernels.numerical_rank(k)), "kappa_G": kappa_g})
    return pd.DataFrame(rows)
