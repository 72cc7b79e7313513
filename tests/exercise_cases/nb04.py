"""Recorded wrong answers for notebook 04's exercises (tests/test_exercises.py)."""

_GAP_LOOP = (
    "my_prediction = \"mean\"\n"
    "r = results[\"chelsea\"][\"stable\"]\n"
    "gap = {}\n"
    "for name in infill.INFILLS:\n"
    "    base = infill.make_infill(r.image, name, generator=0)\n"
    "{body}"
    "best = max(gap, key=gap.get)\n"
)

WRONG_ANSWERS = {
    "nb04-tv": [
        ("sums the differences instead of averaging them (a checkerboard would get 112, not 2)",
         "def tv(mask):\n"
         "    vertical = (mask[..., 1:, :] - mask[..., :-1, :]).abs().sum(dim=(-2, -1))\n"
         "    horizontal = (mask[..., :, 1:] - mask[..., :, :-1]).abs().sum(dim=(-2, -1))\n"
         "    return vertical + horizontal\n"),
        ("only the vertical neighbours",
         "def tv(mask):\n"
         "    return (mask[..., 1:, :] - mask[..., :-1, :]).abs().mean(dim=(-2, -1))\n"),
        ("no absolute value: rises and falls cancel",
         "def tv(mask):\n"
         "    vertical = (mask[..., 1:, :] - mask[..., :-1, :]).mean(dim=(-2, -1))\n"
         "    horizontal = (mask[..., :, 1:] - mask[..., :, :-1]).mean(dim=(-2, -1))\n"
         "    return vertical + horizontal\n"),
    ],
    "nb04-infill": [
        ("the gap turned round: SDR deletion AUC minus random",
         _GAP_LOOP.replace("{body}", (
             "    rand = metrics.random_order_auc(clf, r.image, r.target, \"deletion\", baseline=base)\n"
             "    sdr = metrics.auc(*metrics.deletion_curve(clf, r.image, r.sdr, r.target, baseline=base))\n"
             "    gap[name] = sdr - rand\n"))),
        ("the random order scored with the default (blur) baseline for every infill, not with that infill",
         _GAP_LOOP.replace("{body}", (
             "    rand = metrics.random_order_auc(clf, r.image, r.target, \"deletion\")\n"
             "    sdr = metrics.auc(*metrics.deletion_curve(clf, r.image, r.sdr, r.target, baseline=base))\n"
             "    gap[name] = rand - sdr\n"))),
    ],
}
