"""Scoring maps under several removals: metrics.standard_removals, removal_scores, removal_matrix."""
import pytest
import torch

from fido_lib import metrics, toy_birds
from fido_lib.classifiers import load
from fido_lib.infill import make_infill


@pytest.fixture(scope="module")
def clf():
    return load("toy_birds")


@pytest.fixture(scope="module")
def bird():
    b = toy_birds.make_birds(1, seed=777)
    return b.images[0], b.part_masks[0], int(b.labels[0])


def test_standard_removals_are_blur_and_mean(bird):
    x = bird[0]
    r = metrics.standard_removals(x)
    assert set(r) == {"blur", "mean"}
    assert torch.allclose(r["mean"], x.mean((1, 2), keepdim=True).expand_as(x))
    assert torch.allclose(r["blur"], make_infill(x, "blur", sigma=10.0))


def test_one_removal_gives_the_curves_auc(clf, bird, one_thread):
    x, part, label = bird
    sal = part.float() + 0.01 * torch.rand(64, 64, generator=torch.Generator().manual_seed(0))
    base = metrics.standard_removals(x)["mean"]
    got = metrics.removal_scores(clf, x, sal, label, {"mean": base}, steps=8)
    ins = metrics.auc(*metrics.insertion_curve(clf, x, sal, label, steps=8, baseline=base))
    dele = metrics.auc(*metrics.deletion_curve(clf, x, sal, label, steps=8, baseline=base))
    assert got == {"mean": {"insertion": pytest.approx(ins, abs=1e-12), "deletion": pytest.approx(dele, abs=1e-12)}}


def test_a_stack_of_draws_is_averaged_and_kinds_select(clf, bird, one_thread):
    x, part, label = bird
    sal = part.float()
    draws = toy_birds.counterfactual_removals(x, part, 0, exclude=label)
    stack = metrics.removal_scores(clf, x, sal, label, {"cf": draws}, steps=8, kinds=("deletion",))
    assert set(stack["cf"]) == {"deletion"}
    each = [metrics.removal_scores(clf, x, sal, label, {"one": d}, steps=8, kinds=("deletion",))["one"]["deletion"]
            for d in draws]
    assert stack["cf"]["deletion"] == pytest.approx(sum(each) / len(each), abs=1e-12)


def test_the_crest_first_beats_a_random_order_under_the_counterfactual_removal(clf, bird, one_thread):
    x, part, label = bird
    removals = {"cf": toy_birds.counterfactual_removals(x, part, 0, exclude=label)}
    maps = {"crest": part.float(), "random": torch.rand(64, 64, generator=torch.Generator().manual_seed(1))}
    m = metrics.removal_matrix(clf, x, maps, label, removals, steps=16)
    assert set(m) == {"crest", "random"} and set(m["crest"]) == {"cf"}
    assert m["crest"]["cf"]["deletion"] < m["random"]["cf"]["deletion"]
    assert m["crest"]["cf"]["insertion"] > m["random"]["cf"]["insertion"]


@pytest.mark.parametrize("kw, exc, match", [
    ({"removals": []}, TypeError, "removals must be a dict"),
    ({"removals": {}}, ValueError, "at least one removal"),
    ({"removals": {1: None}}, TypeError, "keys"),
    ({"removals": {"a": torch.zeros(3, 8, 8)}}, ValueError, "shape"),
    ({"removals": {"a": torch.zeros(2, 2, 3, 64, 64)}}, ValueError, "K×3×H×W"),
    ({"removals": {"a": torch.full((3, 64, 64), 2.0)}}, ValueError, r"\[0, 1\]"),
    ({"kinds": "insertion"}, TypeError, "kinds"),
    ({"kinds": ("insertion", "auc")}, ValueError, "kinds"),
    ({"kinds": ()}, ValueError, "kinds"),
])
def test_bad_arguments_are_refused_before_any_pass(clf, bird, kw, exc, match):
    x, part, label = bird
    args = {"removals": metrics.standard_removals(x), "kinds": ("insertion", "deletion"), **kw}
    with pytest.raises(exc, match=match):
        metrics.removal_scores(clf, x, part.float(), label, args["removals"], kinds=args["kinds"], steps=4)


@pytest.mark.parametrize("maps, exc, match", [
    ([], TypeError, "maps must be a dict"),
    ({}, ValueError, "at least one map"),
    ({3: torch.zeros(64, 64)}, TypeError, "keys"),
    ({"a": torch.zeros(8, 8)}, ValueError, r"maps\['a'\]"),
    ({"a": torch.zeros(64, 64), "b": torch.full((64, 64), float("nan"))}, ValueError, r"maps\['b'\]"),
])
def test_removal_matrix_checks_every_map_first(clf, bird, maps, exc, match, monkeypatch):
    x = bird[0]
    calls = []
    monkeypatch.setattr(metrics, "_curve", lambda *a, **k: calls.append(1))
    with pytest.raises(exc, match=match):
        metrics.removal_matrix(clf, x, maps, 0, metrics.standard_removals(x), steps=4)
    assert not calls


def test_standard_removals_of_an_image_under_5_px_use_the_metrics_flat_blur():
    # the same blur deletion_curve uses by default: σ capped where it is flat already
    tiny = torch.rand(3, 4, 3, generator=torch.Generator().manual_seed(0))
    removals = metrics.standard_removals(tiny)
    assert set(removals) == {"blur", "mean"}
    assert all(tuple(v.shape) == (3, 4, 3) and bool(torch.isfinite(v).all()) for v in removals.values())
