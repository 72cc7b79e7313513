"""fido_lib.experiments.baseline_comparison and fido_settings: the stored results load and are
checked, the paired verdict picks the right maps, and a tiny run goes end to end."""
import json
import tracemalloc

import numpy as np
import pytest
from stored_copies import edited_copy

from fido_lib.experiments import baseline_comparison as bc
from fido_lib.experiments import fido_settings as fs

pytestmark = pytest.mark.usefixtures("one_thread")


def synthetic(n_birds=6):
    """A ComparisonResults with known numbers: entry e scores e/100 everywhere."""
    cfg = json.loads(json.dumps(bc.STUDY))
    cfg["birds"]["n_images"] = n_birds
    e, s = len(bc.ENTRIES), len(cfg["birds"]["noise_seeds"])
    auc = {"photos": np.zeros((e, 5, 1, 2, 2)), "birds": np.zeros((e, n_birds, s, 3, 2))}
    for ds in auc:
        auc[ds] += (np.arange(e) / 100.0).reshape(-1, *[1] * (auc[ds].ndim - 1))
    truth = {"birds": np.full((e, n_birds, s, 3), 0.5)}
    seconds = {"photos": np.ones((len(bc.TIMED), 5, 1)), "birds": np.ones((len(bc.TIMED), n_birds, s))}
    meta = {"removals": {"photos": ["blur", "mean"], "birds": ["blur", "mean", "counterfactual"]}, "cpu": "test",
            "threads": 1}
    return bc.ComparisonResults(cfg, meta, auc, truth, seconds, {})


def test_fido_versus_best_picks_the_best_captum_entry_per_direction():
    res = synthetic()
    ins = bc.fido_versus_best(res, "photos", "insertion")
    # the highest-scoring Captum entry is occlusion (abs), the last before the references
    assert ins["best"] == "occlusion (abs)" and ins["fido"] == "fido (ssr)"
    assert ins["fido_wins"] == 0 and ins["difference"][0] == pytest.approx(0.0 - 0.09)
    dele = bc.fido_versus_best(res, "photos", "deletion")
    assert dele["best"] == "saliency (abs)" and dele["fido"] == "fido (sdr)"
    # lower is better for deletion: FIDO's SDR (0.01) beats saliency's 0.03 on every photo
    assert dele["fido_wins"] == 5 and dele["difference"][0] == pytest.approx(0.01 - 0.03)


def test_fido_versus_best_on_the_truth_takes_fido_s_best_map():
    res = synthetic()
    res.truth["birds"][2] += 0.2  # the joint map on the crest
    res.truth["birds"][4, :3] += 0.4  # integrated gradients (signed) better on half the birds
    v = bc.fido_versus_best(res, "birds", "mass_inside")
    assert v["fido"] == "fido (joint)" and v["best"] == "integrated_gradients (signed)"
    assert v["fido_wins"] == 3 and v["n"] == 6


def test_summary_table_rows_and_intervals():
    rows = bc.summary_table(synthetic(), "birds", removal="counterfactual")
    assert [r["method"] for r in rows] == [bc.entry_name(e) for e in bc.ENTRIES]
    assert rows[3]["insertion"] == [0.03, 0.03, 0.03] and "seconds" in rows[3] and "seconds" not in rows[-1]
    assert rows[0]["mass_inside"] == [0.5, 0.5, 0.5]


def test_save_and_load_round_trip_and_corruption_is_caught(tmp_path):
    res = synthetic()
    path = res.save(tmp_path / "c.npz")
    back = bc.load_results(path)
    assert np.array_equal(back.auc["birds"], res.auc["birds"]) and back.meta["cpu"] == "test"
    assert json.loads(path.with_suffix(".json").read_text())["summary"]["photos"][0]["method"] == "fido (ssr)"
    res.auc["photos"][0, 0, 0, 0, 0] = 1.5  # an AUC above 1
    with pytest.raises(ValueError, match="not a valid baseline-comparison file.*\\[0, 1\\]"):
        bc.load_results(res.save(tmp_path / "bad.npz"))
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a valid"):
        bc.load_results(tmp_path / "cut.npz")
    with pytest.raises(FileNotFoundError, match="baseline_comparison"):
        bc.load_results(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="no FIDO-settings file at .*fido_lib.experiments.fido_settings"):
        fs.load_results(tmp_path / "missing.npz")


def test_shipped_results_load_and_cover_the_study():
    res = bc.load_results()
    assert res.config == bc.STUDY
    assert res.auc["photos"].shape[1] == len(bc.STUDY["photos"])


def test_a_tiny_run_goes_end_to_end():
    cfg = json.loads(json.dumps(bc.STUDY))
    cfg["birds"]["n_images"], cfg["birds"]["noise_seeds"], cfg["steps"] = 1, [0], 4
    cfg["fido"]["iterations"] = 3
    cfg["captum"] = {"integrated_gradients": {"steps": 4}, "gradient_shap": {"samples": 4}, "occlusion": {},
                     "saliency": {}}
    res = bc.run_comparison(cfg, photos=[], progress=False)
    a, t, s = res.auc["birds"], res.truth["birds"], res.seconds["birds"]
    assert np.isfinite(a).all() and ((a >= 0) & (a <= 1)).all() and (s > 0).all()
    assert np.isfinite(t).all() and np.isnan(res.auc["photos"]).all()
    # the random map and the centre prior know nothing of the crest: chance-level mass
    assert t[bc.ENTRIES.index(("random", "-")), 0, 0, 0] < 0.05


def test_bad_indices_raise_before_any_work():
    with pytest.raises(ValueError, match="birds must be indices"):
        bc.run_comparison(birds=[99], progress=False)
    bad = json.loads(json.dumps(bc.STUDY))
    bad["captum"]["occlusion"] = {"window": 0}
    with pytest.raises(ValueError, match="window"):
        bc.run_comparison(bad, photos=[], birds=[], progress=False)
    bad = json.loads(json.dumps(bc.STUDY))
    bad["fido"]["tv"] = -1.0
    with pytest.raises(ValueError, match="tv"):
        bc.run_comparison(bad, photos=[], birds=[], progress=False)


def test_tradeoff_table_and_settings_round_trip(tmp_path):
    search = json.loads(json.dumps(fs.SEARCH))
    c, p = len(search["candidates"]), len(search["photos"])
    res = fs.SettingsResults(search, {"cpu": "test", "threads": 1}, np.full((c, p), 0.7), np.full((c, p), 0.03),
                             np.arange(1, c + 1)[:, None] * np.ones((c, p)), np.full(p, 8.0))
    rows = fs.tradeoff_table(res, best_insertion=0.6, best_deletion=0.04)
    assert [r["ratio"] for r in rows[:3]] == [0.125, 0.25, 0.375]
    assert [r["meets"] for r in rows[:3]] == [True, True, False]
    back = fs.load_results(res.save(tmp_path / "s.npz"))
    assert np.array_equal(back.seconds, res.seconds)
    res.published[0] = -1.0
    with pytest.raises(ValueError, match="published"):
        fs.load_results(res.save(tmp_path / "bad.npz"))


def test_the_benchmark_script_reports_wins_losses_and_the_settings_verdict():
    import importlib.util
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "baselines.py"
    spec = importlib.util.spec_from_file_location("bench_baselines", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        search = json.loads(json.dumps(fs.SEARCH))
        c, p = len(search["candidates"]), len(search["photos"])
        settings = fs.SettingsResults(search, {"cpu": "test", "threads": 1}, np.full((c, p), 0.95),
                                      np.full((c, p), 0.001), np.ones((c, p)), np.full(p, 8.0))
        text = module.report(synthetic(), settings)
    finally:
        sys.modules.pop(spec.name, None)
    assert "photos, insertion (blur removal): fido (ssr) 0.000 vs best baseline occlusion (abs) 0.090" in text
    assert "FIDO better on 0 of 5 images" in text and "FIDO better on 5 of 5 images" in text
    assert "birds, mass_inside" in text and "photos, seconds per image: fido 1.00" in text
    assert "FidoConfig(): insertion 0.950, deletion 0.001, 1.0 s = 0.12 × published, meets target: True" in text


def test_partial_runs_merge_into_the_whole(tmp_path):
    full = synthetic()
    full.maps = {"fido (ssr)": np.ones((4, 4), np.float32)}
    a, b = synthetic(), synthetic()
    for ds in ("photos", "birds"):
        a.auc[ds][:, 2:], b.auc[ds][:, :2] = np.nan, np.nan
        a.seconds[ds][:, 2:], b.seconds[ds][:, :2] = np.nan, np.nan
    a.truth["birds"][:, 2:], b.truth["birds"][:, :2] = np.nan, np.nan
    a.maps = dict(full.maps)
    bc.save_part(a, tmp_path / "a.npz", [0, 1], [0, 1])
    bc.save_part(b, tmp_path / "b.npz", [2, 3, 4], [2, 3, 4, 5])
    merged = bc.merge_parts([tmp_path / "a.npz", tmp_path / "b.npz"])
    for ds in ("photos", "birds"):
        assert np.array_equal(merged.auc[ds], full.auc[ds]) and np.array_equal(merged.seconds[ds], full.seconds[ds])
    assert np.array_equal(merged.truth["birds"], full.truth["birds"]) and set(merged.maps) == {"fido (ssr)"}
    with pytest.raises(ValueError, match="auc of photos must be finite"):
        bc.merge_parts([tmp_path / "a.npz"])  # photos 2-4 missing


# ---------------------------------------------------------------------- hostile or edited files


def _with(src, key, index, value):
    with np.load(src) as data:
        v = data[key].copy()
    v[index] = value
    return {key: v}


def _refused_without_inflating(load, path, match):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as err:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # the big member was never inflated
    err.match(match)


@pytest.mark.parametrize("module, member, match", [
    (bc, "auc_birds", r"baseline-comparison file: auc_birds must have shape \(12, 24, 1, 3, 2\).*"
                      r"got \(10000000,\)"),
    (bc, "map_saliency (abs)", r"baseline-comparison file: map_saliency \(abs\) must have shape \(224, 224\).*"
                               r"got \(10000000,\)"),
    (bc, "map_fido (ssr)", r"baseline-comparison file: map_fido \(ssr\) has shape \(10000000,\), expected \(H, W\)"),
    (fs, "insertion", r"FIDO-settings file: insertion must have shape \(3, 5\).*got \(10000000,\)"),
])
def test_a_decompression_bomb_is_refused_before_it_is_inflated(tmp_path, module, member, match):
    bomb = edited_copy(module.RESULTS_PATH, tmp_path / "bomb.npz", {member: np.zeros(10**7)})  # 80 MB of zeros
    assert bomb.stat().st_size < 2**20
    _refused_without_inflating(module.load_results, bomb, "bomb.npz is not a valid " + match)


def test_a_config_claiming_huge_arrays_is_refused_by_the_caps(tmp_path):
    with np.load(bc.RESULTS_PATH) as data:
        head = json.loads(str(data["config"]))
    head["study"]["birds"]["n_images"] = 10**6
    path = edited_copy(bc.RESULTS_PATH, tmp_path / "birds.npz", {"config": np.array(json.dumps(head))})
    with pytest.raises(ValueError, match=r"n_images'\] must be an int in \[1, 10000\], got 1000000"):
        bc.load_results(path)
    head["study"]["birds"]["n_images"], head["study"]["birds"]["noise_seeds"] = 10_000, list(range(100))
    path = edited_copy(bc.RESULTS_PATH, tmp_path / "pairs.npz", {"config": np.array(json.dumps(head))})
    with pytest.raises(ValueError, match="1000000 .bird, seed. pairs; a stored comparison has at most 100000"):
        bc.load_results(path)
    with np.load(fs.RESULTS_PATH) as data:
        head = json.loads(str(data["config"]))
    head["search"]["photos"] = ["chelsea"] * 5000
    path = edited_copy(fs.RESULTS_PATH, tmp_path / "photos.npz", {"config": np.array(json.dumps(head))})
    with pytest.raises(ValueError, match="photos'\\] must be 1 to 1000 photo names"):
        fs.load_results(path)


@pytest.mark.parametrize("changes, match", [
    (_with(bc.RESULTS_PATH, "truth_birds", (0, 0, 0, 0), 7.0), r"truth of birds must be values in \[0, 1\]"),
    (_with(bc.RESULTS_PATH, "auc_photos", (0, 0, 0, 0, 0), np.nan), "auc of photos must be finite"),
    (_with(bc.RESULTS_PATH, "seconds_birds", (0, 0, 0), np.inf), "seconds of birds must be finite and positive"),
    (_with(bc.RESULTS_PATH, "map_fido (ssr)", (3, 3), 7.0), r"map 'fido \(ssr\)' must lie in \[0, 1\], got 7"),
    (_with(bc.RESULTS_PATH, "map_saliency (abs)", (3, 3), -1.0), r"map 'saliency \(abs\)' must lie in \[0, inf\]"),
    (_with(bc.RESULTS_PATH, "map_occlusion (signed)", (3, 3), np.nan), r"map 'occlusion \(signed\)' must be finite"),
    ({"truth_birds": np.full((12, 24, 1, 3), "0.5")}, "truth_birds must hold floats, got dtype <U3"),
    ({"extra": np.zeros(3)}, "holds arrays no such file has: extra"),
    ({"map_fido (joint)": None}, r"maps must be all of .* or none; it lacks map_fido \(joint\)"),
    ({"seconds_photos": None}, "it lacks seconds_photos"),
])
def test_an_edited_copy_of_the_shipped_comparison_is_refused(tmp_path, changes, match):
    path = edited_copy(bc.RESULTS_PATH, tmp_path / "edited.npz", changes)
    with pytest.raises(ValueError, match="edited.npz is not a valid baseline-comparison file.*" + match):
        bc.load_results(path)


@pytest.mark.parametrize("changes, match", [
    (_with(fs.RESULTS_PATH, "deletion", (0, 0), 7.0), r"AUCs must lie in \[0, 1\]"),
    (_with(fs.RESULTS_PATH, "seconds", (1, 2), np.nan), "seconds must be finite values >= 0"),
    (_with(fs.RESULTS_PATH, "published", (0,), np.inf), "published must be finite positive seconds"),
    ({"insertion": np.full((3, 5), "0.5")}, "insertion must hold floats, got dtype <U3"),
    ({"extra": np.zeros(3)}, "holds arrays no such file has: extra"),
    ({"published": None}, "it lacks published"),
])
def test_an_edited_copy_of_the_shipped_settings_search_is_refused(tmp_path, changes, match):
    path = edited_copy(fs.RESULTS_PATH, tmp_path / "edited.npz", changes)
    with pytest.raises(ValueError, match="edited.npz is not a valid FIDO-settings file.*" + match):
        fs.load_results(path)


def test_the_shipped_settings_search_loads():
    res = fs.load_results()
    assert res.config == fs.SEARCH and res.insertion.shape == (len(fs.SEARCH["candidates"]), 5)
    assert (res.published > 0).all()


@pytest.mark.parametrize("module, name", [(bc, "baseline-comparison file"), (fs, "FIDO-settings file")])
def test_a_foreign_or_text_file_is_refused(tmp_path, module, name):
    np.savez(tmp_path / "foreign.npz", x=np.arange(3))
    with pytest.raises(ValueError, match=f"foreign.npz is not a valid {name}: it holds no config"):
        module.load_results(tmp_path / "foreign.npz")
    (tmp_path / "text.npz").write_text("not a zip at all\n")
    with pytest.raises(ValueError, match=f"text.npz is not a valid {name} " + r"\(truncated or corrupt\?\): BadZip"):
        module.load_results(tmp_path / "text.npz")
