"""Chapter 5's computations: the dual implication (power against fragility) and the paper's open questions.

Four kinds of unit, each one (data set, seed[, model]), each a tidy DataFrame of plain-typed columns (`units(spec)`):

- **power** (`ntkbook.experiments.dual_power.power_unit`): kernel ridge regression with the linear kernel, G^3, the
  MLP-Attn and 2L-ReLU NTKs and a PCA-truncated linear control, the ridge chosen per kernel and target by closed-form
  leave-one-out, on targets along the eigenvectors of a reference Gram matrix (linear and squared), the real labels
  and random signs, at several label-noise levels (see that module).
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
"softmax:<T>" / "softmax-centred:<T>", "attn-centred" (centred linearized attention, the control of centred softmax),
"stacked:<k>" / "stacked-recomputed:<k>" (`ntkbook.attention_variants`) and "qkv" / "qkv-ntk" (trainable Q, K, V
under standard / NTK parameterisation; kernel units only). Computation only: no wording, no verdicts, no paper numbers.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ntkbook import attacks as _attacks
from ntkbook import data as _data
from ntkbook import influence as _influence
from ntkbook import kernels as _kernels
from ntkbook import malleability as _mal
from ntkbook import models as _models
from ntkbook import ridge_select as _rs
from ntkbook import train as _train
from ntkbook.experiments import dual_models as _dm
from ntkbook.experiments import dual_power as _dp
from ntkbook.experiments.dual_models import (  # noqa: F401  (re-exported)
    attention_outputs64,
    features,
    features64,
    num_label,
    parse_model,
    training_loss,
)
from ntkbook.experiments.dual_power import (  # noqa: F401  (re-exported: the chapter's names in one place)
    CONTROL,
    KERNELS,
    alignment,
    krr_accuracy,
    krr_errors,
    mode_targets,
    power_kernels,
    sample_split,
    square_targets,
    tuned_fit,
)
from ntkbook.result_tables import ResultTables
from ntkbook.specs.dual import DualSpec

# ----------------------------------------------------------------------------------------------------------
# the chapter's spec
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
                 n_ref: int, top_modes: list, noise: float, data_dir: str | None = None
                 ) -> pd.DataFrame:
    """One (data set, seed, model): train on the real labels (Adam, cross-entropy, the paper's L2 form), record
    train/test accuracy (the L2 penalty on `W - W0`, the NTK reading); PGD on the training pixels (ℓ∞ eps, `steps` steps, ascending each point's training loss
    through the features); influence scores before and after with the trained weights kept; chapter 4's measures
    (flip rate of the top tau, Spearman, top-K overlap); and the aligned-target error: kernel regression with the
    model's infinite-width NTK on the `top_modes` targets (reference sample disjoint from train/test, label noise
    noise of std `noise` on the training targets, the ridge chosen per target by leave-one-out), mean over the modes.
    One row.
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
        pred, _, _ = tuned_fit(_rs.eigen(_kernels.first_layer_ntk(zz, zz)), _kernels.first_layer_ntk(zs, zz), y_tr)
        err = np.sum((pred - y_te) ** 2, axis=0) / np.sum(y_te**2, axis=0)
    return pd.DataFrame([{
        "dataset": dataset, "seed": int(seed), "model": model, "train_accuracy": float(train_acc),
        "test_accuracy": float(test_acc), "chance": float(np.max(np.bincount(y_test)) / len(y_test)),
        "flip_rate": m["flip_rate"], "spearman": m["spearman"], "topk_overlap": m["topk_overlap"],
        "attack_gain": gain, "aligned_error": float(np.mean(err)), "seconds": time.perf_counter() - start,
    }])


# ----------------------------------------------------------------------------------------------------------
# the units of the other modules, run from here: a unit's cache key hashes the closure of its function's module,
# which for this module is the whole chapter (an edit of any of its modules changes every key)
# ----------------------------------------------------------------------------------------------------------


def power_unit(**params) -> pd.DataFrame:
    """`ntkbook.experiments.dual_power.power_unit` (see there)."""
    return _dp.power_unit(**params)


def kernel_unit(**params) -> pd.DataFrame:
    """`ntkbook.experiments.dual_models.kernel_unit` (see there)."""
    return _dm.kernel_unit(**params)


def function_unit(**params) -> pd.DataFrame:
    """`ntkbook.experiments.dual_models.function_unit` (see there)."""
    return _dm.function_unit(**params)


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
                                               n_test=spec.n_test, modes=list(spec.modes), noises=list(spec.noises),
                                               ridges=list(spec.ridges), data_dir=data_dir), power_unit, reads=_data.split_reads(ds)))
            out.append(Unit("dual-kernel", dict(dataset=ds, seed=int(seed), n=spec.n_kernel,
                                                models=[m for m in kernel_models if _rank_ok(m, spec.n_kernel)],
                                                widths=list(spec.widths), data_dir=data_dir), kernel_unit, reads=_data.split_reads(ds)))
    for ds in spec.mal_datasets:
        for seed in spec.seeds:
            for model in spec.variant_models(spec.mal_families, spec.mal_temperatures):
                out.append(Unit("dual-variant", dict(
                    dataset=ds, seed=int(seed), model=model, n_train=spec.n_train, n_test=spec.n_mal_test,
                    width=spec.width, epochs=spec.epochs, learning_rate=spec.learning_rate, l2=spec.l2, eps=spec.eps,
                    steps=spec.steps, tau=spec.tau, krr_ridge=spec.krr_ridge, n_ref=spec.n_ref,
                    top_modes=list(spec.modes[: spec.top_modes]), noise=spec.noise,
                    data_dir=data_dir), variant_unit, reads=_data.split_reads(ds)))
    for ds in spec.mal_datasets:
        for seed in spec.seeds:
            for model in spec.variant_models(spec.fs_families, spec.mal_temperatures):
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
            ) -> ResultTables:
    """The chapter's results, tables `power`, `kernel`, `variant`, `function`: `sweep(spec)`, each unit read from the
    result cache or computed (on `scheduler`, see `ntkbook.runner`) and stored there."""
    return ResultTables(sweep(spec, scheduler, data_dir=data_dir, cache_dir=cache_dir))
