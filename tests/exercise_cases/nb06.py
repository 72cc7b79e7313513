"""Recorded wrong answers for notebook 06's exercises (tests/test_exercises.py)."""

_GENERAL_IOU = (
    "    region = torch.zeros(part.numel(), dtype=torch.bool)\n"
    "    region[: int(part.sum())] = True\n"
    "    region = region.view(part.shape)\n"
    "    iou = float((region & part).sum() / (region | part).sum())\n"
)

_TEMPERATURE_ONLY = (
    "temperature_only = mask_quality.paired_difference(study, \"ssr_tv\", (\"stable\", 1.0, 4), "
    "(\"stable\", 0.1, 4))\n"
)

WRONG_ANSWERS = {
    "mask-quality-flat-map": [
        ("the IoU taken to be 0 always: true for the crests, not for a part in the first rows",
         "def flat_scores(part):\n"
         "    share = float(part.float().mean())\n"
         "    return share, share, 0.0\n"),
        ("a tie for the maximum counted as a hit",
         "def flat_scores(part):\n"
         "    share = float(part.float().mean())\n"
         + _GENERAL_IOU +
         "    return 1.0, share, iou\n"),
        ("the mass inside taken to be the map's value, 0.5",
         "def flat_scores(part):\n"
         "    share = float(part.float().mean())\n"
         + _GENERAL_IOU +
         "    return share, 0.5, iou\n"),
    ],
    "mask-quality-cause": [
        ("the formula named as the cause (its interval contains 0)",
         _TEMPERATURE_ONLY +
         "formula_only = mask_quality.paired_difference(study, \"ssr_tv\", (\"stable\", 1.0, 4), (\"gal\", 1.0, 4))\n"
         "cause = \"formula\"\n"),
        ("the formula alone compared at T = 0.1 instead of T = 1",
         _TEMPERATURE_ONLY +
         "formula_only = mask_quality.paired_difference(study, \"ssr_tv\", (\"stable\", 0.1, 4), (\"gal\", 0.1, 4))\n"
         "cause = \"temperature\"\n"),
    ],
    "mask-quality-corner": [
        ("truncates to a whole pixel instead of rounding",
         "def corner(centre, side, size):\n"
         "    half = side / 2\n"
         "    x0 = min(max(float(centre[0]) - half, 0.0), size - side)\n"
         "    y0 = min(max(float(centre[1]) - half, 0.0), size - side)\n"
         "    return int(x0), int(y0)\n"),
        ("not shifted back inside the photo",
         "def corner(centre, side, size):\n"
         "    half = side / 2\n"
         "    return int(round(float(centre[0]) - half)), int(round(float(centre[1]) - half))\n"),
        ("shifted inside only at the far edges, not at the near ones",
         "def corner(centre, side, size):\n"
         "    half = side / 2\n"
         "    x0 = min(float(centre[0]) - half, size - side)\n"
         "    y0 = min(float(centre[1]) - half, size - side)\n"
         "    return int(round(x0)), int(round(y0))\n"),
    ],
}
