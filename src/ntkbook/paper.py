"""The paper's numbers and statements, each with the place in the paper it comes from.

arXiv 2603.13085, J. M. A. Miñoza, P. M. P. Medina, S. C. Ibañez. Version 1 (13 March 2026): "Influence
Malleability in Linearized Attention: Dual Implications of Non-Convergent NTK Dynamics"; version 2 (7 May 2026):
"Linearized Attention Cannot Enter the Kernel Regime at Any Practical Width". Theorem numbers are v1's.

This is the only module of the package that holds a number the paper states (Table 1's 45.1, κ ≈ 1.2×10³, the
6–9× ratio ...). Computation modules never import it; the report layer (`ntkbook.report`) reads it to put our
measurements beside the paper's and to decide verdicts (`ntkbook.claims`). Nothing here is measured.

Keys: models are "relu" / "attn" (`ntkbook.models.MODEL_LABELS` gives "2L-ReLU" / "MLP-Attn"); data sets
"mnist" / "cifar10"; tasks "mnist", "cifar10" (10 classes), "mnist-3v8", "cifar10-auto-air" (binary); attacks
"fgsm" / "pgd" / "mim". Flip rates are in percent.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

__all__ = [
    "ARXIV", "TITLE_V1", "TITLE_V2", "Statement", "STATEMENTS", "statement",
    "TABLE1", "TABLE1_WIDTHS", "TABLE2", "TABLE3", "TABLE4", "RATIO_CLAIMS", "RATIO_CLAIMS_V2", "HEADLINE_RATIOS",
    "KAPPA", "KAPPA_ALT", "N_FULL", "THRESHOLDS_V1", "THRESHOLDS_V2", "EXPONENTS",
    "EPS", "EPS_SWEEP", "TAU", "TRAINING", "WIDTHS", "table_frame",
]

ARXIV = "2603.13085"
TITLE_V1 = "Influence Malleability in Linearized Attention: Dual Implications of Non-Convergent NTK Dynamics"
TITLE_V2 = "Linearized Attention Cannot Enter the Kernel Regime at Any Practical Width"


@dataclasses.dataclass(frozen=True)
class Statement:
    """One claim as the paper makes it: `name` (how the paper refers to it), `text` (the claim in plain words,
    formulas in LaTeX), `source` (where in the paper: section, theorem, table, version)."""

    name: str
    text: str
    source: str


# ----------------------------------------------------------------------------------------------------------
# Theory (v1 numbering)
# ----------------------------------------------------------------------------------------------------------

STATEMENTS: dict[str, Statement] = {
    "linearization": Statement(
        "Linearized attention",
        r"With $W_Q = W_K = W_V = I$ and $\exp(a) \approx 1 + a$, unnormalised, softmax attention becomes "
        r"$f_{\mathrm{att}}(X) = XX^\top X = GX$.",
        "v1 §3 (definition of parameter-free linearized attention)"),
    "thm4.1": Statement(
        "Theorem 4.1",
        r"$K_{\mathrm{LinAttn}}(x_i, x_j) = \sum_{k,\ell}(x_i^\top x_k)(x_k^\top x_\ell)(x_\ell^\top x_j)$, "
        r"i.e. $K = (GX)(GX)^\top = G^3$.",
        "v1 Theorem 4.1 (Gram-induced kernel)"),
    "thm4.2": Statement(
        "Theorem 4.2",
        r"The NTK of MLP-Attn is $\mathbb E_w[\sigma'(w^\top\tilde x)\sigma'(w^\top\tilde x')]\,"
        r"\langle\tilde x,\tilde x'\rangle = \frac{\pi-\theta}{2\pi}\langle\tilde x,\tilde x'\rangle$.",
        "v1 Theorem 4.2 (NTK of the sequential architecture)"),
    "prop4.5": Statement(
        "Proposition 4.5",
        r"$|K(x_i+\delta, x_j) - K(x_i, x_j)| \le \|G x_j\|_1\,\varepsilon$ for $\|\delta\| \le \varepsilon$ "
        r"(first order).",
        "v1 Proposition 4.5 (data-dependent sensitivity)"),
    "prop4.5.growth": Statement(
        "Proposition 4.5 (remark)",
        "The sensitivity bound grows with the size and correlation density of the data set; a polynomial "
        r"kernel $(x^\top y)^p$'s does not depend on other examples.",
        "v1 Proposition 4.5, discussion"),
    "thm4.7": Statement(
        "Theorem 4.7",
        r"$\kappa(G^3) = \kappa(G)^3$, so MLP-Attn needs width $m = \Omega(\kappa(G)^6/\varepsilon^2)$ for NTK "
        r"convergence, 2L-ReLU $m = \Omega(1/\varepsilon^2)$.",
        "v1 Theorem 4.7 (spectral amplification)"),
    "thm4.7.v2": Statement(
        "Theorem 4.7 (v2)",
        r"$m = \Omega(\kappa_d(G)^6\, n\log n)$ with $\kappa_d$ the condition number of the rank-$\min(n,d)$ "
        "truncation of G.",
        "v2 Theorem 4.7 (refined width bound)"),
    "kappa": Statement(
        "Condition numbers",
        r"$\kappa(G) \approx 1.2\times10^3$ on MNIST and $\approx 8.7\times10^3$ on CIFAR-10.",
        "v1 §4, after Theorem 4.7"),
    "threshold.v1": Statement(
        "Width threshold (v1)",
        r"$m \gg 10^{18}$ (MNIST) and $m \gg 10^{24}$ (CIFAR-10).",
        "v1 §4, after Theorem 4.7"),
    "threshold.v2": Statement(
        "Width threshold (v2)",
        r"$m \gg 10^{24}$ (MNIST) and $m \gg 10^{29}$ (CIFAR-10), 12–17 orders of magnitude beyond the largest "
        "known architectures.",
        "v2 abstract and §4"),
    "depth": Statement(
        "Remark (depth)",
        r"$k$ stacked linearized-attention layers give the kernel $G^{2k+1}$ with condition number "
        r"$\kappa^{2k+1}$.",
        "v1 remark after Theorem 4.7"),
    "truncation": Statement(
        "Remark (truncation)",
        "Keeping only the top-r singular components (low-rank attention) could restore convergence; not tested.",
        "v1 remark after Theorem 4.7"),
    "table1": Statement(
        "Table 1",
        r"$\|f_m - f_{\mathrm{NTK}}\|$ decreases with the width for 2L-ReLU and increases for MLP-Attn: "
        "MLP-Attn never enters the kernel regime at practical widths.",
        "v1 §5.1, Table 1 and Figure 1"),
    "table2": Statement(
        "Table 2",
        r"Influence flip rates of MLP-Attn are 6–9× those of 2L-ReLU on the 10-class tasks ($\varepsilon = 0.3$).",
        "v1 §5.2, Table 2"),
    "table3": Statement(
        "Table 3",
        "About 3–5× on binary MNIST (3 vs 8) and about 1× on binary CIFAR-10 (automobile vs airplane), which the "
        r"paper ties to the lower $\kappa(G)$ of that subset.",
        "v1 §5.2, Table 3"),
    "table4": Statement(
        "Table 4",
        "PGD adversarial training raises the flip rate of both models, to about 36–43%.",
        "v1 §5.2, Table 4"),
    "eps_sweep": Statement(
        "ε sweep",
        r"For $\varepsilon \in \{0.1, 0.2, 0.3, 0.5\}$ MLP-Attn keeps the higher flip rate.",
        "v1 supplement (perturbation budget)"),
    "ratio.v2": Statement(
        "Malleability ratio (v2)",
        "MLP-Attn is 2–9× more malleable than 2L-ReLU, depending on condition number and task.",
        "v2 abstract"),
    "dual": Statement(
        "Dual implication",
        "The data-dependent kernel lowers approximation error when the target aligns with the top eigenvectors "
        "of G, and the same dependence makes the model easier to steer by manipulating training data.",
        "v1 §6; a theorem in v2"),
}


def statement(key: str) -> Statement:
    """The paper's statement `key` (a key of `STATEMENTS`); ValueError listing the keys if unknown."""
    if key not in STATEMENTS:
        raise ValueError(f"no paper statement {key!r}; known: {sorted(STATEMENTS)}")
    return STATEMENTS[key]


# ----------------------------------------------------------------------------------------------------------
# Spectral numbers (v1 §4, v2 §4)
# ----------------------------------------------------------------------------------------------------------

KAPPA: dict[str, float] = {"mnist": 1.2e3, "cifar10": 8.7e3}
"""κ(G) as v1 §4 states it after Theorem 4.7 ("κ(G) ≈ 1.2×10³ on MNIST, ≈ 8.7×10³ on CIFAR-10")."""

KAPPA_ALT: dict[str, float] = {"mnist": 1e3, "cifar10": 10**3.9}
"""The rounded form v1 uses elsewhere ("MNIST κ ≈ 10³, CIFAR-10 κ ≈ 10^3.9")."""

N_FULL: dict[str, int] = {"mnist": 60_000, "cifar10": 50_000}
"""Training-set sizes n behind v2's n log n (the standard train splits)."""

THRESHOLDS_V1: dict[str, float] = {"mnist": 1e18, "cifar10": 1e24}
"""v1 §4: width m ≫ κ⁶/ε² → "m ≫ 10¹⁸" (MNIST), "m ≫ 10²⁴" (CIFAR-10)."""

THRESHOLDS_V2: dict[str, float] = {"mnist": 1e24, "cifar10": 1e29}
"""v2 abstract and §4: m = Ω(κ_d⁶ n log n) → "m ≫ 10²⁴" (MNIST), "m ≫ 10²⁹" (CIFAR-10)."""

EXPONENTS: dict[str, float] = {"kernel": 3.0, "width.attn": 6.0, "width.relu": 0.0}
"""Theorem 4.7's exponents: κ(G³) = κ(G)^3; width ∝ κ(G)^6 for MLP-Attn, κ(G)^0 (1/ε² alone) for 2L-ReLU."""


# ----------------------------------------------------------------------------------------------------------
# Experiments (v1 §5)
# ----------------------------------------------------------------------------------------------------------

WIDTHS = tuple(2**k for k in range(2, 13))
"""v1 §5: widths m ∈ {4, 8, ..., 4096} (powers of two)."""

TRAINING: dict[str, float | int | str] = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 128,
                                          "epochs": 500, "l2": 1e-3, "loss_multiclass": "xent",
                                          "loss_binary": "mse"}
"""v1 §5 training protocol: Adam, lr 1e-3, batch 128, 500 epochs, L2 penalty 1e-3; cross-entropy for 10 classes,
MSE for the binary tasks."""

EPS = 0.3
"""v1 §5.2: the l_inf perturbation budget of Tables 2–4."""

EPS_SWEEP = (0.1, 0.2, 0.3, 0.5)
"""v1 supplement: the budgets over which the ranking of the two models is said to persist."""

TAU = 0.1
"""v1 Definition 3.4: the top τ = 10% most influential training points are tracked."""

TABLE1_WIDTHS = (16, 1024, 4096)

TABLE1 = pd.DataFrame(
    [("2L-ReLU", "mnist", 45.1, 39.9, 39.2, "decreasing"),
     ("MLP-Attn", "mnist", 10.3, 33.3, 43.4, "non-monotonic, then increasing"),
     ("2L-ReLU", "cifar10", 246.2, 101.7, 56.9, "decreasing"),
     ("MLP-Attn", "cifar10", 3.7, 10.4, 12.6, "increasing")],
    columns=["model", "dataset", "m=16", "m=1024", "m=4096", "trend"],
)
"""v1 Table 1: ||f_m - f_NTK|| at widths 16 / 1024 / 4096 and the trend the paper states (model labels as in
`ntkbook.models.MODEL_LABELS`, data set keys "mnist" / "cifar10")."""

TABLE2: dict[tuple[str, str], dict[str, float]] = {
    ("mnist", "relu"): {"fgsm": 4.1, "pgd": 3.3, "mim": 3.4},
    ("mnist", "attn"): {"fgsm": 34.6, "pgd": 28.9, "mim": 21.9},
    ("cifar10", "relu"): {"fgsm": 3.3, "pgd": 3.1, "mim": 3.2},
    ("cifar10", "attn"): {"fgsm": 26.4, "pgd": 19.1, "mim": 20.5},
}
"""v1 Table 2: influence flip rate (%), 10 classes, cross-entropy, ε = 0.3: (task, arch) -> {attack: %}."""

TABLE3: dict[tuple[str, str], dict[str, float]] = {
    ("mnist-3v8", "relu"): {"fgsm": 8.4, "pgd": 8.4, "mim": 8.6},
    ("mnist-3v8", "attn"): {"fgsm": 25.9, "pgd": 41.0, "mim": 40.5},
    ("cifar10-auto-air", "relu"): {"fgsm": 15.2, "pgd": 15.5, "mim": 15.3},
    ("cifar10-auto-air", "attn"): {"fgsm": 14.3, "pgd": 14.0, "mim": 14.8},
}
"""v1 Table 3: influence flip rate (%), binary tasks, MSE, ε = 0.3: (task, arch) -> {attack: %}."""

TABLE4: dict[tuple[str, str], dict[str, float]] = {
    ("mnist", "relu"): {"standard": 3.3, "adversarial": 43.4},
    ("mnist", "attn"): {"standard": 28.9, "adversarial": 42.2},
    ("cifar10", "relu"): {"standard": 3.1, "adversarial": 36.5},
    ("cifar10", "attn"): {"standard": 19.1, "adversarial": 38.6},
}
"""v1 Table 4: PGD flip rate (%), standard training vs PGD adversarial training: (task, arch) -> {training: %}."""

RATIO_CLAIMS: dict[str, tuple[float, float]] = {
    "mnist": (6.0, 9.0),
    "cifar10": (6.0, 9.0),
    "mnist-3v8": (3.0, 5.0),
    "cifar10-auto-air": (0.67, 1.5),
}
"""The claimed MLP-Attn / 2L-ReLU flip-rate ratio per task as a range [low, high]: "6–9×" on the 10-class tasks
(v1 §5.2), "about 3–5×" on binary MNIST and "about 1×" on binary CIFAR-10 (v1 §5.2, Table 3). "About 1×" has no
stated width; (0.67, 1.5) — within a factor 1.5 either way — is our reading of it."""

RATIO_CLAIMS_V2: tuple[float, float] = (2.0, 9.0)
"""v2 abstract: MLP-Attn is "2–9×" more malleable, over all tasks."""

HEADLINE_RATIOS: dict[tuple[str, str], float] = {
    ("mnist", "pgd"): 8.8, ("mnist", "fgsm"): 8.4, ("cifar10", "fgsm"): 8.0, ("cifar10", "pgd"): 6.2,
}
"""v1 §5.2 headline ratios quoted in the text: (task, attack) -> MLP-Attn / 2L-ReLU flip-rate ratio."""

_TABLES = {"table2": TABLE2, "table3": TABLE3, "table4": TABLE4}


def table_frame(name: str) -> pd.DataFrame:
    """Table 2, 3 or 4 as a tidy frame: columns task, arch, column (attack or training), value (%).

    name: "table2" | "table3" | "table4". The paper's tables as printed are a pivot of this frame.
    """
    if name not in _TABLES:
        raise ValueError(f"name must be one of {sorted(_TABLES)}, got {name!r}")
    return pd.DataFrame([{"task": task, "arch": arch, "column": col, "value": value}
                         for (task, arch), cols in _TABLES[name].items() for col, value in cols.items()])


def _check() -> None:
    # The paper's own arithmetic, so a typo here shows at import: v1's thresholds are kappa^6 rounded to the
    # decade; each headline ratio is its table's quotient to within the table's rounding.
    for name, kappa in KAPPA.items():
        if abs(math.log10(kappa**6) - math.log10(THRESHOLDS_V1[name])) >= 1:
            raise AssertionError(f"v1 threshold of {name} is not kappa^6 to the decade")
    for (task, attack), ratio in HEADLINE_RATIOS.items():
        quotient = TABLE2[(task, "attn")][attack] / TABLE2[(task, "relu")][attack]
        if abs(quotient - ratio) >= 0.2:
            raise AssertionError(f"headline ratio {task}/{attack} disagrees with Table 2")


_check()
