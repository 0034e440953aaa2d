"""Variants of the attention layer of MLP-Attn: the paper's remarks and open questions as models.

Every variant keeps the MLP of `ntkbook.models` (`f(x) = m^{-1/2} sum_r a_r relu(w_r . z(x))`, W trained, signs
fixed) and changes only the unit-norm input z(x), the attention output over the training set X (n, d) for a query
x, both unit-normalised (`xhat`, `Xhat`) as in MLP-Attn:

- **truncated** (rank r; the paper's remark after Theorem 4.7): attention restricted to the top-r singular directions
  of X. With `Xhat = U S V^T`, the rank-r truncation `X_r = U_r S_r V_r^T` replaces the keys and values:
  `u(x) = X_r^T X_r xhat = Xhat^T U_r U_r^T Xhat xhat`. On the training rows `u = G_r Xhat` with
  `G_r = U_r diag(lambda_1..r) U_r^T`, so the linear kernel of the attention outputs is
  `G_r G G_r = U_r diag(lambda^3) U_r^T`, of rank r and condition number (on its range) `(lambda_1/lambda_r)^3`
  (`ntkbook.experiments.spectral.truncation_table`). r = rank(Xhat) gives MLP-Attn.
- **softmax** (temperature T; open question 1): parameter-free softmax attention
  `u(x) = sum_k softmax_k(<xhat, xhat_k> / T) xhat_k`, optionally centred (`- mean_k xhat_k`). As T grows the
  weights tend to 1/n: plain softmax collapses every point onto the mean direction, and the centred version tends
  (after normalisation) to `unit(xhat^T Xhat^T Xhat_c)`, the linear limit `ntkbook.kernels.softmax_linear_limit`
  (the centred linearized attention; the error is O(1/T)). As T -> 0 a training row attends to itself (z -> xhat).
- **centred** (the control of centred softmax): centred linearized attention `u(x) = xhat^T Xhat^T Xhat_c`, the
  values centred (`Xhat_c = Xhat - 1 mean(Xhat)`); the large-T limit of centred softmax, which equals it up to O(1/T)
  after normalisation (`kernels.softmax_linear_limit`).
- **stacked** (depth k; the paper's remark on depth): k linearized-attention layers. mode "paper": every layer
  uses the input's attention weights, `u = (Xhat^T Xhat)^k xhat` (training rows `G^k Xhat`, kernel
  `G^(2k+1)`, condition number `kappa^(2k+1)`, the paper's statement); mode "recomputed": layer l attends over the
  training outputs of layer l-1 (`Phi_l = Phi_{l-1} Phi_{l-1}^T Phi_{l-1}`), kernel `G^(3^k)`.
- **qkv** (trainable Q, K, V; the paper's Appendix B.4): `u(x) = W_V^T Xhat^T Xhat W_K W_Q^T xhat` with
  `W_Q, W_K, W_V` (d, d) at the standard initialisation `N(0, 1/d)`, trained with W. Its NTK has a block per
  parameter group (`qkv_ntk_blocks`); the attention blocks do not concentrate as m grows with d fixed (the readout
  average `m^{-1/2} sum_r a_r relu'(.) w_r` tends to a Gaussian vector, not a constant), so it has no deterministic
  infinite-width kernel; the W block tends to `first_layer_ntk` of the features at the drawn Q, K, V.

For the parameter-free variants (truncated, softmax, stacked) the infinite-width NTK is Theorem 4.2's kernel on
their features, `variant_infinite_ntk` (neural-tangents' kernel_fn via `ntkbook.models.infinite_ntk`).

Functions taking jax arrays are differentiable in x and in the training set (attacks move the training pixels);
checks that need concrete values are skipped under tracing. Kernel and spectral functions are numpy float64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import kernels, models

VARIANTS = ("truncated", "softmax", "stacked", "centred")
"""The parameter-free variants (a deterministic infinite-width NTK exists); `qkv` is handled by its own functions."""
STACK_MODES = ("paper", "recomputed")
#: Name of each variant in tables and figures.
VARIANT_LABELS = {"truncated": "Attn rank r", "softmax": "Softmax T", "stacked": "Attn x k", "qkv": "QKV-Attn"}


# ----------------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------------


def _concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _check_pair(x, x_train) -> None:
    """x (N, d) and x_train (n, d) 2-D with the same d and no zero row (when concrete)."""
    models._check_rows("x", x)
    models._check_rows("x_train", x_train)
    if jnp.shape(x)[1] != jnp.shape(x_train)[1]:
        raise ValueError(f"x has d={jnp.shape(x)[1]} but x_train has d={jnp.shape(x_train)[1]}")


def check_rank(rank, x_train) -> int:
    """`rank` as an int in 1..numerical rank of the unit rows of x_train (float64, tolerance n eps lambda_1)."""
    if isinstance(rank, bool) or not isinstance(rank, int | np.integer):
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    if rank < 1:
        raise ValueError(f"rank must be >= 1 (the number of singular directions kept), got {rank}")
    n, d = jnp.shape(x_train)
    if rank > min(n, d):
        raise ValueError(f"rank must be <= min(n, d) = {min(n, d)} (the rank of X at most), got {rank}")
    if _concrete(x_train):
        xu = np.asarray(x_train, np.float64)
        xu = xu / np.linalg.norm(xu, axis=1, keepdims=True)
        r_num = kernels.numerical_rank(xu @ xu.T)
        if rank > r_num:
            raise ValueError(f"rank {rank} exceeds the numerical rank {r_num} of the training set; choose r <= {r_num}")
    return int(rank)


def check_temperature(temperature) -> float:
    """`temperature` as a float > 0 (finite)."""
    t = float(temperature)
    if not (t > 0 and np.isfinite(t)):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return t


def check_depth(depth, mode: str = "paper") -> int:
    """`depth` as an int >= 1 and `mode` in `STACK_MODES`."""
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1 (the number of attention layers), got {depth!r}")
    if mode not in STACK_MODES:
        raise ValueError(f"mode must be one of {STACK_MODES}, got {mode!r}")
    return int(depth)


# ----------------------------------------------------------------------------------------------------------
# parameter-free attention outputs u(x) (jax, differentiable; unit rows in)
# ----------------------------------------------------------------------------------------------------------


def truncated_attention(keys, queries, rank: int):
    """Rank-r linearized attention `queries Xr^T Xr = queries Xhat^T U_r U_r^T Xhat` (jax).

    keys Xhat (n, d), queries (q, d) -> (q, d). `U_r` are the top-r eigenvectors of `G = Xhat Xhat^T`
    (`jnp.linalg.eigh`, differentiable where `lambda_r > lambda_(r+1)`); `Xr = U_r U_r^T Xhat` is the best rank-r
    approximation of Xhat, so `Xr^T Xr = V_r S_r^2 V_r^T`. r = rank(Xhat) gives `linearized_attention`.
    """
    g = keys @ keys.T
    _, vecs = jnp.linalg.eigh(g)
    u_r = vecs[:, -rank:]  # eigh sorts ascending: the last r columns span the top-r eigenspace
    return ((queries @ keys.T) @ u_r) @ (u_r.T @ keys)


def softmax_weights_attention(keys, queries, temperature: float, centered: bool = False):
    """Parameter-free softmax attention `softmax(queries keys^T / T) keys` (minus `mean(keys)` if centred), jax.

    keys (n, d), queries (q, d) -> (q, d). The softmax is computed with the row maximum subtracted (no overflow);
    equals `ntkbook.kernels.softmax_attention(keys, queries, temperature=T)` (numpy) when not centred.
    """
    a = (queries @ keys.T) / temperature
    w = jax.nn.softmax(a, axis=-1)
    out = w @ keys
    return out - jnp.mean(keys, axis=0) if centered else out


def centred_attention(keys, queries):
    """Centred linearized attention `queries keys^T (keys - mean(keys))` (jax); keys (n, d), queries (q, d)."""
    return (queries @ keys.T) @ (keys - jnp.mean(keys, axis=0))


def stacked_attention(keys, queries, depth: int, mode: str = "paper"):
    """k linearized-attention layers over the training set, jax; keys (n, d), queries (q, d) -> (q, d).

    "paper": `queries (Xhat^T Xhat)^k` (training rows `G^k Xhat`). "recomputed": layer l maps the query
    `q_l = q_(l-1) Phi_(l-1)^T Phi_(l-1)` with `Phi_l = Phi_(l-1) Phi_(l-1)^T Phi_(l-1)`, `Phi_0 = Xhat` (the
    training rows attend over the previous layer's training outputs). Each layer is divided by n, a common scale
    that the unit normalisation of the output removes, to keep magnitudes moderate in float32.
    """
    n = keys.shape[0]
    if mode == "paper":
        c = keys.T @ keys / n
        out = queries
        for _ in range(depth):
            out = out @ c
        return out
    phi, out = keys, queries
    for _ in range(depth):
        c = phi.T @ phi / n
        out, phi = out @ c, phi @ c
    return out


def attention_output(variant: str, x, x_train, *, rank: int | None = None, temperature: float | None = None,
                     centered: bool = False, depth: int | None = None, mode: str = "paper"):
    """The attention output u(x) (before its normalisation) of a parameter-free variant, (N, d) (jax).

    x (N, d) queries, x_train (n, d) the training set (keys = values); both unit-normalised first. Options:
    truncated: `rank`; softmax: `temperature`, `centered`; stacked: `depth`, `mode`; centred: none. Validates the
    options.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS} (qkv: use qkv_features)")
    _check_pair(x, x_train)
    xh, kh = models._unit_rows(x), models._unit_rows(x_train)
    if variant == "truncated":
        if rank is None:
            raise ValueError("the truncated variant needs rank= (the number of singular directions kept)")
        return truncated_attention(kh, xh, check_rank(rank, x_train))
    if variant == "centred":
        return centred_attention(kh, xh)
    if variant == "softmax":
        if temperature is None:
            raise ValueError("the softmax variant needs temperature= (> 0)")
        return softmax_weights_attention(kh, xh, check_temperature(temperature), bool(centered))
    if depth is None:
        raise ValueError("the stacked variant needs depth= (the number of attention layers, >= 1)")
    return stacked_attention(kh, xh, check_depth(depth, mode), mode)


def variant_features(variant: str, x, x_train, **options):
    """Unit-norm MLP inputs `z = u / ||u||` of a parameter-free variant, (N, d) (jax, differentiable).

    `options` as in `attention_output`. Raises ValueError when an output row is exactly zero (concrete inputs),
    e.g. a query orthogonal to the kept singular directions.
    """
    u = attention_output(variant, x, x_train, **options)
    if _concrete(u):
        norms = np.linalg.norm(np.asarray(u, np.float64), axis=1)
        if np.any(norms == 0):
            raise ValueError(f"attention output row {int(np.argmin(norms))} is zero; it cannot be normalised")
    return models._unit_rows(u)


def variant_infinite_ntk(variant: str, x1, x_train, x2=None, **options) -> np.ndarray:
    """Infinite-width NTK (Theorem 4.2's kernel on the variant's features), float64, (N1, N2).

    `models.infinite_ntk` (neural-tangents' kernel_fn) on `variant_features(variant, x, x_train, **options)`
    computed in float64; x2 None means x1.
    """
    with jax.enable_x64(True):
        xt = jnp.asarray(np.asarray(x_train, np.float64))
        z1 = variant_features(variant, jnp.asarray(np.asarray(x1, np.float64)), xt, **options)
        z2 = z1 if x2 is None else variant_features(variant, jnp.asarray(np.asarray(x2, np.float64)), xt, **options)
        return np.asarray(models.infinite_ntk(z1, z2), np.float64)


def induced_linear_kernel(variant: str, x_train, **options) -> np.ndarray:
    """Linear kernel `Phi Phi^T` of the attention outputs on the training rows (before normalisation), float64.

    truncated: `U_r diag(lambda^3) U_r^T`; stacked "paper": `G^(2k+1) / n^(2k)`; "recomputed": a power `G^(3^k)`
    times a positive constant; softmax: the kernel of the smoothed rows. (n, n).
    """
    with jax.enable_x64(True):
        xt = jnp.asarray(np.asarray(x_train, np.float64))
        phi = np.asarray(attention_output(variant, xt, xt, **options), np.float64)
    return phi @ phi.T


# ----------------------------------------------------------------------------------------------------------
# trainable Q, K, V (Appendix B.4)
# ----------------------------------------------------------------------------------------------------------


def init_qkv(key: jax.Array, d: int) -> dict:
    """`{"WQ", "WK", "WV"}`, each (d, d) with i.i.d. N(0, 1/d) entries (the standard fan-in initialisation)."""
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    kq, kk, kv = jax.random.split(key, 3)
    scale = 1.0 / np.sqrt(d)
    return {name: scale * jax.random.normal(k, (d, d)) for name, k in (("WQ", kq), ("WK", kk), ("WV", kv))}


def qkv_attention(attn: dict, x, x_train):
    """`u(x) = xhat W_Q W_K^T Xhat^T Xhat W_V` (row convention), x (N, d), x_train (n, d) -> (N, d), jax."""
    _check_pair(x, x_train)
    xh, kh = models._unit_rows(x), models._unit_rows(x_train)
    return (((xh @ attn["WQ"]) @ (kh @ attn["WK"]).T) @ kh) @ attn["WV"]


def qkv_features(attn: dict, x, x_train):
    """Unit-norm MLP inputs `z = u / ||u||` of the trainable-QKV attention, (N, d), jax."""
    return models._unit_rows(qkv_attention(attn, x, x_train))


def qkv_ntk_blocks(attn: dict, params: dict, signs, x1, x_train, x2=None) -> dict[str, np.ndarray]:
    """The empirical NTK of the trainable-QKV MLP-Attn, one (N1, N2) block per parameter group, float64.

    With `z = u/|u|`, `g_c = m^{-1/2} W (a_c * 1[W^T z > 0])` (d), `h_c = (I - z z^T) g_c / |u|` (the gradient of
    output c in u), `s = Xhat W_K W_Q^T xhat`, `p = Xhat^T s`, `e_c = Xhat^T Xhat W_V h_c`, `b_c = W_K^T e_c`,
    `c = W_Q^T xhat`, the gradients are `dW_V = p h_c^T`, `dW_Q = xhat b_c^T`, `dW_K = e_c c^T`, so
    `Theta_V = (p.p')(h_c.h_c')`, `Theta_Q = (xhat.xhat')(b_c.b_c')`, `Theta_K = (e_c.e_c')(c.c')`, and
    `Theta_W = models.empirical_ntk(params, z)`. Each block is the mean over the outputs c of the per-output
    kernel (neural-tangents' `trace_axes=(-1,)`); `"total"` is their sum. x2 None means x1.
    """
    out = {}
    with jax.enable_x64(True):
        a64 = {k: jnp.asarray(np.asarray(v, np.float64)) for k, v in attn.items()}
        w = jnp.asarray(np.asarray(params["W"], np.float64))
        sg = jnp.asarray(np.asarray(signs, np.float64))
        xt = jnp.asarray(np.asarray(x_train, np.float64))
        kh = models._unit_rows(xt)
        m = w.shape[1]

        def parts(x):
            xh = models._unit_rows(jnp.asarray(np.asarray(x, np.float64)))
            s = (xh @ a64["WQ"]) @ (kh @ a64["WK"]).T  # (N, n)
            p = s @ kh  # (N, d)
            u = p @ a64["WV"]
            nu = jnp.linalg.norm(u, axis=1, keepdims=True)
            z = u / nu
            act = (z @ w > 0).astype(z.dtype)  # (N, m)
            g = jnp.einsum("dm,nm,mc->ncd", w, act, sg) / jnp.sqrt(m)  # (N, C, d)
            h = (g - jnp.einsum("nc,nd->ncd", jnp.einsum("ncd,nd->nc", g, z), z)) / nu[:, :, None]
            e = jnp.einsum("ncd,ed,ke->nck", h, a64["WV"], kh) @ kh  # Xhat^T Xhat W_V h_c -> (N, C, d)
            b = jnp.einsum("nck,kj->ncj", e, a64["WK"])
            c = xh @ a64["WQ"]
            return xh, z, p, h, e, b, c

        xh1, z1, p1, h1, e1, b1, c1 = parts(x1)
        xh2, z2, p2, h2, e2, b2, c2 = (xh1, z1, p1, h1, e1, b1, c1) if x2 is None else parts(x2)
        n_out = sg.shape[1]

        def mean_c(a1, a2):
            return jnp.einsum("ncd,kcd->nk", a1, a2) / n_out

        out["W"] = np.asarray(models.empirical_ntk({"W": w}, z1, z2))
        out["WV"] = np.asarray((p1 @ p2.T) * mean_c(h1, h2))
        out["WQ"] = np.asarray((xh1 @ xh2.T) * mean_c(b1, b2))
        out["WK"] = np.asarray(mean_c(e1, e2) * (c1 @ c2.T))
    out["total"] = out["W"] + out["WV"] + out["WQ"] + out["WK"]
    return out


def qkv_ntk_reference(attn: dict, params: dict, signs, x1, x_train, x2=None) -> dict[str, np.ndarray]:
    """Slow reference for `qkv_ntk_blocks`: Jacobians by `jax.jacrev` of the whole network, float64, per group.

    Builds `f(theta, x) = relu(qkv_features(theta, x, x_train) W) signs / sqrt(m)` and contracts the Jacobian of
    each parameter group, averaging the per-output kernels. Memory O(N C |theta|): tiny problems only.
    """
    with jax.enable_x64(True):
        theta = {k: jnp.asarray(np.asarray(v, np.float64)) for k, v in attn.items()}
        theta["W"] = jnp.asarray(np.asarray(params["W"], np.float64))
        sg = jnp.asarray(np.asarray(signs, np.float64))
        xt = jnp.asarray(np.asarray(x_train, np.float64))

        def f(th, x):
            z = qkv_features({k: th[k] for k in ("WQ", "WK", "WV")}, x, xt)
            return models.apply_network({"W": th["W"]}, sg, z)

        x1 = jnp.asarray(np.asarray(x1, np.float64))
        x2 = x1 if x2 is None else jnp.asarray(np.asarray(x2, np.float64))
        j1, j2 = jax.jacrev(f)(theta, x1), jax.jacrev(f)(theta, x2)
        out = {}
        for name in ("W", "WV", "WQ", "WK"):
            a = j1[name].reshape(j1[name].shape[0], j1[name].shape[1], -1)
            b = j2[name].reshape(j2[name].shape[0], j2[name].shape[1], -1)
            out[name] = np.asarray(jnp.einsum("ncp,kcp->nk", a, b) / sg.shape[1])
    out["total"] = out["W"] + out["WV"] + out["WQ"] + out["WK"]
    return out


PARAMETERISATIONS = ("standard", "ntk")


def qkv_parameterised(blocks: dict[str, np.ndarray], parameterisation: str, d: int) -> dict[str, np.ndarray]:
    """The NTK blocks under a parameterisation of Q, K, V, from `qkv_ntk_blocks` (standard: `W_Q` trained directly,
    entries N(0, 1/d)). NTK parameterisation: `W_Q = Wtilde_Q / sqrt(d)` with `Wtilde_Q` trained (entries N(0, 1)),
    the same function at initialisation; the chain rule gives `d f / d Wtilde = d^{-1/2} d f / d W`, so each of the
    Q, K, V blocks is divided by d and the W block is unchanged. `"total"` recomputed."""
    if parameterisation not in PARAMETERISATIONS:
        raise ValueError(f"parameterisation must be one of {PARAMETERISATIONS}, got {parameterisation!r}")
    scale = 1.0 if parameterisation == "standard" else 1.0 / float(d)
    out = {"W": blocks["W"], **{k: scale * blocks[k] for k in ("WQ", "WK", "WV")}}
    out["total"] = out["W"] + out["WV"] + out["WQ"] + out["WK"]
    return out
