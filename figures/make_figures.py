"""Regenerate every PNG in figures/ from the library (`make figures`)."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported (by fido_lib.plotting): no window, any machine

import matplotlib.pyplot as plt  # noqa: E402

from fido_lib import classifiers, fido, images, plotting  # noqa: E402
from fido_lib.experiments import mask_quality  # noqa: E402
from fido_lib.experiments import variance as V  # noqa: E402

HERE = Path(__file__).resolve().parent
FIGURES = {}  # name -> function(path) that writes the PNG


def figure(name):
    def register(fn):
        FIGURES[name] = fn
        return fn
    return register


def _save(fig, path, dpi=120):
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


# ---------------------------------------------------------------- gradient variance (notebook 05)
@functools.cache
def _variance_result(which):
    # 30 runs x 100 iterations each, the same seeds and settings as notebook 05: the published
    # optimiser AdamW(lr=10, eps=0.1, weight_decay=0), paired noise. "published" and "ablation" use
    # the supplement's text (one input for all runs); "ablation_per_run" its Fig. 1 caption (30 inputs).
    if which == "published":
        return V.run_experiment(V.PUBLISHED_ARMS)
    if which == "ablation_per_run":
        return V.run_experiment(V.ABLATION_ARMS, inputs="per_run")
    return V.run_experiment(V.ABLATION_ARMS)


def _titled(fig, title):
    fig.suptitle(title, fontsize="medium")
    return fig


@figure("fig1a_gradient_norms")
def _fig1a(path):
    fig = plotting.plot_gradient_norms(_variance_result("published"))
    _save(_titled(fig, "Fig. 1a, first reading: one input for all 30 runs"), path)


@figure("fig1b_gradient_std")
def _fig1b(path):
    fig = plotting.plot_across_run_std(_variance_result("published"))
    _save(_titled(fig, "Fig. 1b, first reading: one input for all 30 runs"), path)


@figure("fig1_per_run_inputs")
def _fig1_per_run(path):
    fig = plotting.plot_figure1(_variance_result("ablation_per_run"), labels=["gal T=0.1", "paper T=1.0"])
    _save(_titled(fig, "Fig. 1, second reading: a different random input in each of the 30 runs"), path)


@figure("variance_ablation")
def _variance_ablation(path):
    fig = plotting.plot_variance_ablation(_variance_result("ablation"))
    fig.suptitle(fig.get_suptitle() + "; first reading (one input)")
    _save(fig, path)


# ---------------------------------------------------------------- FIDO masks (notebook 04)
@figure("fido_chelsea_stable_vs_paper")
def _fido_chelsea(path):
    """SSR / SDR / joint maps of the cat photo (EfficientNet-Lite0, top-1 class, FidoConfig()
    defaults), the library's stable relaxation above the paper's Function: two fits."""
    clf = classifiers.load("efficientnet_lite0")
    photo = images.sample("chelsea")
    target = clf.top_k(photo, 1)[0][0]
    config = fido.FidoConfig()
    results = {r: fido.fit(clf, photo, target, config.replace(relaxation=r), progress=False)
               for r in ("stable", "paper")}
    _save(plotting.plot_fido_comparison(results), path, dpi=80)


# ---------------------------------------------------------------- mask quality (notebook 06)
@figure("mask_quality")
def _mask_quality(path):
    """Mask quality against mini-batch size as paired differences (the three comparisons of
    notebook 06), from the shipped study (``python -m fido_lib.experiments.mask_quality --out PATH``
    reruns it)."""
    study = mask_quality.load_results()
    comparisons = {
        "simplified T=1 - Gal T=0.1 (published)": (("stable", 1.0), ("gal", 0.1)),
        "simplified T=1 - simplified T=0.1": (("stable", 1.0), ("stable", 0.1)),
        "simplified T=0.1 - Gal T=0.1": (("stable", 0.1), ("gal", 0.1)),
    }
    shown = ("ssr_mass", "sdr_mass", "ssr_agree", "ssr_tv")
    differences = {name: {m: [mask_quality.paired_difference(study, m, (*a, b), (*b_, b))
                              for b in study.config["batch_sizes"]] for m in shown}
                   for name, (a, b_) in comparisons.items()}
    fig = plotting.plot_paired_differences(differences, study.config["batch_sizes"], shown,
                                           colours=dict(zip(comparisons, ["#CC79A7", "#56B4E9", "#000000"])))
    _save(fig, path, dpi=110)


def main(names=None):
    for name in names or FIGURES:
        if name not in FIGURES:
            raise SystemExit(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
        path = HERE / f"{name}.png"
        FIGURES[name](path)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
