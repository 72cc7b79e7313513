"""Recorded wrong answers for notebook 07's exercises (tests/test_exercises.py)."""

_KEPT_MEAN_HEAD = (
    "class KeptMean(infill.Infiller):\n"
    "    name = \"kept mean\"\n"
    "\n"
    "    def _draw(self, image, drop, generator):\n"
)

_MEASURED = (
    "x1, part1, label1 = test_birds.images[1], test_birds.part_masks[1], int(test_birds.labels[1])\n"
    "drops = drop[1].expand(400, 1, 64, 64)\n"
    "fills = toy_birds.CrestCounterfactual(x1, part1)(x1, drops, generator=0)\n"
    "with torch.no_grad():\n"
    "    named = clf.logits((1 - drops) * x1 + drops * fills).argmax(1)\n"
    "measured_share = float((named == label1).double().mean())\n"
)


def _verdict(pick="argmin", kind="deletion", better="<", fido="joint"):
    return (
        "per_bird = comparison.auc[\"birds\"].mean(axis=2)\n"
        f"deletion = per_bird[..., baseline_comparison.KINDS.index({kind!r})]\n"
        "captum = [e for e, (method, _) in enumerate(baseline_comparison.ENTRIES)\n"
        "          if method in baselines.CAPTUM_METHODS]\n"
        f"joint = baseline_comparison.ENTRIES.index((\"fido\", {fido!r}))\n"
        "best, wins = {}, {}\n"
        "for removal in (\"blur\", \"counterfactual\"):\n"
        "    d = deletion[:, :, comparison.removals(\"birds\").index(removal)]\n"
        f"    b = captum[int(np.{pick}(d[captum].mean(axis=1)))]\n"
        "    best[removal] = baseline_comparison.entry_name(baseline_comparison.ENTRIES[b])\n"
        f"    wins[removal] = int((d[joint] {better} d[b]).sum())\n"
        "n_birds = deletion.shape[1]\n"
        "survives = (wins[\"blur\"] > n_birds / 2) == (wins[\"counterfactual\"] > n_birds / 2)\n"
    )


WRONG_ANSWERS = {
    "nb07-kept-mean": [
        ("the mean of the whole image, as make_infill(x, 'mean'): the mask is ignored",
         _KEPT_MEAN_HEAD
         + "        mean = image.mean(dim=(1, 2))[None, :, None, None]\n"
           "        return mean.expand(drop.shape[0], -1, *image.shape[1:]).contiguous()\n"),
        ("weighted by the drop mask instead of the keep weight 1 - drop",
         _KEPT_MEAN_HEAD
         + "        total = drop.sum(dim=(2, 3), keepdim=True)\n"
           "        mean = (drop * image).sum(dim=(2, 3), keepdim=True) / total.clamp_min(1e-12)\n"
           "        mean = torch.where(total > 0, mean, torch.full_like(mean, 0.5))\n"
           "        return mean.expand(-1, -1, *image.shape[1:]).contiguous()\n"),
        ("the first mask's fill for every mask",
         _KEPT_MEAN_HEAD
         + "        keep = 1 - drop[:1]\n"
           "        total = keep.sum(dim=(2, 3), keepdim=True)\n"
           "        mean = (keep * image).sum(dim=(2, 3), keepdim=True) / total.clamp_min(1e-12)\n"
           "        mean = torch.where(total > 0, mean, torch.full_like(mean, 0.5))\n"
           "        return mean.expand(drop.shape[0], -1, *image.shape[1:]).contiguous()\n"),
    ],
    "nb07-predict-share": [
        ("predicted 0: 'the evidence is gone, so the class is gone'", "predicted_share = 0.0\n" + _MEASURED),
        ("predicted 1/3: the draws counted over the three other classes only", "predicted_share = 1 / 3\n" + _MEASURED),
        ("measured with a blurred crest instead of the counterfactual",
         "predicted_share = 0.25\n"
         + _MEASURED.replace("fills = toy_birds.CrestCounterfactual(x1, part1)(x1, drops, generator=0)",
                             "fills = infill.make_infill(x1, \"blur\").expand(400, 3, 64, 64)")),
    ],
    "nb07-removal-verdict": [
        ("the highest deletion taken as the best (but lower is better)", _verdict(pick="argmax")),
        ("insertion AUCs used instead of deletion", _verdict(kind="insertion")),
        ("the birds where FIDO deletes worse counted", _verdict(better=">")),
        ("FIDO's SDR map (printed in section 7) counted instead of the joint map", _verdict(fido="sdr")),
    ],
}
