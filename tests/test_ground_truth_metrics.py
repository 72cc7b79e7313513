"""fido_lib.metrics, ground-truth section: pointing game, mass inside the part, IoU — on constructed maps."""
import math

import pytest
import torch

from fido_lib.metrics import ground_truth_scores, iou, mass_inside, pointing_game


def square_part(n=1, size=16, top=4, left=6, side=4):
    part = torch.zeros(n, size, size, dtype=torch.bool)
    part[:, top:top + side, left:left + side] = True
    return part


def test_perfect_map_scores_one_everywhere():
    part = square_part(3)
    perfect = part.float()
    for name, value in ground_truth_scores(perfect, part).items():
        assert torch.equal(value, torch.ones(3, dtype=value.dtype)), name


def test_inverted_map_scores_zero_everywhere():
    part = square_part(3)
    inverted = 1.0 - part.float()
    for name, value in ground_truth_scores(inverted, part).items():
        assert torch.equal(value, torch.zeros(3, dtype=value.dtype)), name


def test_constant_map_scores_the_parts_share_of_the_image():
    part = square_part(2)
    share = 16 / 256
    constant = torch.full((2, 16, 16), 0.3)
    assert torch.allclose(pointing_game(constant, part), torch.full((2,), share, dtype=torch.float64))
    assert torch.allclose(mass_inside(constant, part), torch.full((2,), share, dtype=torch.float64))
    # an all-zero map carries no ranking: scored like a constant one, not 0/0
    assert torch.allclose(mass_inside(torch.zeros(2, 16, 16), part), torch.full((2,), share, dtype=torch.float64))
    # nothing above 0.5: the region is empty, so it shares nothing with the part
    assert torch.equal(iou(constant, part), torch.zeros(2, dtype=torch.float64))


def test_random_maps_score_chance_on_average():
    g = torch.Generator().manual_seed(0)
    n, size = 4000, 16
    part = square_part(1, size)
    share = 16 / 256
    noise = torch.rand(n, size, size, generator=g)
    assert float(pointing_game(noise, part).mean()) == pytest.approx(share, abs=0.015)
    assert float(mass_inside(noise, part).mean()) == pytest.approx(share, abs=0.003)
    # half the pixels pass 0.5: E|R∩P| = 8, E|R∪P| = 128 + 16 - 8
    assert float(iou(noise, part).mean()) == pytest.approx(8 / 136, abs=0.005)
    # the top 16 of 256 pixels hold k part pixels, k hypergeometric; then IoU = k / (32 - k)
    expected = sum(k / (32 - k) * math.comb(16, k) * math.comb(240, 16 - k) / math.comb(256, 16) for k in range(17))
    assert float(iou(noise, part, "area").mean()) == pytest.approx(float(expected), abs=0.01)


def test_known_partial_values():
    part = square_part()  # 4×4 at rows 4:8, columns 6:10
    m = torch.zeros(1, 16, 16)
    m[0, 4:8, 6:8] = 1.0  # left half of the part
    m[0, 0:2, 0:4] = 1.0  # 8 pixels elsewhere, same weight
    assert float(mass_inside(m, part)) == pytest.approx(0.5)
    assert float(pointing_game(m, part)) == pytest.approx(0.5)  # 8 of the 16 tied maxima on the part
    assert float(iou(m, part)) == pytest.approx(8 / 24)
    m[0, 5, 7] = 2.0  # a unique maximum on the part
    assert float(pointing_game(m, part)) == 1.0
    m[0, 5, 7] = 1.0
    m[0, 0, 0] = 2.0  # a unique maximum 6 px left of and 4 px above the part
    assert float(pointing_game(m, part)) == 0.0
    assert float(pointing_game(m, part, tolerance=7.5)) == 1.0  # √(6² + 4²) ≈ 7.2 px
    assert float(pointing_game(m, part, tolerance=7.0)) == 0.0


def test_area_rule_scores_the_ranking_not_the_calibration():
    part = square_part()
    ranked = part.float() * 0.2 + 0.1  # right order, but nothing above 0.5
    assert float(iou(ranked, part)) == 0.0
    assert float(iou(ranked, part, threshold=0.15)) == 1.0
    assert float(iou(ranked, part, "area")) == 1.0


def test_broadcasting_one_part_over_many_maps():
    part = square_part(1)[0]
    maps = torch.stack([part.float(), 1 - part.float()])
    assert pointing_game(maps, part).tolist() == [1.0, 0.0]
    assert ground_truth_scores(maps, part)["iou_area"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda p: pointing_game(p.long(), p), TypeError),
        (lambda p: pointing_game(p.float(), p.float()), TypeError),
        (lambda p: mass_inside(p.float()[..., :8], p), ValueError),
        (lambda p: mass_inside(p.float() - 1, p), ValueError),
        (lambda p: mass_inside(torch.full_like(p, float("nan"), dtype=torch.float32), p), ValueError),
        (lambda p: iou(p.float(), p, threshold="median"), ValueError),
        (lambda p: pointing_game(p.float(), p, tolerance=-1), ValueError),
        (lambda p: iou(torch.zeros(2, 3, 16, 16), torch.zeros(4, 16, 16, dtype=torch.bool)), ValueError),
    ],
)
def test_bad_inputs_are_refused(call, error):
    with pytest.raises(error):
        call(square_part())
