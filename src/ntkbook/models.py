"""The paper's two networks, 2L-ReLU and MLP-Attn, with their empirical and infinite-width NTKs.

Both networks are `f(x) = (1/sqrt(m)) sum_r a_r relu(w_r . z(x))` with `w_r ~ N(0, I_d)` trained and readout signs
`a_r in {-1, +1}^C` fixed at initialisation (arXiv 2603.13085, section 4). They differ only in the features z:

- 2L-ReLU ("relu"): `z = x / ||x||`;
- MLP-Attn ("attn"): `z = u / ||u||` with `u = Xhat^T Xhat xhat` the parameter-free linearized attention of the
  unit-norm query `xhat` over the unit-norm training set `Xhat` (keys = values = the training rows). On the training
  rows this is the row-normalised `G Xhat`; it is recomputed from whatever training set is passed in, so a perturbed
  training set changes the features of every point, train and test.

In neural-tangents' NTK parameterisation a `Dense` layer divides by `sqrt(d_in)`; with unit-norm inputs the paper's
`w ~ N(0, I)` therefore corresponds to `W_std = sqrt(d)` (unit-variance pre-activations). `infinite_ntk_nt` and
`empirical_ntk_nt` build the network with neural-tangents' `stax` in exactly that parameterisation (NT loaded
through `ntkbook.nt_compat` when they are called), and the tests check the hand-written `apply_network` /
`empirical_ntk` / `infinite_ntk` against them.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import nt_compat
from ntkbook.kernels import linearized_attention

ARCHITECTURES = ("relu", "attn")
#: The paper's names of the two networks; every table and figure takes its labels from here.
MODEL_LABELS = {"relu": "2L-ReLU", "attn": "MLP-Attn"}

# NT's three empirical-NTK implementations (names of `nt.NtkImplementation`). On the pinned JAX
# STRUCTURED_DERIVATIVES fails inside NT (its private uses of JAX internals); tests/test_models.py asserts that it
# still fails, so a pin that fixes it is noticed. The other two agree with the fast path to float precision.
NT_IMPLEMENTATIONS = ("jacobian_contraction", "ntk_vector_products", "structured_derivatives")


def nt_implementation(name: str):
    """NT's `NtkImplementation` member for one of `NT_IMPLEMENTATIONS` (loads NT); ValueError for another name."""
    if name not in NT_IMPLEMENTATIONS:
        raise ValueError(f"unknown implementation {name!r}; choose one of {NT_IMPLEMENTATIONS}")
    return getattr(nt_compat.load().NtkImplementation, name.upper())


def _unit_rows(x: jnp.ndarray) -> jnp.ndarray:
    """Row-wise `x / ||x||_2` in jax.numpy, (N, d) -> (N, d).

    `ntkbook.data.unit_rows` is the numpy version with a ValueError on zero rows; the models need a differentiable,
    jit-able version (attacks differentiate through it), where raising on a traced value is impossible. Callers
    pass images, which are never all-zero; `features` checks concrete inputs before calling this.
    """
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


def _check_rows(name: str, x) -> None:
    """Raise ValueError for a non-2-D array or (when the values are concrete) an all-zero row."""
    if jnp.ndim(x) != 2:
        raise ValueError(f"{name} must be a 2-D array (N, d) of flattened inputs, got shape {jnp.shape(x)}")
    if not isinstance(x, jax.core.Tracer):
        norms = np.linalg.norm(np.asarray(x, dtype=np.float64), axis=1)
        if np.any(norms == 0):
            raise ValueError(f"{name} has an all-zero row ({int(np.argmin(norms))}); it cannot be unit-normalised")


def features(arch: str, x: jnp.ndarray, x_train: jnp.ndarray | None = None) -> jnp.ndarray:
    """The unit-norm MLP inputs z of the network `arch` for the points x, shape (N, d) -> (N, d).

    relu: `z = x / ||x||`. attn: `z = u / ||u||` with `u = xhat Xhat^T Xhat` (`Xhat` the unit rows of `x_train`,
    (n, d); `xhat` those of x), i.e. `ntkbook.kernels.linearized_attention(Xhat, xhat)`; for `x = x_train` the rows
    are those of `G Xhat`. Differentiable in both `x` and `x_train`.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {ARCHITECTURES}")
    _check_rows("x", x)
    if arch == "relu":
        return _unit_rows(x)
    if x_train is None:
        raise ValueError("the 'attn' features attend over the training set: pass x_train (n, d)")
    _check_rows("x_train", x_train)
    if jnp.shape(x_train)[1] != jnp.shape(x)[1]:
        raise ValueError(f"x has d={jnp.shape(x)[1]} but x_train has d={jnp.shape(x_train)[1]}")
    return _unit_rows(linearized_attention(_unit_rows(x_train), _unit_rows(x)))


def init_network(key: jax.Array, d: int, width: int, n_out: int) -> tuple[dict, jnp.ndarray]:
    """Random first layer and fixed readout signs: `({"W": (d, width)}, signs (width, n_out))`.

    `W` has i.i.d. N(0, 1) entries (columns `w_r ~ N(0, I_d)`; NT's NTK parameterisation with `W_std = sqrt(d)`);
    `signs` are i.i.d. uniform on {-1, +1} and are not trained. Both come from `key` (split in two).
    """
    if min(d, width, n_out) < 1:
        raise ValueError(f"d, width and n_out must be positive, got {d}, {width}, {n_out}")
    k_w, k_a = jax.random.split(key)
    w = jax.random.normal(k_w, (d, width))
    signs = jnp.where(jax.random.bernoulli(k_a, 0.5, (width, n_out)), 1.0, -1.0).astype(w.dtype)
    return {"W": w}, signs


def apply_network(params: dict, signs: jnp.ndarray, z: jnp.ndarray) -> jnp.ndarray:
    """`f(z) = relu(z @ W) @ signs / sqrt(m)`: (N, d) features -> (N, n_out) outputs, m = signs.shape[0]."""
    return jax.nn.relu(z @ params["W"]) @ signs / jnp.sqrt(signs.shape[0])


def empirical_ntk(params: dict, z1: jnp.ndarray, z2: jnp.ndarray | None = None) -> jnp.ndarray:
    """The exact empirical NTK of the first-layer-only network, one output block, (N1, d), (N2, d) -> (N1, N2).

    `Theta(z, z') = (1/m) sum_r 1[w_r.z > 0] 1[w_r.z' > 0] <z, z'>` (the gradient of output c with respect to w_r
    is `a_rc 1[w_r.z > 0] z / sqrt(m)`, and `a_rc^2 = 1`), so it is two matrix products instead of a Jacobian.
    It is the same for every output c; the off-diagonal output blocks `(1/m) sum_r a_rc a_rc' ...` average to zero
    over the signs and are not returned (NT's `trace_axes=(-1,)` gives exactly this block, see `empirical_ntk_nt`).
    `z2=None` means `z1`.
    """
    z2 = z1 if z2 is None else z2
    w = params["W"]
    m = w.shape[1]
    a1 = (z1 @ w > 0).astype(z1.dtype)
    a2 = (z2 @ w > 0).astype(z2.dtype)
    return (a1 @ a2.T) / m * (z1 @ z2.T)


def _hidden_layer(width: int, d: int):
    """NT's `serial(Dense(width, W_std=sqrt(d), no bias, NTK parameterisation), Relu)`: the trained part."""
    stax = nt_compat.load().stax
    return stax.serial(stax.Dense(width, W_std=float(np.sqrt(d)), b_std=None, parameterization="ntk"), stax.Relu())


def nt_apply_fn(signs: jnp.ndarray, d: int):
    """`f(params, z)` built from NT's stax hidden layer and the fixed readout, for NT's empirical NTK functions.

    NT's Dense computes `z @ W * W_std / sqrt(d) = z @ W` here, so this equals `apply_network` (checked in tests).
    """
    _, hidden_apply, _ = _hidden_layer(signs.shape[0], d)

    def f(params, z):
        return hidden_apply([(params["W"], None), ()], z) @ signs / jnp.sqrt(signs.shape[0])

    return f


def empirical_ntk_nt(
    params: dict,
    signs: jnp.ndarray,
    z1: jnp.ndarray,
    z2: jnp.ndarray | None = None,
    *,
    implementation: str = "ntk_vector_products",
) -> jnp.ndarray:
    """neural-tangents' generic empirical NTK of the same network with respect to W only, (N1, d), (N2, d) -> (N1, N2).

    Uses `nt.empirical_ntk_fn(f, trace_axes=(-1,), vmap_axes=0, implementation=...)`, whose trace over the outputs
    is a mean, so the result is the per-output block that `empirical_ntk` returns. `implementation` is one of
    `NT_IMPLEMENTATIONS`; "structured_derivatives" raises on the pinned JAX.
    """
    impl = nt_implementation(implementation)
    f = nt_apply_fn(signs, params["W"].shape[0])
    kernel_fn = nt_compat.load().empirical_ntk_fn(f, trace_axes=(-1,), vmap_axes=0, implementation=impl)
    return kernel_fn(z1, z2, params)


def infinite_ntk(z1, z2=None) -> np.ndarray:
    """The infinite-width NTK of the first-layer-only network, (N1, d), (N2, d) -> (N1, N2) numpy float64.

    `K(z, z') = (pi - theta) / (2 pi) * <z, z'>` (arc-cosine kernel of order 0 times the linear kernel; Theorem 4.2)
    from `ntkbook.kernels.first_layer_ntk`, whose angle is `2 atan2(||u - v||, ||u + v||)` near theta = 0, so the
    kernel is exact to a few (d + 3) eps64 at every angle and exactly `<z, z> / 2` on the diagonal. The inputs are
    converted to float64 whatever their dtype. `infinite_ntk_nt` is the same kernel from neural-tangents (an
    independent reference; it takes arccos of a rounded cosine, which loses half the digits near theta = 0).
    `z2=None` means `z1`.
    """
    from ntkbook.kernels import first_layer_ntk

    _check_rows("z1", z1)
    z1 = np.asarray(z1, np.float64)
    z2 = z1 if z2 is None else np.asarray(z2, np.float64)
    return first_layer_ntk(z1, z2)


def infinite_ntk_nt(z1: jnp.ndarray, z2: jnp.ndarray | None = None) -> jnp.ndarray:
    """`infinite_ntk` from neural-tangents' `kernel_fn`, (N1, d), (N2, d) -> (N1, N2), in the inputs' dtype.

    Built as NT's `serial(Dense(W_std=sqrt(d)), Relu)` with no readout layer: a fixed +-1 readout averaged with
    1/sqrt(m) contributes nothing trainable and scales the per-unit kernel by `mean_r a_r^2 = 1`. NT evaluates
    arccos of the rounded cosine: near theta = 0 the result is off by up to about sqrt(2 d eps) / (2 pi).
    """
    _check_rows("z1", z1)
    d = jnp.shape(z1)[1]
    _, _, kernel_fn = _hidden_layer(1, d)
    return kernel_fn(z1, z2, "ntk")
