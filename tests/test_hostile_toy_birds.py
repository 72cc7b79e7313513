"""Hostile inputs to fido_lib.toy_birds (issue 18): sizes bounded before any drawing, seeds
named, a foreign weights file refused without advice to unpickle it."""
import pickle
import time

import pytest
import torch

from fido_lib import toy_birds as tb


@pytest.mark.parametrize("n, kw, match", [
    (1, dict(size=10**5), r"size must be an int .*<= 1024"),  # took 5 GB before failing
    (10**7, {}, r"n must be an int .*<= 1000000"),
    (20_000, dict(size=64), "MAX_TOTAL_PIXELS"),
])
def test_make_birds_bounds_its_sizes_at_once(n, kw, match):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        tb.make_birds(n, **kw)
    assert time.perf_counter() - start < 1


def test_make_birds_seed_beyond_64_bits_is_named():
    with pytest.raises(ValueError, match="seed must be an int"):
        tb.make_birds(1, seed=2**64)


def test_the_shipped_training_set_size_is_still_allowed():
    assert 8000 * 64 * 64 <= tb.MAX_TOTAL_PIXELS


def test_load_cnn_of_a_pickle_never_suggests_unpickling(tmp_path):
    path = tmp_path / "foreign.pt"
    with open(path, "wb") as f:
        pickle.dump(print, f)  # a global, as a pickle that runs code would hold
    with pytest.raises(ValueError) as err:
        tb.load_cnn(path=path)
    assert "weights_only=False" not in str(err.value) and "never unpickles" in str(err.value)


def test_load_cnn_of_foreign_tensors_says_what_is_wrong(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="head.weight"):
        tb.load_cnn(path=path)
    torch.save({"head.weight": torch.zeros(4, 64)}, path)
    with pytest.raises(ValueError, match="do not fit a ToyBirdNet"):
        tb.load_cnn(path=path)


@pytest.mark.parametrize("kw, match", [(dict(epochs=10**9), "epochs"), (dict(n_train=10**7), "n_train"),
                                       (dict(n_train=50_000), "MAX_TOTAL_PIXELS"), (dict(seed=2**64), "seed")])
def test_train_cnn_bounds_its_sizes_before_drawing(kw, match):
    from fido_lib.experiments import toy_birds_training
    with pytest.raises(ValueError, match=match):
        toy_birds_training.train_cnn(**kw)


def test_median_times_bounds_its_rounds():
    from fido_lib import timing
    with pytest.raises(ValueError, match=r"repeats must be an int .*<= 10000"):
        timing.median_times({"a": lambda: None}, repeats=10**9)


def test_load_inpainter_of_a_pickle_never_suggests_unpickling(tmp_path):
    from fido_lib.inpainter import load_inpainter
    path = tmp_path / "foreign.pt"
    with open(path, "wb") as f:
        pickle.dump(print, f)
    with pytest.raises(ValueError) as err:
        load_inpainter(path)
    assert "weights_only=False" not in str(err.value) and "never unpickles" in str(err.value)


def test_crest_prior_refuses_float_classes_instead_of_truncating():
    with pytest.raises(TypeError, match="classes must be int class indices"):
        tb.crest_prior(1, classes=[1.5])  # silently became class 1
