"""Chapter 5's models by name and its kernel-side units (see `ntkbook.experiments.dual` for the chapter).

Models are named by strings (`parse_model`): "relu", "attn", "truncated:<r>", "softmax:<T>", "softmax-centred:<T>",
"attn-centred", "stacked:<k>", "stacked-recomputed:<k>"; "qkv" / "qkv-ntk" in kernel units only.
`kernel_unit`: the distance of the width-m empirical NTK at initialisation from its limit, per model and width;
`function_unit`: the trained network against its infinite-width kernel predictor in function space.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ntkbook import attention_variants as _av
from ntkbook import data as _data
from ntkbook import kernel_limits as _kl
from ntkbook import kernels as _kernels
from ntkbook import models as _models
from ntkbook import train as _train
from ntkbook.experiments.dual_power import sample_split


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
    if model == "attn-centred":
        return "centred", {}
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
                     "attn-centred, stacked:<k> or stacked-recomputed:<k>")


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
    relative Frobenius distance between the full NTKs of two readout/first-layer draws (same Q, K, V), at every
    width; "qkv-ntk" is the same network under the NTK parameterisation of Q, K, V (rows added with "qkv").
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
    """Rows of "qkv" (standard parameterisation) and "qkv-ntk" (NTK parameterisation,
    `attention_variants.qkv_parameterised`) at every width, from the same two readout / first-layer draws."""
    d = x.shape[1]
    attn = _av.init_qkv(jax.random.PRNGKey(10_000 + seed), d)
    z = np.asarray(_av.qkv_features(attn, jnp.asarray(x, jnp.float32), jnp.asarray(x, jnp.float32)), np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    k_w_inf = _kernels.first_layer_ntk(z, z)
    lam = _kernels.eigenvalues(k_w_inf)
    rows = []
    for m in sorted(set(widths)):
        draws = []
        for draw in (0, 1):
            params, signs = _models.init_network(jax.random.PRNGKey(seed * 1000 + draw), d, int(m), 1)
            draws.append(_av.qkv_ntk_blocks(attn, params, signs, x, x))
        for par, name in (("standard", "qkv"), ("ntk", "qkv-ntk")):
            full = [_av.qkv_parameterised(b, par, d) for b in draws]
            blocks = full[0]
            diff = blocks["total"] - k_w_inf
            op = float(np.max(np.abs(np.linalg.eigvalsh(0.5 * (diff + diff.T)))))
            attn_part = blocks["WQ"] + blocks["WK"] + blocks["WV"]
            rows.append({"model": name, "width": int(m), "err_op": op / lam[0], "err_eig": op / lam[-1],
                         "kappa_ntk": float(lam[0] / lam[-1]), "kappa_linear": np.nan, "rank_linear": 0,
                         "attn_share": float(np.linalg.norm(attn_part) / np.linalg.norm(blocks["total"])),
                         "spread": float(np.linalg.norm(full[0]["total"] - full[1]["total"])
                                         / np.linalg.norm(full[1]["total"]))})
    return rows


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
