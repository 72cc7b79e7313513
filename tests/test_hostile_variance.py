"""Hostile stored files for VarianceResult.load (issue 11): versioned, validated, clear errors."""
import json

import numpy as np
import pytest

from fido_lib.experiments import variance as V
from fido_lib.experiments.variance import storage

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dict(runs=2, iterations=3, samples=2, image_size=16)
ARMS = (V.Arm("gal", "gal", temp=0.5, eps=0.0), V.Arm("paper", "paper", temp=0.5))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    result = V.run_experiment(ARMS, **SMALL)
    path = result.save(tmp_path_factory.mktemp("v") / "result.npz")
    return result, path


def _raw(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _rewrite(path, out, *, meta=None, **arrays):
    raw = _raw(path)
    m = json.loads(str(raw.pop("metadata")))
    if meta is not None:
        m = meta(m)
    raw.update(arrays)
    raw = {k: v for k, v in raw.items() if v is not None}
    np.savez(out, metadata=np.array(json.dumps(m)), **raw)
    return out


def test_a_saved_file_carries_the_format_and_version_and_loads_back_bit_identical(saved):
    result, path = saved
    meta = json.loads(str(_raw(path)["metadata"]))
    assert meta["format"] == storage.FORMAT and meta["format_version"] == storage.FORMAT_VERSION
    back = V.VarianceResult.load(path)
    assert back.labels == result.labels and back.metadata == result.metadata
    for name in V.VarianceResult._ARRAYS:
        assert np.array_equal(getattr(back, name), getattr(result, name), equal_nan=True)


def _drop_version(m):
    m.pop("format"), m.pop("format_version")
    return m


@pytest.mark.parametrize("edit, words", [
    (_drop_version, "no format version"),
    (lambda m: {**m, "format_version": 2}, "format version 2"),
    (lambda m: {**m, "format": "something else"}, "format is 'something else'"),
])
def test_files_without_the_version_or_with_another_are_refused(saved, tmp_path, edit, words):
    path = _rewrite(saved[1], tmp_path / "x.npz", meta=edit)
    with pytest.raises(ValueError, match=words):
        V.VarianceResult.load(path)


def _edit_digest(m):
    d = m["noise_digests"]
    m["noise_digests"] = ["0" * 64] * len(d)  # consistent with each other, wrong for the seed
    return m


def _split_digests(m):
    m["noise_digests"][1] = "f" * 64  # paired arms, different digests
    return m


@pytest.mark.parametrize("edit, words", [
    (_edit_digest, "does not match the noise"),
    (_split_digests, "share a noise seed"),
    (lambda m: {**m, "labels": m["labels"] + ["ghost"]}, "labels"),
    (lambda m: {**m, "labels": ["a", "a"]}, "distinct"),
    (lambda m: {**m, "config": {**m["config"], "runs": 5}}, "shape"),
    (lambda m: {**m, "config": {**m["config"], "runs": -1}}, "VarianceConfig"),
    (lambda m: {**m, "config": {**m["config"], "nonsense": 1}}, "VarianceConfig"),
    (lambda m: {k: v for k, v in m.items() if k != "arms"}, "arms"),
    (lambda m: {**m, "noise_digests": ["abc"]}, "digest"),
    (lambda m: {**m, "config": {**m["config"], "samples": 10**6, "image_size": 10**4}}, "samples must be an int"),
])
def test_edited_metadata_is_caught(saved, tmp_path, edit, words):
    path = _rewrite(saved[1], tmp_path / "x.npz", meta=edit)
    with pytest.raises(ValueError, match=words):
        V.VarianceResult.load(path)


def test_arrays_that_do_not_fit_the_labels_or_hold_nonsense_are_caught(saved, tmp_path):
    result, path = saved
    cases = {
        "shape": dict(grad_norm=result.grad_norm[:1]),
        "floats": dict(log_odds=result.log_odds.astype(np.int64)),
        ">= 0": dict(grad_norm=-result.grad_norm),
        r"\[0, 1\]": dict(zero_fraction=result.zero_fraction + 2),
        "lacks zero_fraction": dict(zero_fraction=None),
    }
    for words, arrays in cases.items():
        p = _rewrite(path, tmp_path / "x.npz", **arrays)
        with pytest.raises(ValueError, match=words):
            V.VarianceResult.load(p)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "not json"])
def test_truncated_or_corrupt_files_raise_value_error_not_raw_errors(saved, tmp_path, damage):
    path = tmp_path / "bad.npz"
    data = saved[1].read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        raw = _raw(saved[1])
        raw["metadata"] = np.array("{not json")
        np.savez(path, **raw)
    with pytest.raises(ValueError, match="not a valid VarianceResult file"):
        V.VarianceResult.load(path)


def test_a_file_written_on_a_gpu_machine_loads_on_a_cpu_one(saved, tmp_path):
    path = _rewrite(saved[1], tmp_path / "gpu.npz", meta=lambda m: {**m, "config": {**m["config"], "device": "cuda"}})
    back = V.VarianceResult.load(path)
    assert back.metadata["config"]["device"] == "cuda"


def test_load_checks_its_arguments(tmp_path):
    with pytest.raises(TypeError, match="path"):
        V.VarianceResult.load(3)
    with pytest.raises(FileNotFoundError):
        V.VarianceResult.load(tmp_path / "missing.npz")


def test_inf_traces_and_edited_seconds_are_caught(saved, tmp_path):
    result, path = saved
    p = _rewrite(path, tmp_path / "x.npz", grad_norm=np.full_like(result.grad_norm, np.inf))
    with pytest.raises(ValueError, match="grad_norm holds inf"):
        V.VarianceResult.load(p)
    p = _rewrite(path, tmp_path / "y.npz", meta=lambda m: {**m, "seconds": "x"})
    with pytest.raises(ValueError, match="seconds"):
        V.VarianceResult.load(p)


@pytest.mark.parametrize("content", [b"", b"\x00" * 10, b"PK\x03\x04garbage"])
def test_a_corrupt_mask_quality_results_file_is_a_value_error(tmp_path, content):
    from fido_lib.experiments import mask_quality as mq

    p = tmp_path / "results.npz"
    p.write_bytes(content)
    with pytest.raises(ValueError, match="not a valid mask-quality results file"):
        mq.load_results(p)


def test_the_shipped_mask_quality_results_still_load():
    from fido_lib.experiments import mask_quality as mq

    assert mq.load_results().values


# ---------------------------------------------------------------- issue 18
def test_a_small_file_that_inflates_to_gigabytes_is_refused_from_its_headers(saved, tmp_path, monkeypatch):
    result, path = saved
    # a 3 GB array of zeros compresses to a few MB; its header alone must give it away
    import zipfile
    out = tmp_path / "bomb.npz"
    raw = _raw(path)
    header = {"descr": "<f8", "fortran_order": False, "shape": (2, 2, 3)}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in raw.items():
            if k == "grad_norm":
                with z.open("grad_norm.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array_header_1_0(f, header)  # a header that fits the config …
                    chunk = bytes(2**24)
                    for _ in range(8):  # … and 128 MB of data behind it
                        f.write(chunk)
            else:
                with z.open(f"{k}.npy", "w") as f:
                    np.lib.format.write_array(f, v, allow_pickle=False)
    inflated = []
    real = storage._stored.read_array
    monkeypatch.setattr(storage._stored, "read_array", lambda *a: inflated.append(1) or real(*a))
    with pytest.raises(ValueError, match="would inflate to .* header promises"):
        V.VarianceResult.load(out)
    assert not inflated  # no array was decompressed


def test_a_header_with_the_wrong_shape_is_refused_before_any_array_is_read(saved, tmp_path, monkeypatch):
    result, path = saved
    out = _rewrite(path, tmp_path / "x.npz", grad_norm=np.zeros((2, 2, 4)))
    inflated = []
    real = storage._stored.read_array
    monkeypatch.setattr(storage._stored, "read_array", lambda *a: inflated.append(1) or real(*a))
    with pytest.raises(ValueError, match="shape"):
        V.VarianceResult.load(out)
    assert not inflated


def test_the_digest_recomputation_is_bounded_in_total(saved, monkeypatch):
    result, path = saved
    monkeypatch.setattr(storage, "MAX_DIGEST_NUMBERS", 10)
    with pytest.raises(ValueError, match="MAX_DIGEST_NUMBERS.*check_noise=False"):
        V.VarianceResult.load(path)
    assert V.VarianceResult.load(path, check_noise=False).labels == result.labels


@pytest.mark.parametrize("kw, match", [
    (dict(iterations=10**9), r"iterations must be an int .*<= 100000"),  # never ended
    (dict(runs=10**6), r"runs must be an int .*<= 10000"),  # took 4 GB before failing
    (dict(samples=10**5), r"samples must be an int .*<= 1024"),
    (dict(image_size=10**4), r"image_size must be an int .*<= 512"),
    (dict(runs=10_000, samples=1024), "MAX_NOISE_PER_STEP"),
    (dict(runs=1000, iterations=10_000), "MAX_WORK"),
    (dict(seed=2**64), "seed must be an int"),
    (dict(model_seed=2**64), "model_seed must be an int"),
])
def test_run_experiment_bounds_its_sizes_before_any_allocation(kw, match):
    with pytest.raises(ValueError, match=match):
        V.run_experiment(ARMS, **kw)


def test_the_published_experiment_is_within_the_bounds():
    V.VarianceConfig()  # 30 × 100 × 8 samples at 32 px
    V.VarianceConfig(objective="joint", samples=64, iterations=40)
