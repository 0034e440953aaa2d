"""Chapter 5's computations: the dual implication (power against fragility) and the paper's open questions.

Four kinds of unit, each one (data set, seed[, model]), each a tidy DataFrame of plain-typed columns (`units(spec)`):

- **power** (`power_unit`): kernel ridge regression with the linear kernel, G^3 (the linear kernel of the
  linearized-attention features `phi(x) = X^T X xhat`), the MLP-Attn NTK and the 2L-ReLU NTK, on targets aligned
  with the data geometry or not. Directions: the right singular vectors `v_j` of a *reference* sample (unit rows,
  disjoint from train and test), i.e. the eigenvectors `u_j = X v_j / s_j` of its Gram matrix G. Targets: the
  mode j target `y(x) = <xhat, v_j>` scaled to unit mean square on the reference sample (j = 1 the top
  eigenvector of G; large j the bottom ones), the real labels (one-hot, 10 columns) and random labels (i.i.d.
  signs). Gaussian label noise of standard deviation `noise` is added to the training targets only. Error: the
  fraction of the target's energy left unexplained on the test set, `sum (yhat - y)^2 / sum y^2`; ridge
  `rho tr(K) / n` for each relative ridge rho. Alignment of a target with G on the training points:
  `y^T G y / (||G||_F ||y||^2)` (kernel-target alignment).
- **kernel** (`kernel_unit`): for each model variant, the condition numbers of its induced kernels and the
  distance of its width-m empirical NTK at initialisation from the infinite-width one, `||K_m - K_inf||_op /
  ||K_inf||_op` and `/ lambda_min(K_inf)` (`ntkbook.experiments.spectral.ntk_error_curve`, nested widths), and
  for trainable Q, K, V the size of the attention blocks of its NTK and their spread over readout draws.
- **variant** (`variant_unit`): one model variant trained with Adam on the real labels (train and test accuracy),
  its influence malleability under a PGD attack on the training pixels (chapter 4's measure, same-weights
  protocol: the trained weights are kept, features and empirical NTK are recomputed on the perturbed training
  set, `ntkbook.malleability.measures`), and its error on the aligned (top-mode) targets by kernel regression with
  its infinite-width NTK.
- **function** (`function_unit`): the trained network against its infinite-width kernel predictor in function space
  (full-batch gradient descent on MSE against the exact kernel gradient descent, the same steps), per width.

Models are named by strings: "relu" and "attn" (the paper's, `ntkbook.models`), "truncated:<r>",
"softmax:<T>" / "softmax-centred:<T>", "stacked:<k>" / "stacked-recomputed:<k>" (`ntkbook.attention_variants`)
and "qkv" (kernel units only). Computation only: no wording, no verdicts, no paper numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ntkbook import attacks as _attacks
from ntkbook import attention_variants as _av
from ntkbook import data as _data
from ntkbook import influence as _influence
from ntkbook import kernel_limits as _kl
from ntkbook import kernels as _kernels
from ntkbook import malleability as _mal
from ntkbook import models as _models
from ntkbook import train as _train
from ntkbook.spec import Spec, knob, require

KERNELS = ("linear", "G3", "attn-ntk", "relu-ntk")
DATASETS = ("mnist", "cifar10", "digits")
"""The data sets the chapter reads (`ntkbook.data.load`)."""
FAMILIES = ("relu", "attn", "truncated", "softmax", "softmax-centred", "stacked", "stacked-recomputed")
"""Model families (the prefix of a model name, see `parse_model`)."""
"""The kernels of the power experiment: linear `<x, x'>`, `G^3` (attention features), the MLP-Attn and 2L-ReLU NTKs."""


# ----------------------------------------------------------------------------------------------------------
# the chapter's spec
# ----------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DualSpec(Spec):
    """Every knob of chapter 5 (see the module docstring for what each experiment does; each knob is documented
    where it is declared)."""

    datasets: tuple[str, ...] = knob(("mnist", "cifar10"), type=str, choices=DATASETS,
                                     doc='data sets of the power and kernel experiments, e.g. ["mnist", "cifar10"]')
    seeds: tuple[int, ...] = knob((0, 1, 2), type=int, low=0, min_len=2, doc="one disjoint reference / train / "
                                  "test sample and one initialisation per seed")
    n_ref: int = knob(1000, type=int, low=1,
                      doc="reference points whose Gram matrix defines the eigen-directions of the targets")
    ns: tuple[int, ...] = knob((100, 200, 400), type=int, low=2, doc="training sizes of the power experiment")
    n_test: int = knob(200, type=int, low=1, doc="test points of the power experiment")
    modes: tuple[int, ...] = knob((1, 2, 3, 5, 10, 20, 50, 100, 200, 400), type=int, low=1,
                                  doc="eigen-indices j of the targets, 1 is the top eigenvector of G")
    top_modes: int = knob(3, type=int, low=1, doc="how many of the smallest j count as aligned targets")
    bottom_modes: int = knob(3, type=int, low=1, doc="how many of the largest j count as unaligned targets")
    noise: float = knob(0.5, type=float, low=0, doc="standard deviation of the label noise on the training targets")
    ridges: tuple[float, ...] = knob((1e-4, 1e-2, 1e-1), type=float, low=0, low_open=True,
                                     doc="relative ridges rho computed, the ridge being rho tr(K)/n")
    ridge: float = knob(1e-2, type=float, low=0, low_open=True,
                        doc="the relative ridge the verdicts use (one of ridges)")
    ranks: tuple[int, ...] = knob((5, 50), type=int, low=1, doc="ranks r of the truncated attention")
    temperatures: tuple[float, ...] = knob((0.1, 10.0), type=float, low=0, low_open=True,
                                           doc="temperatures T of the softmax attention")
    depths: tuple[int, ...] = knob((2,), type=int, low=1, doc="numbers k of stacked attention layers")
    widths: tuple[int, ...] = knob((16, 64, 256, 1024), type=int, low=1,
                                   doc="widths m (powers of two) of the kernel distance at initialisation")
    n_kernel: int = knob(80, type=int, low=1, doc="points of the kernel experiments")
    n_train: int = knob(200, type=int, low=1, doc="training points of the trained variants")
    n_mal_test: int = knob(100, type=int, low=1, doc="test points of the trained variants")
    width: int = knob(128, type=int, low=1, doc="hidden width m of the trained variants")
    epochs: int = knob(150, type=int, low=1, doc="Adam epochs")
    learning_rate: float = knob(5e-2, type=float, low=0, low_open=True, doc="Adam learning rate")
    l2: float = knob(1e-3, type=float, low=0, doc="L2 penalty on W - W0")
    eps: float = knob(0.3, type=float, low=0, low_open=True,
                      doc="l-infinity pixel budget of the PGD attack on the training data")
    steps: int = knob(5, type=int, low=1, doc="PGD steps")
    tau: float = knob(0.1, type=float, low=0, high=1, low_open=True,
                      doc="top fraction whose influence sign flips are counted")
    krr_ridge: float = knob(1e-3, type=float, low=0, low_open=True, doc="ridge of the influence regression")
    mal_datasets: tuple[str, ...] = knob(("mnist",), type=str, choices=DATASETS,
                                         doc="data sets of the trained variants")
    mal_families: tuple[str, ...] = knob(("relu", "attn", "truncated", "softmax", "softmax-centred", "stacked"),
                                         type=str, choices=FAMILIES,
                                         doc='model families trained, e.g. ["relu", "attn", "truncated"]')
    fs_families: tuple[str, ...] = knob(("relu", "attn", "truncated"), type=str, choices=FAMILIES, min_len=0,
                                        doc="model families compared with their kernel predictor after gradient "
                                        "descent")
    gd_steps: int = knob(50, type=int, low=1, doc="full-batch gradient-descent steps of that comparison")

    #: the whole chapter notebook (papermill) on the shared 2-core machine at a load average of about 3: quick 21 s,
    #: default 128 s (119 s of CPU time); under a load average of 10-12 (other jobs) default took 374 s wall for the
    #: same CPU time.
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 21.0, "default": 128.0}

    PROFILES: ClassVar[dict[str, dict]] = {
        "quick": dict(datasets=("mnist",), seeds=(0, 1), n_ref=200, ns=(40, 80), n_test=60, modes=(1, 2, 20, 60),
                      top_modes=2, bottom_modes=2, ranks=(5,), temperatures=(1.0,), depths=(2,), widths=(16, 128),
                      n_kernel=40, n_train=60, n_mal_test=30, width=32, epochs=30, steps=2,
                      mal_families=("relu", "attn"), fs_families=("attn",), gd_steps=10),
        "default": dict(),
        "paper": dict(seeds=(0, 1, 2, 3, 4), n_ref=2000, ns=(100, 200, 400, 800), n_test=500,
                      modes=(1, 2, 3, 5, 10, 20, 50, 100, 200, 500), ranks=(5, 20, 50, 100, 200),
                      temperatures=(0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0), depths=(1, 2, 3),
                      widths=tuple(2**k for k in range(2, 13)), n_kernel=300, n_train=1000, n_mal_test=500,
                      width=1024, epochs=500, learning_rate=1e-2, steps=10, mal_datasets=("mnist", "cifar10"),
                      mal_families=FAMILIES, fs_families=("relu", "attn", "truncated", "softmax-centred", "stacked"),
                      gd_steps=500),
    }

    def check(self) -> None:
        require(set(self.mal_datasets) <= set(self.datasets), "mal_datasets",
                f"a non-empty subset of datasets {self.datasets}", self.mal_datasets)
        require(max(self.modes) <= self.n_ref, "modes", f"eigen-indices in 1..n_ref = {self.n_ref}", self.modes)
        require(self.top_modes + self.bottom_modes <= len(self.modes), "top_modes + bottom_modes",
                f"at least 1 each and at most len(modes) = {len(self.modes)}", (self.top_modes, self.bottom_modes))
        require(self.ridge in self.ridges, "ridge", f"one of ridges {self.ridges}", self.ridge)
        require(max(self.ranks) <= self.n_kernel, "ranks",
                f"integers in 1..n_kernel = {self.n_kernel} (and at most the numerical rank of the data)", self.ranks)
        require(max(self.ranks) <= self.n_train, "ranks", f"at most n_train = {self.n_train}", self.ranks)
        require(all(w & (w - 1) == 0 for w in self.widths), "widths", "powers of two (nested widths)", self.widths)
        require(max(self.ns) + self.n_test + self.n_ref <= 10_000, "n_ref + max(ns) + n_test",
                "at most 10000 (all drawn from the test split)", max(self.ns) + self.n_test + self.n_ref)

    def variant_models(self, families: tuple[str, ...] = FAMILIES) -> tuple[str, ...]:
        """The models of `families`: the paper's two, each truncation, temperature and depth (> 1)."""
        out = ["relu", "attn"]
        out += [f"truncated:{r}" for r in self.ranks]
        out += [f"softmax:{num_label(t)}" for t in self.temperatures]
        out += [f"softmax-centred:{num_label(t)}" for t in self.temperatures]
        out += [f"stacked:{k}" for k in self.depths if k > 1]
        out += [f"stacked-recomputed:{k}" for k in self.depths if k > 1]
        return tuple(m for m in out if m.split(":")[0] in families)


def num_label(v: float) -> str:
    """A number as a short, exact string ("0.1", "10")."""
    return repr(int(v)) if float(v).is_integer() else repr(float(v))


# ----------------------------------------------------------------------------------------------------------
# models by name
# ----------------------------------------------------------------------------------------------------------


def parse_model(model: str) -> tuple[str, dict]:
    """"relu" | "attn" | "truncated:r" | "softmax:T" | "softmax-centred:T" | "stacked:k" | "stacked-recomputed:k"
    -> (family, options for `ntkbook.attention_variants.variant_features`)."""
    if model in _models.ARCHITECTURES:
        return model, {}
    family, _, value = model.partition(":")
    try:
        if family == "truncated":
            return family, {"rank": int(value)}
        if family in ("softmax", "softmax-centred"):
            return "softmax", {"temperature": float(value), "centered": family == "softmax-centred"}
        if family in ("stacked", "stacked-recomputed"):
            return "stacked", {"depth": int(value), "mode": "paper" if family == "stacked" else "recomputed"}
    except ValueError:
        pass
    raise ValueError(f"unknown model {model!r}; use relu, attn, truncated:<r>, softmax:<T>, softmax-centred:<T>, "
                     "stacked:<k> or stacked-recomputed:<k>")


def features(model: str, x, x_train):
    """Unit-norm MLP inputs of `model` for the points x (N, d) attending over x_train (n, d); jax, differentiable."""
    family, options = parse_model(model)
    if family in _models.ARCHITECTURES:
        return _models.features(family, x, x_train)
    return _av.variant_features(family, x, x_train, **options)


def features64(model: str, x, x_train) -> np.ndarray:
    """`features` in float64 (numpy), for kernels and spectra."""
    with jax.enable_x64(True):
        z = features(model, jnp.asarray(np.asarray(x, np.float64)), jnp.asarray(np.asarray(x_train, np.float64)))
        z = np.asarray(z, np.float64)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


@functools.cache
def training_loss(model: str, loss: str):
    """`fn(x, params, signs, t)`: mean training loss of the network on `features(model, x, x)` (the features of the
    perturbed set attend over the perturbed set). One object per (model, loss), so jitted attacks compile once."""
    parse_model(model)

    def fn(x, params, signs, t):
        return _train.loss_fn(params, signs, features(model, x, x), t, loss, 0.0)

    fn.__name__ = f"training_loss_{model}_{loss}"
    return fn


# ----------------------------------------------------------------------------------------------------------
# power: kernel regression on aligned and unaligned targets
# ----------------------------------------------------------------------------------------------------------


def mode_targets(x_ref, modes, x) -> tuple[np.ndarray, np.ndarray]:
    """Targets aligned with the eigenvectors of the reference Gram matrix, and the singular values.

    x_ref (n_ref, d) pixels; modes (k,) 1-based indices j; x (N, d) points. Returns `Y` (N, k) with
    `Y[:, i] = <xhat, v_j> / s_j * sqrt(n_ref)` (unit mean square over the reference rows, where it equals
    `sqrt(n_ref) u_j`, the j-th eigenvector of `G_ref`) and the singular values s (min(n_ref, d),) of `Xhat_ref`.
    Signs follow numpy's SVD (a target's sign does not change any error).
    """
    xr = _data.unit_rows(x_ref)
    _, s, vt = np.linalg.svd(xr, full_matrices=False)
    modes = np.asarray(modes, int)
    if modes.min() < 1 or modes.max() > s.size or s[modes.max() - 1] <= s[0] * s.size * np.finfo(float).eps:
        raise ValueError(f"modes must lie in 1..numerical rank of the reference sample ({s.size} at most), got {modes}")
    xu = _data.unit_rows(x)
    return xu @ vt[modes - 1].T / s[modes - 1] * math.sqrt(len(xr)), s


def power_kernels(x_train, x_test) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`{kernel: (K (n, n), k(test, train) (N, n))}` for `KERNELS`, float64, on unit rows.

    linear: `Xhat Xhat^T`; G3: `phi phi'^T` with `phi(x) = xhat Xhat^T Xhat` (on training rows `G^3`,
    Theorem 4.1); attn-ntk / relu-ntk: `kernels.first_layer_ntk` of the MLP-Attn / 2L-ReLU features.
    """
    xt, xs = _data.unit_rows(x_train), _data.unit_rows(x_test)
    g = xt @ xt.T
    pt, ps = g @ xt, (xs @ xt.T) @ xt  # O(n^2 d) rather than forming X^T X (d, d)
    zt, zs = _data.unit_rows(pt), _data.unit_rows(ps)
    return {
        "linear": (g, xs @ xt.T),
        "G3": (pt @ pt.T, ps @ pt.T),
        "attn-ntk": (_kernels.first_layer_ntk(zt, zt), _kernels.first_layer_ntk(zs, zt)),
        "relu-ntk": (_kernels.first_layer_ntk(xt, xt), _kernels.first_layer_ntk(xs, xt)),
    }


def krr_errors(k_train, k_test, y_train, y_test, ridges) -> np.ndarray:
    """Unexplained energy `sum_x (yhat - y)^2 / sum_x y^2` per target column and relative ridge, float64.

    k_train (n, n), k_test (N, n), y_train (n, k), y_test (N, k); ridge `rho tr(K) / n`. One eigendecomposition
    serves every ridge and target. Returns (len(ridges), k).
    """
    lam, q = np.linalg.eigh(0.5 * (k_train + k_train.T))
    lam = np.clip(lam, 0.0, None)
    scale = np.trace(k_train) / len(k_train)
    kq, qy = k_test @ q, q.T @ y_train
    out = np.empty((len(ridges), y_train.shape[1]))
    for i, rho in enumerate(ridges):
        pred = kq @ (qy / (lam + rho * scale)[:, None])
        out[i] = np.sum((pred - y_test) ** 2, axis=0) / np.sum(y_test**2, axis=0)
    return out


def krr_accuracy(k_train, k_test, y_train_onehot, y_test_idx, ridge: float) -> float:
    """Test accuracy (argmax) of kernel ridge regression on one-hot targets, ridge `rho tr(K)/n`."""
    reg = ridge * np.trace(k_train) / len(k_train)
    pred = _influence.krr_predict(k_test, k_train, y_train_onehot, reg)
    return float(np.mean(np.argmax(pred, axis=1) == y_test_idx))


def alignment(G, y) -> float:
    """Kernel-target alignment `y^T G y / (||G||_F ||y||^2)` in [0, 1] for PSD G (n, n), y (n,)."""
    return float(y @ G @ y / (np.linalg.norm(G) * (y @ y)))


def sample_split(dataset: str, n_train: int, n_test: int, seed: int, data_dir=None) -> _data.Split:
    """The seeded split every experiment of the chapter draws (`ntkbook.data.train_test_split`, from the test split
    when there is no train split)."""
    """The seeded split every experiment of the chapter draws (`ntkbook.data.train_test_split`, from the test split
    when there is no train split)."""
    return _data.train_test_split(dataset, n_train, n_test, seed=seed, allow_split_from_test=True, data_dir=data_dir)


def power_unit(*, dataset: str, seed: int, n_ref: int, ns: list, n_test: int, modes: list, noise: float,
               ridges: list, data_dir: str | None = None) -> pd.DataFrame:
    """One (data set, seed) of the power experiment. Rows: n, kernel, target ("mode", "labels", "random"), mode
    (j, 0 otherwise), ridge, error (unexplained energy), accuracy (labels only, NaN otherwise), alignment (with
    the training G), s_ratio (`s_j / s_1` of the reference sample, NaN for labels / random).

    Sample: `train_test_split(dataset, n_ref + max(ns), n_test, seed)`; its first n_ref training rows are the
    reference, the next n (nested prefixes) the training set.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        split = sample_split(dataset, n_ref + max(ns), n_test, seed, data_dir)
        x_ref, pool, y_pool = split.x_train[:n_ref], split.x_train[n_ref:], split.y_train[n_ref:]
        y_all, s = mode_targets(x_ref, modes, np.concatenate([pool, split.x_test]))  # one SVD of the reference
        y_modes_pool, y_modes_test = y_all[: len(pool)], y_all[len(pool):]
        n_classes = len(split.classes)
        rng = np.random.default_rng([seed, 5])
        rand_pool = rng.choice([-1.0, 1.0], size=(len(pool), 1))
        rand_test = rng.choice([-1.0, 1.0], size=(n_test, 1))
        noise_pool = noise * rng.standard_normal((len(pool), len(modes) + 1))
        rows = []
        for n in ns:
            onehot = np.eye(n_classes)[y_pool[:n]]
            onehot_test = np.eye(n_classes)[split.y_test]
            centre = onehot.mean(axis=0)
            kern = power_kernels(pool[:n], split.x_test)
            g = kern["linear"][0]
            xt = _data.unit_rows(pool[:n])
            for name, (k_tr, k_te) in kern.items():
                y_tr = np.concatenate([y_modes_pool[:n], rand_pool[:n]], axis=1) + noise_pool[:n]
                y_te = np.concatenate([y_modes_test, rand_test], axis=1)
                err = krr_errors(k_tr, k_te, y_tr, y_te, ridges)
                err_lab = krr_errors(k_tr, k_te, onehot - centre, onehot_test - centre, ridges)
                for i, rho in enumerate(ridges):
                    acc = krr_accuracy(k_tr, k_te, onehot, split.y_test, rho)
                    for j, mode in enumerate(modes):
                        rows.append({"n": n, "kernel": name, "target": "mode", "mode": int(mode), "ridge": float(rho),
                                     "error": float(err[i, j]), "accuracy": np.nan,
                                     "alignment": alignment(g, y_modes_pool[:n, j]),
                                     "s_ratio": float(s[mode - 1] / s[0])})
                    rows.append({"n": n, "kernel": name, "target": "random", "mode": 0, "ridge": float(rho),
                                 "error": float(err[i, -1]), "accuracy": np.nan,
                                 "alignment": alignment(g, rand_pool[:n, 0]), "s_ratio": np.nan})
                    lab_align = float(np.mean([alignment(g, c) for c in (onehot - centre).T if c @ c > 0]))
                    rows.append({"n": n, "kernel": name, "target": "labels", "mode": 0, "ridge": float(rho),
                                 "error": float(np.sum(err_lab[i] * np.sum((onehot_test - centre) ** 2, axis=0))
                                                / np.sum((onehot_test - centre) ** 2)),
                                 "accuracy": acc, "alignment": lab_align, "s_ratio": np.nan})
            del xt
    frame = pd.DataFrame(rows)
    frame.insert(0, "seed", int(seed))
    frame.insert(0, "dataset", dataset)
    return frame


# ----------------------------------------------------------------------------------------------------------
# kernels of the variants: conditioning and the distance of K_m from K_inf at initialisation
# ----------------------------------------------------------------------------------------------------------


def kernel_unit(*, dataset: str, seed: int, n: int, models: list, widths: list, data_dir: str | None = None
                ) -> pd.DataFrame:
    """One (data set, seed): per model and width, `err_op = ||K_m - K_inf||_op / ||K_inf||_op` and
    `err_eig = ||K_m - K_inf||_op / lambda_min(K_inf)` at initialisation (nested widths,
    `spectral.ntk_error_curve`), with `kappa_ntk` (kappa of K_inf) and `kappa_linear` (lambda_1 / lambda_r of the
    induced linear kernel `Phi Phi^T` of the attention outputs, r its numerical rank; for relu the Gram matrix).

    Model "qkv" (trainable Q, K, V at standard initialisation, `attention_variants.qkv_ntk_blocks`): `err_op` is
    the distance of its full NTK from the infinite-width NTK of its W block at the drawn Q, K, V
    (`first_layer_ntk` of its features), `attn_share = ||Theta_QKV||_F / ||Theta_total||_F`, and `spread` the
    relative Frobenius distance between the full NTKs of two readout/first-layer draws (same Q, K, V); for qkv
    only the smallest and the largest width are computed.
    """
    split = sample_split(dataset, n, 1, seed, data_dir)
    x = split.x_train
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for model in models:
            if model == "qkv":
                rows += _qkv_rows(x, widths, seed)
                continue
            z = features64(model, x, x)
            curve = _kl.ntk_error_curve(z, widths, seed=seed)
            k_inf = _kernels.first_layer_ntk(z, z)
            kappa_ntk = _kernels.condition_number(k_inf, rtol=0)
            if model == "relu":
                phi = _data.unit_rows(x)
            else:
                phi = attention_outputs64(model, x)
            lin = phi @ phi.T
            r = _kernels.numerical_rank(lin)
            for rec in curve.to_dict("records"):
                rows.append({"model": model, "width": int(rec["width"]), "err_op": float(rec["err_op"]),
                             "err_eig": float(rec["err_eig"]), "kappa_ntk": kappa_ntk,
                             "kappa_linear": _kernels.condition_number(lin, rank=r), "rank_linear": int(r),
                             "attn_share": np.nan, "spread": np.nan})
    frame = pd.DataFrame(rows)
    frame.insert(0, "seed", int(seed))
    frame.insert(0, "dataset", dataset)
    return frame


def attention_outputs64(model: str, x) -> np.ndarray:
    """The attention outputs Phi (n, d) of `model` on its own training rows x, before normalisation, float64
    (attn: `G Xhat`, `kernels.attention_feature_map`; variants: `attention_variants.attention_output`)."""
    family, options = parse_model(model)
    if family == "relu":
        raise ValueError("2L-ReLU has no attention layer")
    xu = _data.unit_rows(x)
    if family == "attn":
        return _kernels.attention_feature_map(xu, xu)
    with jax.enable_x64(True):
        xj = jnp.asarray(np.asarray(x, np.float64))
        return np.asarray(_av.attention_output(family, xj, xj, **options), np.float64)


def _qkv_rows(x, widths, seed) -> list[dict]:
    d = x.shape[1]
    attn = _av.init_qkv(jax.random.PRNGKey(10_000 + seed), d)
    z = np.asarray(_av.qkv_features(attn, jnp.asarray(x, jnp.float32), jnp.asarray(x, jnp.float32)), np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    k_w_inf = _kernels.first_layer_ntk(z, z)
    lam = _kernels.eigenvalues(k_w_inf)
    rows = []
    for m in sorted({min(widths), max(widths)}):  # the extremes: each width costs O(n d^2) at d up to 3072
        full = []
        for draw in (0, 1):
            params, signs = _models.init_network(jax.random.PRNGKey(seed * 1000 + draw), d, int(m), 1)
            full.append(_av.qkv_ntk_blocks(attn, params, signs, x, x))
        blocks = full[0]
        diff = blocks["total"] - k_w_inf
        op = float(np.max(np.abs(np.linalg.eigvalsh(0.5 * (diff + diff.T)))))
        attn_part = blocks["WQ"] + blocks["WK"] + blocks["WV"]
        rows.append({"model": "qkv", "width": int(m), "err_op": op / lam[0], "err_eig": op / lam[-1],
                     "kappa_ntk": float(lam[0] / lam[-1]), "kappa_linear": np.nan, "rank_linear": 0,
                     "attn_share": float(np.linalg.norm(attn_part) / np.linalg.norm(blocks["total"])),
                     "spread": float(np.linalg.norm(full[0]["total"] - full[1]["total"]) / np.linalg.norm(full[1]["total"]))})
    return rows


# ----------------------------------------------------------------------------------------------------------
# variants trained: accuracy, malleability, aligned-target error
# ----------------------------------------------------------------------------------------------------------


def _scores(model, params, x_train, t_train, x_test, t_test, ridge, loss) -> np.ndarray:
    z = features64(model, x_train, x_train)
    zt = features64(model, x_test, x_train)
    w = {"W": np.asarray(params["W"], np.float64)}
    k_tr = np.asarray(_models.empirical_ntk(w, z, z), np.float64)
    k_te = np.asarray(_models.empirical_ntk(w, zt, z), np.float64)
    return _influence.influence_on_test_loss(k_te, k_tr, np.asarray(t_train, np.float64),
                                             np.asarray(t_test, np.float64), ridge, loss)


def variant_unit(*, dataset: str, seed: int, model: str, n_train: int, n_test: int, width: int, epochs: int,
                 learning_rate: float, l2: float, eps: float, steps: int, tau: float, krr_ridge: float,
                 n_ref: int, top_modes: list, ridge: float, noise: float, data_dir: str | None = None
                 ) -> pd.DataFrame:
    """One (data set, seed, model): train on the real labels (Adam, cross-entropy, the paper's L2 form), record
    train/test accuracy (the L2 penalty on `W - W0`, the NTK reading); PGD on the training pixels (ℓ∞ eps, `steps` steps, ascending each point's training loss
    through the features); influence scores before and after with the trained weights kept; chapter 4's measures
    (flip rate of the top tau, Spearman, top-K overlap); and the aligned-target error: kernel regression with the
    model's infinite-width NTK on the `top_modes` targets (reference sample disjoint from train/test, label noise
    noise of std `noise` on the training targets, relative ridge `ridge`), mean over the modes. One row.
    """
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        split = sample_split(dataset, n_ref + n_train, n_test, seed, data_dir)
        x_ref, x, y = split.x_train[:n_ref], split.x_train[n_ref:], split.y_train[n_ref:]
        x_test, y_test = split.x_test, split.y_test
        n_classes = len(split.classes)
        t = _train.targets(y, n_classes, "xent")
        t_test = np.asarray(_train.targets(y_test, n_classes, "xent"), np.float64)
        params0, signs = _models.init_network(jax.random.PRNGKey(seed), x.shape[1], width, n_classes)
        x32 = jnp.asarray(x, jnp.float32)
        z = features(model, x32, x32)
        zt = features(model, jnp.asarray(x_test, jnp.float32), x32)
        cfg = _train.TrainConfig(epochs=epochs, learning_rate=learning_rate, l2=l2, loss="xent", seed=seed,
                                 l2_form="w-w0")
        params = _train.fit(params0, signs, z, t, cfg).params
        train_acc = _train.accuracy(_models.apply_network(params, signs, z), t)
        test_acc = _train.accuracy(_models.apply_network(params, signs, zt), jnp.asarray(t_test))
        before = _scores(model, params, x, t, x_test, t_test, krr_ridge, "xent")
        fn = training_loss(model, "xent")
        x_adv = _attacks.pgd(fn, x32, eps, steps=steps, args=(params, signs, t))
        x_adv = np.clip(np.clip(np.asarray(x_adv, np.float64), x - eps, x + eps), 0.0, 1.0)
        after = _scores(model, params, x_adv, t, x_test, t_test, krr_ridge, "xent")
        m = _mal.measures(before, after, tau)
        gain = float(fn(jnp.asarray(x_adv, jnp.float32), params, signs, t) - fn(x32, params, signs, t))
        # aligned targets: kernel regression with this model's infinite-width NTK
        y_all, _ = mode_targets(x_ref, top_modes, np.concatenate([x, x_test]))
        y_tr, y_te = y_all[: len(x)], y_all[len(x):]
        zz, zs = features64(model, x, x), features64(model, x_test, x)
        y_tr = y_tr + noise * np.random.default_rng([seed, 6]).standard_normal(y_tr.shape)
        err = krr_errors(_kernels.first_layer_ntk(zz, zz), _kernels.first_layer_ntk(zs, zz), y_tr, y_te, [ridge])
    return pd.DataFrame([{
        "dataset": dataset, "seed": int(seed), "model": model, "train_accuracy": float(train_acc),
        "test_accuracy": float(test_acc), "chance": float(np.max(np.bincount(y_test)) / len(y_test)),
        "flip_rate": m["flip_rate"], "spearman": m["spearman"], "topk_overlap": m["topk_overlap"],
        "attack_gain": gain, "aligned_error": float(np.mean(err)), "seconds": time.perf_counter() - start,
    }])


# ----------------------------------------------------------------------------------------------------------
# function space: the trained network against its kernel predictor
# ----------------------------------------------------------------------------------------------------------


def function_unit(*, dataset: str, seed: int, model: str, widths: list, n_train: int, n_test: int, gd_steps: int,
                  gd_rate: float = 0.5, data_dir: str | None = None) -> pd.DataFrame:
    """One (data set, seed, model): full-batch gradient descent on MSE (one-hot targets, no penalty) for `gd_steps`
    steps at each width, against the exact discrete kernel GD with the infinite-width NTK from the same initial
    outputs (`ntkbook.kernel_limits.kernel_gd_predictor`), learning rate `eta = gd_rate n C / lambda_max(K_inf)`.
    Rows per width: dist_rel = ||f_m - f_NTK||_F / ||f_NTK||_F on the test points, test accuracy of both, the
    network's final training loss.
    """

    with threadpool_limits(limits=1, user_api="blas"):
        split = sample_split(dataset, n_train, n_test, seed, data_dir)
        n_classes = len(split.classes)
        t = _train.targets(split.y_train, n_classes, "mse")
        x32 = jnp.asarray(split.x_train, jnp.float32)
        z = features(model, x32, x32)
        zt = features(model, jnp.asarray(split.x_test, jnp.float32), x32)
        z64, zt64 = features64(model, split.x_train, split.x_train), features64(model, split.x_test, split.x_train)
        k_inf, k_te = _kernels.first_layer_ntk(z64, z64), _kernels.first_layer_ntk(zt64, z64)
        eta = gd_rate * n_train * n_classes / float(np.linalg.eigvalsh(k_inf)[-1])
        rows = []
        for m in widths:
            params0, signs = _models.init_network(jax.random.PRNGKey(seed), z.shape[1], int(m), n_classes)
            f0_tr = np.asarray(_models.apply_network(params0, signs, z), np.float64)
            f0_te = np.asarray(_models.apply_network(params0, signs, zt), np.float64)
            params, hist = _train.train_gd(params0, signs, z, t, learning_rate=eta, steps=gd_steps)
            f_m = np.asarray(_models.apply_network(params, signs, zt), np.float64)
            _, f_k = _kl.kernel_gd_predictor(k_inf, k_te, np.asarray(t, np.float64), f0_tr, f0_te, eta, gd_steps)
            rows.append({"dataset": dataset, "seed": int(seed), "model": model, "width": int(m),
                         "dist_rel": float(np.linalg.norm(f_m - f_k) / np.linalg.norm(f_k)),
                         "test_acc": float(np.mean(np.argmax(f_m, 1) == split.y_test)),
                         "ntk_test_acc": float(np.mean(np.argmax(f_k, 1) == split.y_test)),
                         "train_loss": float(hist["data_loss"].iloc[-1])})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------------
# the sweep
# ----------------------------------------------------------------------------------------------------------


def units(spec: DualSpec, *, data_dir: str | None = None) -> list:
    """The chapter's units (`ntkbook.runner.Unit`): power (data set x seed), kernel (data set x seed), variant
    (malleability data set x seed x model) and function (the same data sets x seed x `fs_families` model). Params are JSON-plain; `data_dir` None reads NTKBOOK_DATA."""
    from ntkbook.runner import Unit

    out = []
    kernel_models = ["relu", "attn", *[m for m in spec.variant_models() if m not in ("relu", "attn")], "qkv"]
    for ds in spec.datasets:
        for seed in spec.seeds:
            out.append(Unit("dual-power", dict(dataset=ds, seed=int(seed), n_ref=spec.n_ref, ns=list(spec.ns),
                                               n_test=spec.n_test, modes=list(spec.modes), noise=spec.noise,
                                               ridges=list(spec.ridges), data_dir=data_dir), power_unit, reads=_data.split_reads(ds)))
            out.append(Unit("dual-kernel", dict(dataset=ds, seed=int(seed), n=spec.n_kernel,
                                                models=[m for m in kernel_models if _rank_ok(m, spec.n_kernel)],
                                                widths=list(spec.widths), data_dir=data_dir), kernel_unit, reads=_data.split_reads(ds)))
    for ds in spec.mal_datasets:
        for seed in spec.seeds:
            for model in spec.variant_models(spec.mal_families):
                out.append(Unit("dual-variant", dict(
                    dataset=ds, seed=int(seed), model=model, n_train=spec.n_train, n_test=spec.n_mal_test,
                    width=spec.width, epochs=spec.epochs, learning_rate=spec.learning_rate, l2=spec.l2, eps=spec.eps,
                    steps=spec.steps, tau=spec.tau, krr_ridge=spec.krr_ridge, n_ref=spec.n_ref,
                    top_modes=list(spec.modes[: spec.top_modes]), ridge=spec.ridge, noise=spec.noise,
                    data_dir=data_dir), variant_unit, reads=_data.split_reads(ds)))
    for ds in spec.mal_datasets:
        for seed in spec.seeds:
            for model in spec.variant_models(spec.fs_families):
                out.append(Unit("dual-function", dict(
                    dataset=ds, seed=int(seed), model=model, widths=list(spec.widths), n_train=spec.n_kernel,
                    n_test=spec.n_mal_test, gd_steps=spec.gd_steps, data_dir=data_dir), function_unit,
                    reads=_data.split_reads(ds)))
    return out


def _rank_ok(model: str, n: int) -> bool:
    return not model.startswith("truncated:") or int(model.split(":")[1]) <= n


def sweep(spec: DualSpec, scheduler: str | None = None, *, data_dir: str | None = None, cache_dir=None,
          refresh: bool = False) -> dict[str, pd.DataFrame]:
    """Run every unit through `ntkbook.runner.run`; returns `{"power", "kernel", "variant", "function"}` frames."""
    from ntkbook import runner

    todo = units(spec, data_dir=data_dir)
    frames = {}
    for kind, name in (("dual-power", "power"), ("dual-kernel", "kernel"), ("dual-variant", "variant"),
                       ("dual-function", "function")):
        mine = [u for u in todo if u.kind == kind]
        frames[name] = runner.run(mine, scheduler=scheduler, cache_dir=cache_dir, refresh=refresh,
                                  desc=f"chapter 5: {name}").frame if mine else pd.DataFrame()
    return frames


def results(spec: DualSpec, *, scheduler: str | None = None, data_dir: str | None = None, cache_dir=None
            ) -> dict[str, pd.DataFrame]:
    """The chapter's results `{"power", "kernel", "variant", "function"}`: `sweep(spec)`, each unit read from the
    result cache or computed (on `scheduler`, see `ntkbook.runner`) and stored there."""
    return sweep(spec, scheduler, data_dir=data_dir, cache_dir=cache_dir)
