"""How the shipped toy-bird in-filler was trained, and how close its fills come to the exact counterfactual.

``python -m fido_lib.experiments.inpainter_training train [--out PATH]`` trains a
:class:`~fido_lib.inpainter.InpaintingNet` with :data:`TRAIN_RECIPE` and writes
``PATH`` (default ``toy_birds_inpainter.pt`` in the current directory; the shipped
weights are overwritten only when ``--out`` names them), then evaluates it;
``… evaluate [--weights PATH]`` evaluates the shipped (or given) weights only.

Training data: :func:`fido_lib.toy_birds.make_birds` images (their own seed, never the
test or study seeds) and random drop masks (:func:`random_masks`) of three kinds —
FIDO-like relaxed samples of random smooth logits, the crest grown by a random radius
(so that a fully hidden crest is common enough to learn), and random ellipses. Loss:
the relaxed winner-takes-all L1 error per ``cell × cell`` block on the dropped pixels,
plus the cross-entropy of the choice logits on each block's winner
(:mod:`fido_lib.inpainter`). Two choices of :data:`TRAIN_RECIPE` come from a first
recipe that failed (16-px blocks, 5 hypotheses, no weights; measured with
:func:`evaluate`: crest colour error 0.56, no better than blur's 0.57): with small
blocks the winner was decided by the background, so the hypotheses became global
colour tints. So the winner is taken over the whole image (``cell = 64``, four
hypotheses: one per crest colour can win) and the crest's pixels weigh
``1 + crest_weight`` times in the error — the only multi-modal part that matters for
the class is 0.7 % of the image. The ground-truth crest mask is used in training only;
the in-filler sees the kept pixels and the drop mask, nothing else.

Evaluation (:func:`evaluate`): on held-out birds, the crest is hidden (the crest grown
by 3 px is dropped) and each in-fill fills it; the classifier's verdict on the filled
images is compared with the verdict on the exact counterfactual (the crest repainted
from the data's prior, :class:`~fido_lib.toy_birds.CrestCounterfactual`):

* ``class_tv`` — total-variation distance between the histogram of predicted classes
  and the exact counterfactual's (0 = the classifier cannot tell them apart in
  aggregate; the exact counterfactual's own histogram is about uniform);
* ``original_class`` — share of fills the classifier still assigns the original class
  (the exact counterfactual: about 1/4, the prior's share of that colour);
* ``crest_colour_error`` — mean distance (RGB, per pixel) of the filled crest to the
  nearest class colour of the prior (0 = a colour the data has);
* ``outside_error`` — mean absolute error of the fill on the dropped pixels outside
  the crest (the exact counterfactual leaves them as they are: 0).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import toy_birds
from .._util import check_int, check_real, num_threads
from ..classifiers import load as load_classifier
from ..concrete import make_generator
from ..infill import LearnedInfill, SurroundInfill, make_infill
from ..inpainter import WEIGHTS_PATH, InpaintingNet, load_inpainter
from ..metrics import _dilate
from ..timing import cpu_name, load_average

__all__ = [
    "EVALUATION_METRICS",
    "EVAL_SEED",
    "REGIONS",
    "REPORT_PATH",
    "TRAIN_RECIPE",
    "evaluate",
    "format_evaluation",
    "hidden_crest_fills",
    "load_report",
    "main",
    "original_class_share",
    "random_masks",
    "train_inpainter",
]

#: The recipe the shipped weights were trained with (``seed`` drives data, masks and initialisation).
TRAIN_RECIPE = dict(seed=7, n_train=8000, steps=900, batch_size=24, lr=3e-3, width=8, hypotheses=4, cell=64,
                    epsilon=0.05, choice_weight=0.1, crest_weight=10.0)
#: Seed of the held-out birds of :func:`evaluate` (used nowhere else).
EVAL_SEED = 4_000_037
#: What :func:`evaluate` measures per in-fill (module docstring).
EVALUATION_METRICS = ("class_tv", "original_class", "crest_colour_error", "outside_error")


# ---------------------------------------------------------------------- masks
def random_masks(part_masks: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random drop mask ``N×1×H×W`` in [0, 1] per image, of three kinds (in thirds, drawn per image):

    * FIDO-like: smooth random drop logits on a 7×7 or 14×14 grid, a random offset,
      a Concrete sample at T = 0.3 on a 28×28 grid, upsampled bilinearly;
    * the crest (``part_masks``, ``N×H×W`` bool) grown by 1–6 px, hard;
    * one to three random ellipses, hard.
    """
    n, h, w = part_masks.shape
    g = generator
    kind = torch.randint(3, (n,), generator=g)
    coarse = 7 if float(torch.rand(1, generator=g)) < 0.5 else 14
    theta = F.interpolate(2.0 * torch.randn(n, 1, coarse, coarse, generator=g), size=(28, 28), mode="bilinear",
                          align_corners=False) + (6 * torch.rand(n, 1, 1, 1, generator=g) - 3)
    u = torch.rand(n, 1, 28, 28, generator=g).clamp(1e-6, 1 - 1e-6)
    fido_like = F.interpolate(torch.sigmoid((theta + torch.log(u) - torch.log1p(-u)) / 0.3), size=(h, w),
                              mode="bilinear", align_corners=False)
    radius = 1 + 5 * torch.rand(n, generator=g)
    crest = torch.stack([_dilate(part_masks[i], float(radius[i])) for i in range(n)]).float().unsqueeze(1)
    ys = torch.arange(h, dtype=torch.float32)[:, None] + 0.5
    xs = torch.arange(w, dtype=torch.float32)[None, :] + 0.5
    ellipses = torch.zeros(n, 1, h, w)
    for _ in range(3):
        c = torch.rand(n, 2, generator=g) * torch.tensor([w, h])
        ab = (0.05 + 0.25 * torch.rand(n, 2, generator=g)) * min(h, w)
        on = (torch.rand(n, generator=g) < 0.7).float()
        inside = ((xs - c[:, 0, None, None]) / ab[:, 0, None, None]) ** 2 + \
                 ((ys - c[:, 1, None, None]) / ab[:, 1, None, None]) ** 2 <= 1
        ellipses = torch.maximum(ellipses, (inside.float() * on[:, None, None]).unsqueeze(1))
    pick = kind.view(n, 1, 1, 1)
    return torch.where(pick == 0, fido_like, torch.where(pick == 1, crest, ellipses))


# ---------------------------------------------------------------------- training
def _wta_loss(net, images, drop, epsilon, choice_weight, weight_map=None):
    proposals, logits = net(images * (1 - drop), drop)
    k, cell = net.hypotheses, net.cell
    if weight_map is not None:  # N×1×H×W per-pixel weights of the error (the crest's pixels count more)
        drop = drop * weight_map
    err = (proposals - images.unsqueeze(1)).abs().sum(2) * drop  # N×K×H×W, dropped pixels only
    per_cell = F.avg_pool2d(err, cell) * cell * cell  # N×K×gh×gw: summed error per block
    dropped = F.avg_pool2d(drop, cell) * cell * cell  # N×1×gh×gw
    winner = per_cell.argmin(1)  # N×gh×gw
    weight = torch.full_like(per_cell, epsilon / max(k - 1, 1)).scatter_(1, winner.unsqueeze(1), 1 - epsilon)
    if k == 1:
        weight = torch.ones_like(per_cell)
    reconstruction = (weight * per_cell).sum() / dropped.sum().clamp_min(1.0)
    # which proposal wins where: learned only where something was dropped
    ce = F.cross_entropy(logits, winner, reduction="none")
    share = dropped[:, 0] / (cell * cell)
    choice = (ce * share).sum() / share.sum().clamp_min(1e-6)
    return reconstruction + choice_weight * choice, float(reconstruction.detach()), float(choice.detach())


def train_inpainter(*, seed=7, n_train=8000, steps=900, batch_size=24, lr=3e-3, width=8, hypotheses=4, cell=8,
                    epsilon=0.05, choice_weight=0.1, crest_weight=10.0, log=None, log_every=100) -> InpaintingNet:
    """Train an :class:`~fido_lib.inpainter.InpaintingNet` on toy birds (see the module docstring).

    Adam with a cosine learning-rate decay from ``lr``; the data, the masks, the batch
    order and the initial weights all come from ``seed`` (torch's global random state
    is left alone): the same arguments and thread count give the same weights.
    ``log(step, reconstruction, choice)`` every ``log_every`` steps when given.
    """
    for name, value, low in (("seed", seed, 0), ("n_train", n_train, 1), ("steps", steps, 1),
                             ("batch_size", batch_size, 1), ("log_every", log_every, 1)):
        check_int(name, value, low=low)
    check_int("steps", steps, high=1_000_000)
    check_int("n_train", n_train, high=200_000)  # 200 000 images of 64×64 are 10 GB
    check_real("lr", lr, low=0.0, high=1.0, low_open=True)
    check_real("epsilon", epsilon, low=0.0, high=1.0, high_open=True)
    check_real("choice_weight", choice_weight, low=0.0)
    check_real("crest_weight", crest_weight, low=0.0)
    if log is not None and not callable(log):
        raise TypeError(f"log must be callable or None, got {type(log).__name__}")
    data = toy_birds.make_birds(n_train, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = InpaintingNet(width=width, hypotheses=hypotheses, cell=cell)
    g = make_generator(seed + 1)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * i / steps)))
    net.train()
    order, pos = torch.randperm(n_train, generator=g), 0
    for step in range(steps):
        if pos + batch_size > n_train:
            order, pos = torch.randperm(n_train, generator=g), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        drop = random_masks(data.part_masks[idx], g)
        weight_map = 1.0 + crest_weight * data.part_masks[idx].float().unsqueeze(1)
        loss, rec, choice = _wta_loss(net, data.images[idx], drop, epsilon, choice_weight, weight_map)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log is not None and (step + 1) % log_every == 0:
            log(step + 1, rec, choice)
    net.requires_grad_(False)
    return net.eval()


# ---------------------------------------------------------------------- evaluation
def _crest_drop(birds, grow=3.0):
    return _dilate(birds.part_masks, grow).float().unsqueeze(1)


def hidden_crest_fills(birds, net=None, *, draw_seed=0, grow=3.0) -> tuple:
    """Each in-fill's fill of the hidden crest of every bird in ``birds`` (a :class:`~fido_lib.toy_birds.BirdImages`
    of 64×64 birds): ``(drop, {name: N×3×H×W fills})`` with ``drop`` the ``N×1×H×W`` mask (the crest grown by
    ``grow`` px) and the names "learned" (``net``, default the shipped one), "exact counterfactual", "surround",
    "blur", "mean", "uniform", "knockoff". The filled images are ``x·(1 - drop) + drop·fill``."""
    if not isinstance(birds, toy_birds.BirdImages):
        raise TypeError(f"birds must be a toy_birds.BirdImages, got {type(birds).__name__}")
    check_int("draw_seed", draw_seed, low=0)
    check_real("grow", grow, low=0.0, high=32.0)
    drop = _crest_drop(birds, grow)
    learned = LearnedInfill(net if net is not None else load_inpainter())
    fills = {}
    with torch.no_grad():
        g = make_generator(draw_seed)
        fills["learned"] = torch.cat([learned(x, d[None], g) for x, d in zip(birds.images, drop)])
        g = make_generator(draw_seed)
        fills["exact counterfactual"] = torch.cat([
            toy_birds.CrestCounterfactual(x, part)(x, d[None], g)
            for x, part, d in zip(birds.images, birds.part_masks, drop)])
        surround = SurroundInfill()
        fills["surround"] = torch.cat([surround(x, d[None]) for x, d in zip(birds.images, drop)])
        for name in ("blur", "mean", "uniform", "knockoff"):
            fills[name] = torch.stack([make_infill(x, name, generator=draw_seed + i)
                                       for i, x in enumerate(birds.images)])
    return drop, fills


def evaluate(net=None, *, n_images=256, seed=EVAL_SEED, classifier=None, draw_seed=0) -> dict:
    """How close each in-fill's fills of a hidden crest come to the exact counterfactual's (module docstring).

    Returns ``{in-fill name: {"class_tv", "original_class", "crest_colour_error", "outside_error"}}``
    for the learned in-filler (``net``, default the shipped one), the exact
    counterfactual, surround, blur, mean, uniform and knockoff, on ``n_images`` held-out birds.
    """
    check_int("n_images", n_images, low=1, high=4096)
    birds = toy_birds.make_birds(n_images, seed=seed)
    clf = load_classifier("toy_birds") if classifier is None else classifier
    drop, fills = hidden_crest_fills(birds, net, draw_seed=draw_seed)
    crest = birds.part_masks.unsqueeze(1)
    outside = (drop > 0.5) & ~crest
    palette = toy_birds.CREST_COLOURS
    out = {}
    for name, fill in fills.items():
        filled = birds.images * (1 - drop) + drop * fill
        with torch.no_grad():
            predicted = clf.logits(filled).argmax(1)
        hist = torch.bincount(predicted, minlength=len(toy_birds.CLASS_NAMES)).double() / n_images
        colours = filled.permute(0, 2, 3, 1)[birds.part_masks]  # P×3
        nearest = torch.cdist(colours.double(), palette.double()).min(1).values
        out[name] = {"hist": hist,
                     "original_class": float((predicted == birds.labels).double().mean()),
                     "crest_colour_error": float(nearest.mean()),
                     "outside_error": float(((fill - birds.images).abs().mean(1, keepdim=True))[outside].mean())
                     if bool(outside.any()) else 0.0}
    reference = out["exact counterfactual"]["hist"]
    for name in out:
        out[name]["class_tv"] = float(0.5 * (out[name].pop("hist") - reference).abs().sum())
    return out


#: The regions :func:`original_class_share` can drop.
REGIONS = ("crest", "crest + 3 px", "body", "all but the crest")


def _region(birds, region):
    crest = birds.part_masks
    if region == "crest":
        return crest
    if region == "crest + 3 px":
        return _dilate(crest, 3.0)
    if region == "body":  # the bird (grown by 2 px) without its crest
        return _dilate(birds.bird_masks, 2.0) & ~crest
    return ~crest


def original_class_share(birds, region="crest", *, level=1.0, net=None, classifier=None, draw_seed=0) -> dict:
    """Why a mask-aware in-fill helps or hurts FIDO: the share of ``birds`` the classifier still
    assigns their own class when ``region`` (one of :data:`REGIONS`) is dropped at ``level``
    (1 = hard; FIDO's relaxed masks are mostly soft) and filled by each in-fill:
    ``{"learned", "exact counterfactual", "blur", "surround": share}``.

    A hidden crest should leave about 1/4 (the prior's share of the bird's own colour, what
    the exact counterfactual gives); a dropped body with the crest kept should leave the
    class as it is (1 for the exact counterfactual, which repaints only the crest).
    """
    if not isinstance(birds, toy_birds.BirdImages):
        raise TypeError(f"birds must be a toy_birds.BirdImages, got {type(birds).__name__}")
    if region not in REGIONS:
        raise ValueError(f"region must be one of {', '.join(map(repr, REGIONS))}; got {region!r}")
    check_real("level", level, low=0.0, high=1.0, low_open=True)
    check_int("draw_seed", draw_seed, low=0)
    clf = load_classifier("toy_birds") if classifier is None else classifier
    drop = _region(birds, region).float().unsqueeze(1) * float(level)
    learned = LearnedInfill(net if net is not None else load_inpainter())
    surround = SurroundInfill()
    out = {}
    with torch.no_grad():
        for name in ("learned", "exact counterfactual", "blur", "surround"):
            g = make_generator(draw_seed)
            filled = []
            for x, part, d in zip(birds.images, birds.part_masks, drop):
                if name == "learned":
                    fill = learned(x, d[None], g)[0]
                elif name == "exact counterfactual":
                    fill = toy_birds.CrestCounterfactual(x, part)(x, d[None], g)[0]
                elif name == "surround":
                    fill = surround(x, d[None])[0]
                else:
                    fill = make_infill(x, "blur", sigma=10.0)
                filled.append((1 - d) * x + d * fill)
            predicted = clf.logits(torch.stack(filled)).argmax(1)
            out[name] = float((predicted == birds.labels).double().mean())
    return out


def format_evaluation(scores: dict) -> str:
    """The evaluation as a table (one row per in-fill)."""
    lines = [f"{'in-fill':22s} {'class TV':>9s} {'orig. class':>12s} {'crest colour err':>17s} {'outside err':>12s}"]
    for name, s in scores.items():
        lines.append(f"{name:22s} {s['class_tv']:9.3f} {s['original_class']:12.3f} "
                     f"{s['crest_colour_error']:17.3f} {s['outside_error']:12.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- command line
#: Where the evaluation of the shipped weights is stored (written by ``train`` beside the weights).
REPORT_PATH = WEIGHTS_PATH.with_suffix(".json")


def load_report(path=REPORT_PATH) -> dict:
    """The stored training report: ``{"recipe", "seconds", "threads", "cpu", "torch", "n_eval",
    "eval_seed", "evaluation": {in-fill: {metric: value}}}`` (checked on load)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no in-filler report at {path}; `python -m fido_lib.experiments.inpainter_training "
                                "train` writes one beside the weights")
    try:
        report = json.loads(path.read_text())
        missing = [k for k in ("recipe", "seconds", "threads", "cpu", "evaluation", "n_eval", "eval_seed")
                   if k not in report]
        if missing:
            raise ValueError(f"it misses {missing}")
        for name, scores in report["evaluation"].items():
            if set(scores) != set(EVALUATION_METRICS):
                raise ValueError(f"evaluation[{name!r}] must hold {EVALUATION_METRICS}, got {sorted(scores)}")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as err:
        raise ValueError(f"{path} is not a valid in-filler report (truncated or edited?): "
                         f"{type(err).__name__}: {err}") from None
    return report


def main(argv=None):
    """The command line: ``train [--out PATH]`` or ``evaluate [--weights PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m fido_lib.experiments.inpainter_training",
                                     description="Train or evaluate the toy-bird in-filler.")
    parser.add_argument("command", choices=["train", "evaluate"])
    # Two threads by default: the shipped weights were trained so (the reduction order of
    # a convolution depends on the thread count; the same count reproduces them bit for bit).
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--out", default="toy_birds_inpainter.pt",
                        help="train: where to write the weights and, beside them, the .json report "
                             "(default: toy_birds_inpainter.pt here)")
    parser.add_argument("--weights", default=None, help="evaluate: the weights to evaluate (default: the shipped ones)")
    parser.add_argument("--steps", type=int, default=None, help="train: fewer steps than the recipe, to try it")
    parser.add_argument("--n-eval", type=int, default=256, help="held-out birds for the evaluation (default 256)")
    args = parser.parse_args(argv)
    check_int("--threads", args.threads, low=1, high=256)
    check_int("--n-eval", args.n_eval, low=1, high=4096)
    with num_threads(args.threads):
        if args.command == "train":
            recipe = dict(TRAIN_RECIPE)
            if args.steps is not None:
                recipe["steps"] = check_int("--steps", args.steps, low=1)
            start, cpu_start = time.perf_counter(), time.process_time()
            net = train_inpainter(**recipe, log=lambda s, r, c: print(f"step {s}: L1 {r:.4f}  choice CE {c:.4f}",
                                                                      flush=True))
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            # float16 halves the file; the network computes in float32 after loading
            torch.save({"config": net.config(), "recipe": recipe,
                        "state": {k: v.half() for k, v in net.state_dict().items()}}, out)
            print(f"trained in {seconds:.0f} s ({cpu_seconds:.0f} s of CPU time) with {torch.get_num_threads()} "
                  f"thread(s) on {cpu_name()}; "
                  f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
            net = load_inpainter(out)
        else:
            net = load_inpainter(args.weights)
        threads = torch.get_num_threads()
        scores = evaluate(net, n_images=args.n_eval)
    print(f"hidden crest (crest grown by 3 px dropped), {args.n_eval} held-out birds (seed {EVAL_SEED}):")
    print(format_evaluation(scores))
    if args.command == "train":
        report = {"recipe": recipe, "seconds": round(seconds, 1), "threads": threads, "cpu": cpu_name(),
                  # CPU time of all threads: on a shared machine, cpu_seconds / threads estimates an idle run
                  "cpu_seconds": round(cpu_seconds, 1),
                  "load_average": load_average(),  # 1/5/15 min at the end: a shared machine's seconds are provisional
                  "torch": torch.__version__, "n_eval": args.n_eval, "eval_seed": EVAL_SEED,
                  "evaluation": {k: {m: round(v, 6) for m, v in s.items()} for k, s in scores.items()}}
        out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
