"""Chapter 4's knobs and profiles (`MalleabilitySpec`): what the notebook's parameters cell and the command line
set. Outside the result cache's key (the resolved knobs enter it as each unit's parameters), so editing a doc, a
profile or a recorded run time here keeps every cached and stored result."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ntkbook.spec import Spec, knob, require
from ntkbook.specs.vocabulary import ARCHITECTURES, ATTACKS, L2_FORMS, LOSSES, READINGS, TASK_NAMES

__all__ = ["MalleabilitySpec", "PROTOCOLS"]

PROTOCOLS = ("a", "b")


@dataclasses.dataclass(frozen=True)
class MalleabilitySpec(Spec):
    """Every knob of chapter 4; the tuples are the axes of the specification grid (`READINGS`, `PROTOCOLS`,
    `ATTACKS` share one training). Each knob is documented where it is declared; the poisoning experiment trains
    with each task's paper loss at the largest width and the first n of the grid."""

    tasks: tuple[str, ...] = knob(("mnist",), type=str, choices=TASK_NAMES,
                                  doc='tasks trained normally, e.g. ["mnist", "mnist-3v8"]')
    adv_tasks: tuple[str, ...] = knob((), type=str, choices=TASK_NAMES, min_len=0,
                                      doc="tasks also trained with PGD adversarial training (Table 4)")
    archs: tuple[str, ...] = knob(ARCHITECTURES, type=str, choices=ARCHITECTURES,
                                  doc='["relu", "attn"]')
    seeds: tuple[int, ...] = knob((0, 1, 2), type=int, low=0,
                                  doc="one unit per seed: split, initialisation and minibatch order follow it")
    losses: tuple[str, ...] = knob(("xent", "mse"), type=str, choices=LOSSES,
                                   doc='grid: influence losses ["xent", "mse"] (training: the task\'s paper loss; '
                                   'a one-output binary network is scored with "mse" only)')
    l2_forms: tuple[str, ...] = knob(L2_FORMS, type=str, choices=L2_FORMS, doc='grid: ["w", "w-w0", '
                                     '"none"] (lambda ||W||^2, lambda ||W - W0||^2, no penalty)')
    widths: tuple[int, ...] = knob((256,), type=int, low=1, doc="grid: hidden units m")
    n_trains: tuple[int, ...] = knob((200,), type=int, low=10, doc="grid: training points n")
    readings: tuple[str, ...] = knob(READINGS, type=str, choices=READINGS,
                                     doc='grid: influence through the ["kernel", "network"]')
    protocols: tuple[str, ...] = knob(PROTOCOLS, type=str, choices=PROTOCOLS,
                                      doc='grid: ["a", "b"] (same weights / retrained after the attack)')
    attacks: tuple[str, ...] = knob(("pgd", "random"), type=str, choices=ATTACKS, doc='grid: among ["fgsm", "pgd", '
                                    '"mim", "random"] ("random": same-budget control)')
    n_test: int = knob(200, type=int, low=10, doc="test points (influence on their total loss; accuracies)")
    epochs: int = knob(100, type=int, low=1, doc="Adam epochs")
    batch_size: int = knob(128, type=int, low=1, doc="Adam minibatch size")
    learning_rate: float = knob(1e-2, type=float, low=0, low_open=True, doc="Adam learning rate")
    l2: float = knob(1e-3, type=float, low=0, doc="lambda of the L2 penalty")
    ridge: float = knob(1e-3, type=float, low=0, low_open=True, doc="lambda in (K_m + lambda I)^-1, both readings")
    tau: float = knob(0.1, type=float, low=0, high=1, low_open=True, doc="top fraction whose sign flips are counted")
    eps: float = knob(0.3, type=float, low=0, low_open=True, doc="l_inf budget in pixel space")
    steps: int = knob(10, type=int, low=1, doc="PGD / MIM iterations")
    step_size: float | None = knob(None, type=float, low=0, low_open=True, none_ok=True,
                                   doc="None: 2.5 eps / steps (PGD), eps / steps (MIM)")
    decay: float = knob(1.0, type=float, low=0, doc="MIM momentum")
    adv_rounds: int = knob(5, type=int, low=1, doc="how often adversarial training refreshes its PGD attack")
    eps_sweep: tuple[float, ...] = knob((), type=float, low=0, low_open=True, min_len=0, distinct=True,
                                        doc="the eps sweep: further budgets at which the grid's first configuration "
                                        "is attacked again (standard training)")
    eps_sweep_seeds: int = knob(30, type=int, low=1, doc="the eps sweep runs the first this many seeds")
    poison_tasks: tuple[str, ...] = knob(("mnist-3v8",), type=str, choices=TASK_NAMES, min_len=0,
                                         doc="tasks of the poisoning experiment")
    poison_fractions: tuple[float, ...] = knob((0.05, 0.2), type=float, low=0, high=1, low_open=True,
                                               doc="fractions of the training set the poisoner may move")
    poison_targets: int = knob(15, type=int, low=1, doc="targets per seed (correctly classified test points)")
    poison_l2_form: str = knob("none", type=str, choices=L2_FORMS,
                               doc="L2 form the poisoned networks are trained with")
    poison_protocols: tuple[str, ...] = knob(("a",), type=str, choices=PROTOCOLS, min_len=0,
                                             doc='["a"] or ["a", "b"]')
    poison_seeds: int | None = knob(None, type=int, low=1, none_ok=True,
                                    doc="poisoning runs the first this many seeds (None: every seed)")

    PROFILES: ClassVar[dict[str, dict]] = {
        "quick": {
            "seeds": (0, 1), "losses": ("xent",), "l2_forms": ("w", "none"), "widths": (128,), "n_trains": (80,),
            "n_test": 80, "epochs": 30, "steps": 5, "protocols": ("a",), "poison_fractions": (0.2,),
            "poison_targets": 4,
        },
        # MNIST (Table 2) and binary MNIST 3 vs 8 (Table 3), so that both tables get a verdict at default
        "default": {"tasks": ("mnist", "mnist-3v8")},
        # the configurations that can decide Table 2 on MNIST (both models learn there: the paper's cross-entropy,
        # no penalty), sized by the operating-characteristics harness (`report.verdict_tests`, rule
        # "excess-ratio-band": 60 counted seeds of 50 top points give power >= 0.8; 70 leave room for seeds the
        # learned screen excludes); about 10 CPU-s a unit, 140 units
        # Table 3's binary MNIST (3 vs 8) rides on the same design: its one-output networks are scored with squared
        # error, the paper's loss there (about 5-7 CPU-s a unit, 140 units)
        "decisive": {
            "tasks": ("mnist", "mnist-3v8"), "seeds": tuple(range(70)), "losses": ("xent",), "l2_forms": ("none",),
            "widths": (256,), "n_trains": (500,), "readings": ("kernel",), "protocols": ("a",),
            "attacks": ("fgsm", "pgd", "mim", "random"), "n_test": 500,
            # the eps sweep (the paper's budgets 0.1, 0.2, 0.3, 0.5; 0.3 is the grid's) on the first 30 seeds: a
            # direction (is MLP-Attn's excess flip rate above 2L-ReLU's at every budget?), not a band, to decide
            "eps_sweep": (0.1, 0.2, 0.5), "eps_sweep_seeds": 30,
            # poisoning on the deciding task, under both protocols, on the first 10 seeds: the paired rule
            # ("paired-poisoning", per-seed MLP-Attn minus 2L-ReLU success) has power 0.9 at an effect of one
            # seed-to-seed SD there; measured 40-55 CPU-s a unit under (a), 80-120 under (a) and (b)
            "poison_tasks": ("mnist",), "poison_seeds": 10, "poison_protocols": ("a", "b"),
        },
        "paper": {
            "tasks": ("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air"), "adv_tasks": ("mnist", "cifar10"),
            "seeds": (0, 1, 2, 3, 4, 5), "widths": (256, 1024), "n_trains": (200, 500),
            "attacks": ("fgsm", "pgd", "mim", "random"), "n_test": 500, "epochs": 300, "adv_rounds": 20,
            "poison_tasks": ("mnist", "mnist-3v8", "cifar10-auto-air"), "poison_fractions": (0.02, 0.05, 0.2),
            "poison_targets": 20, "poison_protocols": ("a", "b"), "eps_sweep": (0.1, 0.2, 0.5), "eps_sweep_seeds": 6,
        },
    }
    #: CPU seconds (user + system of papermill and its kernel) of the whole chapter notebook from an empty result
    #: cache and store, on the 2-core reference machine at a load average of 1-2 (benchmarks/bench_chapters.py,
    #: 2026-12-07; benchmarks/results/chapters.md has the wall seconds beside them).
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 40.0, "default": 216.0}

    @property
    def poisoning_seeds(self) -> tuple[int, ...]:
        """The seeds of the poisoning experiment: the first `poison_seeds` of `seeds` (all of them if None)."""
        return tuple(self.seeds if self.poison_seeds is None else self.seeds[:self.poison_seeds])

    def check(self) -> None:
        require(self.adv_rounds <= self.epochs, "adv_rounds", f"<= epochs ({self.epochs})", self.adv_rounds)
