"""fido_lib.experiments.counterfactual_study and inpainter_training: small runs, storage, statistics, checks."""
import json
import tracemalloc

import numpy as np
import pytest
import torch
from stored_copies import edited_copy

from fido_lib import toy_birds
from fido_lib.experiments import counterfactual_study as cs
from fido_lib.experiments import inpainter_training as it
from fido_lib.inpainter import InpaintingNet


def tiny_config(**kw):
    config = json.loads(json.dumps(cs.STUDY))
    config.update(n_images=3, noise_seeds=[0], infills=["blur", "counterfactual"], steps=4, maps_kept=1)
    config["fido"].update(iterations=2, batch_size=1, mask_size=8)
    config.update(kw)
    return config


@pytest.fixture(scope="module")
def tiny():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return cs.run_study(tiny_config(), images=[0, 2], progress=False)
    finally:
        torch.set_num_threads(old)


def test_a_slice_fills_only_what_it_ran(tiny):
    assert tiny.values["ssr_mass"].shape == (2, 3, 1)
    mass = tiny.values["ssr_mass"][:, :, 0]
    assert np.isfinite(mass[:, [0, 2]]).all() and np.isnan(mass[:, 1]).all()
    assert ((mass[:, [0, 2]] >= 0) & (mass[:, [0, 2]] <= 1)).all()
    # SSR maps carry insertion only, SDR maps deletion only, the references both
    ssr = tiny.methods.index("blur ssr")
    assert np.isfinite(tiny.auc[ssr, :, 0, [0, 2]]).all() and np.isnan(tiny.auc[ssr, :, 1]).all()
    crest = tiny.methods.index("crest")
    assert np.isfinite(tiny.auc[crest][..., [0, 2], :]).all()
    assert np.isfinite(tiny.maps["ssr"]).all()


def test_the_crest_is_the_best_map_under_the_counterfactual_removal(tiny):
    crest = tiny.auc_per_image("crest", "counterfactual", "deletion")[[0, 2]]
    rand = tiny.auc_per_image("random", "counterfactual", "deletion")[[0, 2]]
    assert (crest < rand).all()


def test_a_slice_reproduces_itself(tiny, one_thread):
    again = cs.run_study(tiny_config(), images=[2], infills=["counterfactual"], progress=False)
    f = tiny.infills.index("counterfactual")
    for key in ("ssr_mass", "sdr_iou", "ssr_prob"):
        assert again.values[key][f, 2, 0] == pytest.approx(tiny.values[key][f, 2, 0], abs=1e-9)


def test_save_and_load_round_trip(tiny, tmp_path):
    path = tiny.save(tmp_path / "r.npz")
    summary = json.loads(path.with_suffix(".json").read_text())
    assert {"ground_truth", "removal_matrix", "vs_counterfactual", "conclusions"} <= set(summary["summary"])
    back = cs.load_results(path)
    assert back.config == tiny.config and back.methods == tiny.methods
    np.testing.assert_array_equal(back.auc, tiny.auc)
    for k, v in tiny.values.items():
        np.testing.assert_array_equal(back.values[k], v)


def test_statistics_tables(tiny):
    rows = cs.summary_table(tiny)
    assert [r["infill"] for r in rows] == ["blur", "counterfactual"]
    lo_mean_hi = rows[0]["ssr_mass"]
    assert lo_mean_hi[1] <= lo_mean_hi[0] <= lo_mean_hi[2]
    c = cs.paired_comparison(tiny, "ssr_mass", "blur", "counterfactual")
    assert c["n"] == 2 and 0 < c["wilcoxon_p"] <= 1 and 0 < c["sign_p"] <= 1
    assert len(cs.removal_table(tiny)) == len(tiny.methods) * len(tiny.config["removals"])
    rows = cs.removal_conclusions(tiny)
    assert {(r["a"], r["b"], r["kind"]) for r in rows} == {("blur", "counterfactual", "insertion"),
                                                           ("blur", "counterfactual", "deletion")}
    for r in rows:
        assert set(r["by_removal"]) == set(tiny.config["removals"])
        assert r["survives"] == (len({s["verdict"] for s in r["by_removal"].values()}) == 1)
    text = cs.format_removal_matrix(tiny)
    assert all(m in text for m in tiny.methods) and len(text.splitlines()) == 1 + 2 * 2 + 2 * 2
    with pytest.raises(ValueError, match="in-fills"):
        cs.paired_comparison(tiny, "ssr_mass", "blur", "gan")
    with pytest.raises(ValueError, match="method"):
        tiny.auc_per_image("gan ssr", "blur", "insertion")


def test_a_file_of_another_version_or_shape_is_refused(tiny, tmp_path):
    path = tiny.save(tmp_path / "r.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta["study"]["format_version"] = 99
    np.savez(tmp_path / "v.npz", **{**arrays, "meta": np.array(json.dumps(meta))})
    with pytest.raises(ValueError, match="version"):
        cs.load_results(tmp_path / "v.npz")
    np.savez(tmp_path / "s.npz", **{**arrays, "auc": arrays["auc"][:1]})
    with pytest.raises(ValueError, match="auc must have shape"):
        cs.load_results(tmp_path / "s.npz")
    (tmp_path / "t.npz").write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a valid"):
        cs.load_results(tmp_path / "t.npz")
    with pytest.raises(FileNotFoundError, match="counterfactual_study"):
        cs.load_results(tmp_path / "missing.npz")


@pytest.mark.parametrize("change, match", [
    ({"infills": ["blur", "gan"]}, "infills"),
    ({"infills": []}, "infills"),
    ({"removals": ["blur", "noise"]}, "removals"),
    ({"noise_seeds": []}, "noise_seeds"),
    ({"n_images": 0}, "n_images"),
    ({"format_version": 0}, "format_version"),
])
def test_bad_configs_are_refused(change, match):
    with pytest.raises(ValueError, match=match):
        cs.run_study(tiny_config(**change), progress=False)


def test_bad_slices_are_refused():
    with pytest.raises(ValueError, match="images"):
        cs.run_study(tiny_config(), images=[3], progress=False)
    with pytest.raises(ValueError, match="infills"):
        cs.run_study(tiny_config(), infills=["mean"], progress=False)


def test_make_infill_option():
    b = toy_birds.make_birds(1, seed=2)
    opt, params = cs.make_infill_option("blur", b.images[0], b.part_masks[0], {"blur": {"sigma": 3.0}})
    assert (opt, params) == ("blur", {"sigma": 3.0})
    opt, _ = cs.make_infill_option("counterfactual", b.images[0], b.part_masks[0])
    assert isinstance(opt, toy_birds.CrestCounterfactual)
    with pytest.raises(ValueError, match="infill must be one of"):
        cs.make_infill_option("surround", b.images[0], b.part_masks[0])


# ---------------------------------------------------------------------- the shipped study
def test_the_shipped_study_loads_and_has_every_infill():
    r = cs.load_results()
    assert r.config["format_version"] == cs.FORMAT_VERSION
    assert r.infills == ["blur", "mean", "uniform", "knockoff", "learned", "counterfactual"]
    assert r.config["n_images"] >= 24 and len(r.config["noise_seeds"]) >= 2
    assert np.isfinite(r.values["ssr_mass"]).all() and np.isfinite(r.values["sdr_mass"]).all()


def _edited(tmp_path, name, changes):
    """A copy of the shipped study with arrays replaced (``None``: dropped) or added."""
    return edited_copy(cs.RESULTS_PATH, tmp_path / name, changes)


def test_a_decompression_bomb_is_refused_before_it_is_inflated(tmp_path):
    bomb = _edited(tmp_path, "bomb.npz", {"value_ssr_mass": np.zeros(10**7)})  # 80 MB of zeros
    assert bomb.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as err:
            cs.load_results(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # the member was never inflated
    err.match(r"bomb.npz is not a valid counterfactual-study results file: "
              r"value_ssr_mass must have shape \(6, 24, 2\).*got \(10000000,\)")


def test_a_bomb_behind_a_config_that_claims_it_is_refused_by_the_caps(tmp_path):
    with np.load(cs.RESULTS_PATH) as data:
        meta = json.loads(str(data["meta"]))
    meta["study"]["noise_seeds"] = list(range(500))
    path = _edited(tmp_path, "seeds.npz", {"meta": np.array(json.dumps(meta))})
    with pytest.raises(ValueError, match="500 noise seeds; a stored study has at most 100"):
        cs.load_results(path)
    meta["study"]["noise_seeds"], meta["study"]["n_images"] = list(range(100)), 10_000
    path = _edited(tmp_path, "pairs.npz", {"meta": np.array(json.dumps(meta))})
    with pytest.raises(ValueError, match="1000000 .image, seed. pairs; a stored study has at most 100000"):
        cs.load_results(path)


def _with(key, index, value):
    with np.load(cs.RESULTS_PATH) as data:
        v = data[key].copy()
    v[index] = value
    return {key: v}


@pytest.mark.parametrize("changes, match", [
    (_with("value_ssr_mass", (0, 0, 0), 7.0), r"ssr_mass must lie in \[0, 1\], got 7 in 1 place"),
    (_with("value_sdr_iou", (2, 3, 1), -0.5), r"sdr_iou must lie in \[0, 1\], got -0.5"),
    (_with("value_seconds", (0, 0, 0), -1.0), r"seconds must lie in \[0, inf\]"),
    (_with("value_seconds", (0, 0, 0), np.inf), "seconds holds inf"),
    (_with("value_ssr_mass", (1, 5, 0), np.nan), "ssr_mass is NaN in 1 place"),
    (_with("auc", (0, 0, 0, 0, 0), np.nan), "auc is NaN in 1 place.s. where a map was scored"),
    (_with("auc", (0, 0, 1, 0, 0), 0.5), "and a number in 1 where none was"),
    (_with("auc", (13, 2, 1, 23, 1), 7.0), r"auc must lie in \[0, 1\], got 7"),
    (_with("map_ssr", (0, 0, 5, 5), 7.0), r"map_ssr must hold maps in \[0, 1\]"),
    (_with("map_sdr", (0, 0, 5, 5), np.nan), "map_sdr is NaN in 1 place"),
    ({"value_ssr_mass": np.full((6, 24, 2), "0.5")}, "value_ssr_mass must hold floats, got dtype <U3"),
    ({"value_ssr_mass": np.zeros((6, 24, 2), np.int64)}, "value_ssr_mass must hold floats"),
    ({"extra": np.zeros(3)}, "holds arrays no such file has: extra"),
    ({"map_sdr": None}, "it lacks map_sdr"),
    ({"meta": np.array("[1, 2]")}, "meta must be a JSON object"),
])
def test_an_edited_copy_of_the_shipped_study_is_refused(tmp_path, changes, match):
    path = _edited(tmp_path, "edited.npz", changes)
    with pytest.raises(ValueError, match="edited.npz is not a valid counterfactual-study results file.*" + match):
        cs.load_results(path)


def test_a_foreign_or_text_file_is_refused(tmp_path):
    np.savez(tmp_path / "foreign.npz", x=np.arange(3))
    with pytest.raises(ValueError, match="foreign.npz is not a valid counterfactual-study results file: "
                                         "it holds no meta"):
        cs.load_results(tmp_path / "foreign.npz")
    (tmp_path / "text.npz").write_text("not a zip at all\n")
    with pytest.raises(ValueError, match="text.npz is not a valid counterfactual-study results file "
                                         r"\(truncated or corrupt\?\): BadZipFile"):
        cs.load_results(tmp_path / "text.npz")


@pytest.mark.slow
def test_a_live_slice_matches_the_shipped_study(one_thread):
    stored = cs.load_results()
    config = json.loads(json.dumps(stored.config))
    config["noise_seeds"] = config["noise_seeds"][:1]
    live = cs.run_study(config, images=[0], infills=["blur", "counterfactual"], progress=False)
    for name in ("blur", "counterfactual"):
        f = stored.infills.index(name)
        # The shipped study ran on another CPU: FIDO's 40 Adam steps amplify its rounding
        # (0.004 in a mass between an AMD EPYC and an Intel Xeon), so the tolerance is
        # notebook 07's live-slice tolerance, far below the 0.19 the in-fills differ by.
        for key in ("ssr_mass", "sdr_mass", "ssr_iou"):
            assert live.values[key][f, 0, 0] == pytest.approx(stored.values[key][f, 0, 0], abs=0.05)


# ---------------------------------------------------------------------- the in-filler's training
def test_random_masks_have_three_kinds_in_range():
    b = toy_birds.make_birds(30, seed=3)
    m = it.random_masks(b.part_masks, torch.Generator().manual_seed(0))
    assert m.shape == (30, 1, 64, 64) and float(m.min()) >= 0 and float(m.max()) <= 1
    hard = ((m == 0) | (m == 1)).flatten(1).all(1)
    assert 0 < int(hard.sum()) < 30  # FIDO-like soft masks and hard crest / ellipse masks


def test_training_is_reproducible_and_checked(one_thread):
    kw = dict(seed=1, n_train=8, steps=2, batch_size=4, width=4, hypotheses=2, cell=16)
    a, b = it.train_inpainter(**kw), it.train_inpainter(**kw)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    with pytest.raises(ValueError, match="steps"):
        it.train_inpainter(**{**kw, "steps": 0})
    with pytest.raises(ValueError, match="lr"):
        it.train_inpainter(**{**kw, "lr": 0.0})
    with pytest.raises(ValueError, match="crest_weight"):
        it.train_inpainter(**{**kw, "crest_weight": -1.0})
    with pytest.raises(TypeError, match="log"):
        it.train_inpainter(**{**kw, "log": 3})


def test_the_training_report_is_checked_on_load(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not a valid in-filler report"):
        it.load_report(bad)
    bad.write_text(json.dumps({"recipe": {}}))
    with pytest.raises(ValueError, match="misses"):
        it.load_report(bad)
    with pytest.raises(FileNotFoundError, match="train"):
        it.load_report(tmp_path / "missing.json")


def test_the_shipped_report_measures_every_infill_against_the_counterfactual():
    report = it.load_report()
    ev = report["evaluation"]
    assert {"learned", "exact counterfactual", "blur"} <= set(ev)
    assert ev["exact counterfactual"]["class_tv"] == 0.0 and ev["exact counterfactual"]["outside_error"] == 0.0
    assert report["recipe"] == it.TRAIN_RECIPE


def test_hidden_crest_fills_hide_the_crest_for_every_infill(one_thread):
    torch.manual_seed(0)
    b = toy_birds.make_birds(3, seed=11)
    drop, fills = it.hidden_crest_fills(b, InpaintingNet(width=4, hypotheses=2, cell=64).eval())
    assert drop.shape == (3, 1, 64, 64) and bool((drop[:, 0][b.part_masks] == 1).all())
    assert set(fills) == {"learned", "exact counterfactual", "surround", "blur", "mean", "uniform", "knockoff"}
    for f in fills.values():
        assert f.shape == (3, 3, 64, 64)
    cf = fills["exact counterfactual"]
    assert torch.equal(cf[:, :, ~b.part_masks[0]][0], b.images[0][:, ~b.part_masks[0]])
    with pytest.raises(TypeError, match="birds"):
        it.hidden_crest_fills(b.images)


def test_original_class_share_separates_the_counterfactual_from_blur(one_thread):
    torch.manual_seed(0)
    b = toy_birds.make_birds(8, seed=12)
    net = InpaintingNet(width=4, hypotheses=2, cell=64).eval()
    kept = it.original_class_share(b, "body", net=net)
    assert set(kept) == {"learned", "exact counterfactual", "blur", "surround"}
    assert all(0 <= v <= 1 for v in kept.values())
    # the exact counterfactual repaints only the crest: a dropped body changes nothing it shows
    with torch.no_grad():
        accuracy = float((it.load_classifier("toy_birds").logits(b.images).argmax(1) == b.labels).double().mean())
    assert kept["exact counterfactual"] == pytest.approx(accuracy)
    with pytest.raises(ValueError, match="region"):
        it.original_class_share(b, "tail", net=net)
    with pytest.raises(ValueError, match="level"):
        it.original_class_share(b, "crest", level=0.0, net=net)
