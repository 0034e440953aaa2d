"""Chapter 3's known-answer check of its own instrument: the linearised network's rate in the regime where it is
known.

The linearised network f_lin and the infinite-width counterpart f_NTK differ only through the finite-width
fluctuation of the kernel at initialisation, Θ_m − Θ_∞ = O_p(m^(−1/2)). To first order in that fluctuation the
difference of their predictions after T steps of GD is linear in it, so ||f_lin(T) − f_NTK(T)|| ∝ m^(−1/2) — as long
as the first-order term dominates: where the fluctuation is small (large widths) and the training time short (the
grid's first T). Why the slope flattens at later T is not tested here; the chapter shows that it does.
`early_lin_rate_verdicts` reads the chapter's slope instrument there: GD, the grid's first T, the larger half of the widths (`larger_half`), per (data set, model) on
raw inputs. Where it reads −1/2, the instrument that measures Table 1's slopes reads the known answer; the
last-T, all-width reading (`reference_verdicts`) then says what training time and small widths add.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ntkbook import claims
from ntkbook.claims import Verdict
from ntkbook.labels import DATASET_LABELS
from ntkbook.models import MODEL_LABELS
from ntkbook.report.ntk_distance_rules import (
    CHAPTER,
    SECTIONS,
    _gate_words,
    half_slopes_per_seed,
    larger_half,
    mean_interval,
    trend_design,
)
from ntkbook.report.ntk_distance_tables import _times

__all__ = ["GROUPS", "early_lin_rate_verdicts"]

#: (data set, model) of every verdict, in Table 1's order: a group outside the profile is "not run", so that each
#: verdict (and its glued status) exists at every profile
GROUPS = tuple((d, a) for d in ("mnist", "cifar10") for a in ("relu", "attn"))


def early_lin_rate_verdicts(spec, runs: pd.DataFrame, config: dict | None = None) -> list[Verdict]:
    """Per (data set, model) under GD on raw inputs: the mean per-seed log–log slope of ||f_lin(T₁) − f_NTK(T₁)||
    against m over the larger half of the widths, at the grid's first step count T₁ (column `lin_dist_inf_t{T₁}`),
    95 % t-interval; holds if it lies within −1/2 ± `RATE_MARGIN` (`claims.equivalence_rule`), does not hold if
    wholly outside; gated by the design at that group's own seed-to-seed SD of these slopes. "not evaluable" with
    fewer than 4 widths (no larger half with a slope) or no per-time column, "not run" for a group of `GROUPS`
    without rows. No training gate: the quantity is a property of the kernels at initialisation and the objective. `config`: the chapter's configuration knobs."""
    from ntkbook.known_answers import RATE_MARGIN

    gd = runs[(runs["protocol"] == "gd") & (runs["centred"] == False)] if len(runs) else runs  # noqa: E712
    widths = sorted(gd["width"].unique()) if len(gd) else []
    half = larger_half(widths)
    times = _times(gd, "lin_dist_inf") if len(gd) else []
    out = []
    halves = half_slopes_per_seed(gd, f"lin_dist_inf_t{times[0]}") if times and half else pd.DataFrame()
    for dataset, arch in GROUPS:
        late = halves[(halves["dataset"] == dataset) & (halves["arch"] == arch)]["late"] if len(halves) else []
        mean, iv = mean_interval(late)
        sd = float(np.std(np.asarray(late, np.float64), ddof=1)) if len(late) >= 2 else float("nan")
        # the lin-rate simulation draws per-seed slopes: it depends on the seeds and this SD, not on the widths
        design = trend_design(spec, sd, "lin-rate") if half else None
        where = (f"m = {half[0]}–{half[-1]}" if half else "the larger half of the widths")
        rule = (f"GD at the grid's first T{f' (T = {times[0]})' if times else ''}, {where}: per-seed log–log slope "
                "of ||f_lin − f_NTK|| against m, 95 % t-interval; holds if it lies within -1/2 +- "
                f"{RATE_MARGIN:g} (equivalence), does not hold if wholly outside; simulated with this group's "
                "seed-to-seed SD of these slopes" + (f" (SD {sd:.3f})" if design is not None else "")
                + _gate_words(design))
        ran = bool(len(gd)) and bool(((gd["dataset"] == dataset) & (gd["arch"] == arch)).any())
        if not ran:
            status, rule = claims.NOT_RUN, "not run in this profile"
        elif iv is None:
            status = claims.NOT_EVALUABLE
            rule += "; not evaluable: needs 4 widths or more, per-time distances and 2 seeds"
        else:
            status = claims.equivalence_rule(iv, RATE_MARGIN, centre=-0.5)
            if design is not None:
                status = claims.gated(status, design)
        out.append(Verdict(
            claim=f"table1.lin-rate-early.gd.{dataset}.{MODEL_LABELS[arch]}",
            statement=(f"known answer: early in GD training and at the larger widths, the linearised "
                       f"{MODEL_LABELS[arch]} ({DATASET_LABELS.get(dataset, dataset)}) approaches the infinite-width "
                       "counterpart like m^(-1/2)"),
            status=status, paper_value="m^(-1/2) (first order in the kernel's fluctuation)",
            ours=None if not np.isfinite(mean) else float(mean),
            interval=None if iv is None else (float(iv[0]), float(iv[1])), rule=rule, profile=spec.profile,
            config={**(config or {}), "protocol": "gd", "T": times[0] if times else None,
                    "larger_widths": tuple(int(w) for w in half)},
            section=SECTIONS["table1"], chapter=CHAPTER, beyond_paper=True, design=design.name if design else ""))
    return out
