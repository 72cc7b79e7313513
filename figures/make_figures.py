"""Regenerate every PNG in figures/ from the library (`make figures`)."""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
FIGURES = {}  # name -> function(path) that writes the PNG


def figure(name):
    def register(fn):
        FIGURES[name] = fn
        return fn
    return register


# ==== gradient variance (notebook 05) ====
import functools  # noqa: E402


@functools.lru_cache(maxsize=None)
def _variance_result(which):
    # 30 runs x 100 iterations each, the same seeds and settings as notebook 05
    from fido_lib import variance as V

    if which == "published":  # the authors' settings (noise paired, as in the notebook)
        return V.run_experiment(V.PUBLISHED_ARMS)
    return V.run_experiment(V.ABLATION_ARMS)


def _save(fig, path):
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)


@figure("fig1a_gradient_norms")
def _fig1a(path):
    from fido_lib.plotting import plot_gradient_norms

    _save(plot_gradient_norms(_variance_result("published")), path)


@figure("fig1b_gradient_std")
def _fig1b(path):
    from fido_lib.plotting import plot_across_run_std

    _save(plot_across_run_std(_variance_result("published")), path)


@figure("variance_ablation")
def _variance_ablation(path):
    from fido_lib.plotting import plot_variance_ablation

    _save(plot_variance_ablation(_variance_result("ablation")), path)
# ==== end variance ====

# ==== FIDO masks (notebook 04) ====
@figure("fido_chelsea_stable_vs_paper")
def _fido_chelsea(path):
    """SSR / SDR / joint maps of the cat photo (EfficientNet-Lite0, top-1 class, FidoConfig()
    defaults), the library's stable relaxation above the paper's Function: two fits."""
    import matplotlib.pyplot as plt

    from fido_lib import classifiers, fido, images, plotting

    clf = classifiers.load("efficientnet_lite0")
    photo = images.sample("chelsea")
    target = clf.top_k(photo, 1)[0][0]
    config = fido.FidoConfig()
    results = {r: fido.fit(clf, photo, target, config.replace(relaxation=r), progress=False) for r in ("stable", "paper")}
    fig = plotting.plot_fido_comparison(results)
    fig.savefig(path, dpi=80)
    plt.close(fig)
# ==== end fido ====

# ==== mask quality (notebook 06) ====
@figure("mask_quality")
def _mask_quality(path):
    """Mask quality against mini-batch size, from the stored study (python -m fido_lib.mask_quality)."""
    import matplotlib.pyplot as plt

    from fido_lib import mask_quality, plotting

    fig = plotting.plot_mask_quality(mask_quality.load_results(),
                                     metrics=("ssr_mass", "sdr_mass", "ssr_agree", "seconds"))
    fig.savefig(path, dpi=110)
    plt.close(fig)
# ==== end mask quality ====


def main(names=None):
    for name in names or FIGURES:
        if name not in FIGURES:
            raise SystemExit(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
        path = HERE / f"{name}.png"
        FIGURES[name](path)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
