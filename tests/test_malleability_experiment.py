"""The chapter-4 experiment: building blocks against references, determinism, caching, the tables' logic.

Offline tests use scikit-learn's 8x8 digits (the `digits` tasks); the paper's tasks are checked on real data."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import ntkbook  # noqa: F401
from ntkbook import influence, models, train
from ntkbook.experiments import malleability as M

TINY = M.Config(
    tasks=("digits", "digits-3v8"),
    sweep_tasks=("digits",),
    intervention_tasks=("digits",),
    adv_tasks=("digits",),
    poison_tasks=("digits-3v8",),
    seeds=(0, 1),
    n_train=30,
    n_test=15,
    width=32,
    epochs=6,
    batch_size=16,
    steps=3,
    adv_rounds=2,
    poison_fractions=(0.1, 0.3),
    poison_targets=1,
)


def _split(task="digits", seed=0):
    split = M.load_task(task, TINY.n_train, TINY.n_test, seed)
    loss = M.TASKS[task]["loss"]
    t = train.targets(split.y_train, len(split.classes), loss)
    return split, loss, t


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_fit_equals_train_train(arch):
    split, loss, t = _split()
    p0, signs = models.init_network(jax.random.PRNGKey(3), split.x_train.shape[1], 16, t.shape[1])
    cfg = train.TrainConfig(epochs=4, batch_size=8, learning_rate=1e-2, loss=loss, seed=5)
    fast = M.fit(arch, p0, signs, split.x_train, t, cfg)
    x = jnp.asarray(split.x_train, jnp.float32)
    ref, _ = train.train(p0, signs, models.features(arch, x, x), t, cfg)
    np.testing.assert_allclose(np.asarray(fast["W"]), np.asarray(ref["W"]), rtol=1e-6, atol=1e-6)
    assert not np.allclose(np.asarray(fast["W"]), np.asarray(p0["W"]))
    with pytest.raises(ValueError, match="training"):
        M.fit(arch, p0, signs, split.x_train, t, cfg, training="robust")


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_ntk_kernels_match_neural_tangents_and_attend_over_the_given_set(arch):
    split, _, t = _split()
    params, signs = models.init_network(jax.random.PRNGKey(0), split.x_train.shape[1], 24, t.shape[1])
    k_train, k_test = M.ntk_kernels(arch, params, split.x_train, split.x_test)
    assert k_train.dtype == np.float64 and k_train.shape == (30, 30) and k_test.shape == (15, 30)
    np.testing.assert_allclose(k_train, k_train.T, atol=1e-12)
    x = jnp.asarray(split.x_train, jnp.float32)
    z = models.features(arch, x, x)
    zt = models.features(arch, jnp.asarray(split.x_test, jnp.float32), x)
    np.testing.assert_allclose(k_train, np.asarray(models.empirical_ntk_nt(params, signs, z, z)), atol=2e-5)
    np.testing.assert_allclose(k_test, np.asarray(models.empirical_ntk_nt(params, signs, zt, z)), atol=2e-5)
    # moving one training point changes the test kernel of every test point only through attention
    x2 = split.x_train.copy()
    x2[0] = np.clip(x2[0] + 0.2, 0, 1)
    _, k_test2 = M.ntk_kernels(arch, params, x2, split.x_test)
    changed = np.abs(k_test2[:, 1:] - k_test[:, 1:]).max()
    assert (changed > 1e-8) == (arch == "attn")


@pytest.mark.parametrize("attack", ["fgsm", "pgd", "mim", "random"])
def test_perturb_stays_in_budget_and_moves_only_chosen_rows(attack):
    split, loss, t = _split()
    params, signs = models.init_network(jax.random.PRNGKey(0), split.x_train.shape[1], 16, t.shape[1])
    x = split.x_train
    out = M.perturb(attack, "attn", params, signs, x, t, 0.3, loss=loss, steps=3)
    assert out.dtype == np.float64 and out.min() >= 0 and out.max() <= 1
    assert np.abs(out - x).max() <= 0.3 + 1e-12 and np.abs(out - x).max() > 0.1
    budget = np.zeros((len(x), 1))
    budget[[2, 7]] = 0.3
    out = M.perturb(attack, "attn", params, signs, x, t, budget, loss=loss, steps=3)
    assert np.flatnonzero(np.abs(out - x).max(axis=1) > 0).tolist() == [2, 7]


def test_influence_scores_use_the_closed_form():
    split, loss, t = _split("digits-3v8")
    params, _ = models.init_network(jax.random.PRNGKey(0), split.x_train.shape[1], 16, 1)
    t_test = np.asarray(train.targets(split.y_test, 2, loss), np.float64)
    got = M.influence_scores("relu", params, split.x_train, t, split.x_test, t_test, ridge=0.1, loss=loss)
    k_train, k_test = M.ntk_kernels("relu", params, split.x_train, split.x_test)
    full = influence.krr_predict(k_test, k_train, np.asarray(t, np.float64), 0.1)
    base = influence.pointwise_loss(full, t_test, loss).sum()
    i = 4
    keep = np.arange(len(t)) != i
    f_i = influence.krr_predict(k_test[:, keep], k_train[np.ix_(keep, keep)], np.asarray(t, np.float64)[keep], 0.1)
    assert got[i] == pytest.approx(influence.pointwise_loss(f_i, t_test, loss).sum() - base, rel=1e-6)


def test_plan_lists_the_protocol_items():
    items = M.plan(TINY, "digits", "standard")
    assert ("adversarial", "pgd", 0.3) in items and ("adversarial", "random", 0.3) in items
    assert {e for i, a, e in items if a == "pgd" and i == "adversarial"} == {0.1, 0.2, 0.3, 0.5}
    assert ("curated", "none", 0.0) in items and ("control", "none", 0.0) in items
    assert M.plan(TINY, "digits-3v8", "standard")[-1] == ("control", "none", 0.0)
    assert ("curated", "none", 0.0) not in M.plan(TINY, "digits-3v8", "standard")
    assert M.plan(TINY, "digits", "adversarial") == [("adversarial", "pgd", 0.3)]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return M.run(TINY, cache_dir=cache), M.run_poisoning(TINY, cache_dir=cache), cache


def test_run_is_tidy_and_complete(tiny_run):
    frame, poison, _ = tiny_run
    assert set(frame.task) == {"digits", "digits-3v8"} and set(frame.arch) == {"relu", "attn"}
    assert set(frame.training) == {"standard", "adversarial"}
    assert frame.flip_rate.between(0, 1).all() and frame.topk_overlap.between(0, 1).all()
    assert frame.spearman.between(-1, 1).all()
    control = frame[frame.intervention == "control"]
    assert (control.protocol == "b").all() and len(control) == 2 * 2 * 2  # tasks x archs x seeds
    n_items = len(M.plan(TINY, "digits", "standard"))
    one = frame[(frame.task == "digits") & (frame.arch == "attn") & (frame.seed == 0) & (frame.training == "standard")]
    assert len(one) == 2 * n_items - 1  # both protocols, except the control
    attacked = frame[frame.attack.isin(["fgsm", "pgd", "mim"]) & (frame.intervention == "adversarial")]
    assert (attacked.train_loss_gain > 0).mean() > 0.9  # the attacks raise the loss they ascend
    assert set(poison.fraction) == {0.1, 0.3} and poison.success_a.dtype == bool
    assert (poison.target_loss_after >= poison.target_loss_before - 1e-9).all()


def test_same_seed_gives_identical_tables(tiny_run, tmp_path):
    frame, poison, cache = tiny_run
    again = M.run(TINY, cache_dir=tmp_path)  # an empty cache: everything recomputed
    cols = [c for c in frame.columns if c != "unit_seconds"]
    pd.testing.assert_frame_equal(frame[cols], again[cols])
    pd.testing.assert_frame_equal(
        M.attack_table(frame, ["digits-3v8"], M.PAPER_TABLE3, 0.3),
        M.attack_table(again, ["digits-3v8"], M.PAPER_TABLE3, 0.3),
    )
    pd.testing.assert_frame_equal(poison, M.run_poisoning(TINY, cache_dir=tmp_path))
    cached = M.run(TINY, cache_dir=cache)
    pd.testing.assert_frame_equal(frame, cached)  # read back, timings included
    other = M.run(dataclasses.replace(TINY, seeds=(2,), tasks=("digits-3v8",), adv_tasks=()), cache_dir=tmp_path)
    assert not np.allclose(other.spearman.to_numpy()[:4], frame[frame.task == "digits-3v8"].spearman.to_numpy()[:4])


def test_tables_from_the_tiny_run(tiny_run):
    frame, poison, _ = tiny_run
    t3 = M.attack_table(frame, ["digits-3v8"], M.PAPER_TABLE3, 0.3)
    assert len(t3) == 4 * 2 and set(t3.protocol) == {"a", "b"}
    assert (t3.verdict[t3.attack != "RANDOM"] == "no paper claim for this task").all()
    t4 = M.adversarial_training_table(frame, ["digits"], 0.3)
    assert len(t4) == 4  # 2 protocols x 2 models
    iv = M.intervention_table(frame, 0.3)
    assert {"curated", "transformed", "adversarial", "control"} <= set(iv.intervention)
    sweep = M.eps_sweep_frame(frame)
    assert sorted(sweep[sweep.task == "digits"].eps.unique()) == [0.1, 0.2, 0.3, 0.5]
    pt = M.poisoning_table(poison, frame, 0.3)
    assert len(pt) == 2 * 2 and "success b (%)" in pt
    pairs = M.poisoning_vs_malleability(poison, frame, 0.3)
    assert len(pairs) == 2 * 2 * 2 and pairs.flip_rate.notna().all()  # archs x seeds x protocols
    pred = M.malleability_predicts_poisoning(pairs)
    assert set(pred.protocol) == {"a", "b"} and pred["units"].eq(4).all()
    summary = M.claim_summary(frame, TINY)
    assert summary["verdict_mnist_a"] == "not run in this profile" and np.isnan(summary["ratio_mnist_a"])
    assert summary["sweep_same_ranking_a"] == "not run in this profile"  # the sweep ran on digits, not MNIST


def test_mean_ci_and_verdicts():
    m, h, n = M.mean_ci([0.1, 0.2, 0.3])
    assert (m, n) == (pytest.approx(0.2), 3)
    assert h == pytest.approx(4.302652729911275 * 0.1 / np.sqrt(3))
    assert np.isnan(M.mean_ci([0.5])[1])
    assert M.ratio_verdict("mnist", 7.0, (0.28, 0.02), (0.04, 0.01)).startswith("holds")
    assert M.ratio_verdict("mnist", 2.0, (0.20, 0.02), (0.10, 0.01)).startswith("does not hold: MLP-Attn flips more")
    assert M.ratio_verdict("mnist", 0.3, (0.03, 0.01), (0.10, 0.01)).startswith("does not hold: reversed")
    assert M.ratio_verdict("mnist", 0.6, (0.28, 0.19), (0.47, 0.26)).startswith("does not hold: 0.6×")
    assert M.ratio_verdict("mnist", 2.0, (0.20, 0.15), (0.10, 0.09)).startswith("not resolved")
    assert M.ratio_verdict("mnist", 20.0, (0.40, 0.02), (0.02, 0.01)).startswith("does not hold: stronger")
    assert M.ratio_verdict("cifar10-auto-air", 1.0, (0.1, 0.1), (0.1, 0.1)).startswith("holds")
    assert "unbounded" in M.ratio_verdict("mnist", float("inf"), (0.1, 0.0), (0.0, 0.0))
    assert M.ratio_verdict("digits", 1.0, (0.1, 0.0), (0.1, 0.0)) == "no paper claim for this task"


def test_attack_table_on_a_hand_made_frame():
    rows = []
    for seed, (relu, attn) in enumerate([(0.05, 0.30), (0.05, 0.40)]):
        for arch, v in (("relu", relu), ("attn", attn)):
            rows.append({"task": "mnist", "arch": arch, "seed": seed, "training": "standard", "intervention": "adversarial",
                         "attack": "pgd", "eps": 0.3, "protocol": "a", "flip_rate": v})
    table = M.attack_table(pd.DataFrame(rows), ["mnist"], M.PAPER_TABLE2, 0.3)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["ratio (ours)"] == 7.0 and row["2L-ReLU (paper, %)"] == 3.3 and row["verdict"].startswith("holds")
    assert row["MLP-Attn (ours, %)"].startswith("35.0 ±")


def test_config_validation():
    with pytest.raises(ValueError, match="unknown tasks"):
        M.Config(tasks=("imagenet",))
    with pytest.raises(ValueError, match="profile"):
        M.profile_config("huge")
    assert M.profile_config("quick", seeds=(7,)).seeds == (7,)
    assert M.PROFILES["paper"].epochs == 500 and M.PROFILES["paper"].learning_rate == 1e-3


@pytest.mark.realdata
def test_paper_tasks_load_from_real_data(real_data_dir):
    for task, n_classes in (("mnist", 10), ("cifar10", 10), ("mnist-3v8", 2), ("cifar10-auto-air", 2)):
        split = M.load_task(task, 20, 10, 0, data_dir=real_data_dir)
        assert len(split.classes) == n_classes and split.x_train.shape[0] == 20
        assert split.x_train.min() >= 0 and split.x_train.max() <= 1
    assert M.load_task("cifar10-auto-air", 20, 10, 0, data_dir=real_data_dir).classes == ("automobile", "airplane")


def test_claim_summary_values_are_plain_python(tiny_run):
    frame, _, _ = tiny_run
    values = M.claim_summary(frame, TINY).values()
    assert all(type(v) in (float, str) for v in values)


def test_figures_have_labelled_axes(tiny_run):
    import matplotlib

    matplotlib.use("Agg")
    from ntkbook.plotting import malleability as P

    frame, poison, _ = tiny_run
    for fig in (P.flip_rate_vs_eps(M.eps_sweep_frame(frame)), P.poisoning_success(poison)):
        axes = fig.get_axes()
        assert len(axes) == 2 and all(ax.get_xlabel() for ax in axes) and axes[0].get_ylabel()
        assert all(ax.lines for ax in axes)
    with pytest.raises(ValueError, match="more than one"):
        P.flip_rate_vs_eps(M.eps_sweep_frame(frame[frame.eps.isin([0.0, 0.3])]))
