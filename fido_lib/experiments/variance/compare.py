"""Comparing two arms of a variance experiment run by run: :func:`compare` and its :class:`Comparison`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._util import check_choice
from ...stats import MEASURES, across_run_std, bootstrap_median_ratio_ci, sign_test, wilcoxon_signed_rank
from .storage import VarianceResult

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """Arm ``b`` against arm ``a`` on a per-run measure of the gradient-norm trace."""

    a: str
    b: str
    measure: str  # "std" (per-run std) or "step" (per-run step-to-step noise)
    skip: int
    runs: int  # runs compared
    left_out: int  # runs left out because either arm's gradient turned NaN/inf
    paired: bool  # whether the arms shared their noise (else runs are matched by index only)
    b_lower: int
    a_lower: int
    median_ratio: float  # median over runs of measure_b / measure_a
    ci: tuple  # seeded bootstrap 95 % interval of that median
    p_sign: float
    p_wilcoxon: float
    across_run_ratio: float  # median over iterations of across-run std, b / a
    across_ci: tuple = (float("nan"), float("nan"))  # seeded bootstrap 95 % interval of it (runs resampled in pairs)

    def __str__(self):
        return (
            f"{self.b} vs {self.a} ({self.measure}, iterations {self.skip}+): lower for {self.b} in "
            f"{self.b_lower}/{self.runs} runs, for {self.a} in {self.a_lower}; median ratio "
            f"{self.median_ratio:.3f} [95% CI {self.ci[0]:.3f}, {self.ci[1]:.3f}]; sign test p = "
            f"{self.p_sign:.2g}, Wilcoxon p = {self.p_wilcoxon:.2g}; across-run std ratio "
            f"{self.across_run_ratio:.3f} [{self.across_ci[0]:.3f}, {self.across_ci[1]:.3f}]"
            + (f"; {self.left_out} stopped run(s) left out" if self.left_out else "")
            + ("" if self.paired else "; noise NOT paired: runs matched by index only")
        )


def compare(
    result: VarianceResult,
    a: str,
    b: str,
    *,
    measure: str = "std",
    skip: int = 0,
    data_term: bool = False,
    seed: int = 0,
    n_boot: int = 10_000,
) -> Comparison:
    """Paired statistics of arm ``b`` against arm ``a`` (same runs, ideally paired noise).

    Per run, ``measure`` of the gradient-norm trace from iteration ``skip`` on:
    ``"std"`` (:func:`fido_lib.stats.per_run_std`) or ``"step"``
    (:func:`fido_lib.stats.per_run_step_noise`); ``data_term=True`` uses the data
    term's gradient instead of the full one. Reports how many runs favour each arm,
    the median ratio ``b / a`` with a seeded bootstrap 95 % CI, an exact sign test,
    an exact Wilcoxon signed-rank test, and the median over iterations of the ratio
    of across-run stds (the supplement's Fig. 1b) with a seeded bootstrap 95 % CI
    over runs (``min(n_boot, 1000)`` resamples of whole runs, both arms' run k
    together). Runs stopped by a NaN/inf gradient in either arm are left
    out (and counted in ``left_out``). The paired tests assume paired noise; on a
    ``paired=False`` result run k of one arm is matched with run k of the other only
    by its index (``paired`` says so).
    """
    check_choice("measure", measure, MEASURES)
    traces = result.data_grad_norm if data_term else result.grad_norm
    ta, tb = traces[result.index(a)], traces[result.index(b)]
    # runs stopped by a NaN/inf gradient (in either arm) have no measure: left out
    complete = ~(np.isnan(ta).any(1) | np.isnan(tb).any(1))
    if complete.sum() < 2:
        raise ValueError(
            f"arms {a!r} and {b!r} have {int(complete.sum())} run(s) without NaN/inf gradients; "
            "a comparison needs at least 2 (see VarianceResult.stopped_runs)"
        )
    ta, tb = ta[complete], tb[complete]
    sa, sb = MEASURES[measure](ta, skip), MEASURES[measure](tb, skip)
    median, ci = bootstrap_median_ratio_ci(sb, sa, n_boot=n_boot, seed=seed)
    across = np.median(across_run_std(tb[:, skip:]) / across_run_std(ta[:, skip:]))
    across_ci = _across_ratio_ci(ta[:, skip:], tb[:, skip:], n_boot=min(n_boot, 1000), seed=seed)
    return Comparison(
        a=a,
        b=b,
        measure=measure,
        skip=skip,
        runs=sa.size,
        left_out=int((~complete).sum()),
        paired=bool(result.metadata.get("config", {}).get("paired", True)),
        b_lower=int((sb < sa).sum()),
        a_lower=int((sa < sb).sum()),
        median_ratio=median,
        ci=ci,
        p_sign=sign_test(sb, sa),
        p_wilcoxon=wilcoxon_signed_rank(sb, sa)[1],
        across_run_ratio=float(across),
        across_ci=across_ci,
    )


def _across_ratio_ci(ta, tb, *, n_boot, seed, level=0.95):
    """Percentile-bootstrap interval of ``median_i(std_runs(tb[:, i]) / std_runs(ta[:, i]))``.

    Whole runs are resampled, run k of both arms together (the noise is paired), from
    ``numpy.random.default_rng(seed)``; :func:`fido_lib.stats.bootstrap_ci` resamples
    single values, not rows of two traces, hence this loop over chunks.
    """
    rng = np.random.default_rng(seed)
    runs = ta.shape[0]
    ratios = []
    for start in range(0, n_boot, 250):  # chunks keep the (resamples, runs, iterations) arrays small
        idx = rng.integers(0, runs, size=(min(250, n_boot - start), runs))
        sa, sb = ta[idx].std(axis=1, ddof=1), tb[idx].std(axis=1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):  # a resample of one repeated run has std 0
            ratios.append(np.median(sb / sa, axis=1))
    ratios = np.concatenate(ratios)
    alpha = (1 - level) / 2
    low, high = np.nanquantile(ratios, [alpha, 1 - alpha])
    return float(low), float(high)
