"""A small learned in-filler for toy birds: a U-Net that proposes several fills and draws one.

Given a toy-bird image with some pixels dropped, what could be there instead? An
inpainting network trained to minimise a plain L1 or L2 error answers with the
*average* of the possibilities — for a hidden crest, a muddy mix of the four class
colours that no bird ever has. To *draw* a plausible fill instead, the network here
makes ``K`` proposals (hypotheses) and, for every ``cell × cell`` block of the image,
a categorical distribution over which proposal to use there:

* training (:mod:`fido_lib.experiments.inpainter_training`) scores each block by its
  best proposal only ("winner takes all", relaxed: the others get a small weight
  ``ε``; Rupprecht et al., ICCV 2017, multiple-hypothesis prediction), so the proposals
  spread over the modes of the data — four crest colours become four proposals — and
  the choice logits learn how often each proposal wins (cross-entropy on the winner);
* sampling (:meth:`InpaintingNet.sample`) draws one proposal per block from those
  probabilities, with a ``torch.Generator``: a fresh draw per call.

The shipped network uses one block for the whole 64×64 image and four proposals (its
recipe and why: :mod:`fido_lib.experiments.inpainter_training`).

Input: the kept image ``x · (1 - drop)`` and the drop mask itself (1 = replaced), so
the network never sees what lies under a fully dropped pixel. The weights ship in
``fido_lib/data`` (:data:`WEIGHTS_PATH`) and load with ``weights_only=True``.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ._util import check_int

__all__ = ["INPUT_SIZE", "WEIGHTS_PATH", "InpaintingNet", "load_inpainter"]

#: Where the shipped weights live: ``{"config": {...}, "state": state_dict}``;
#: written by ``python -m fido_lib.experiments.inpainter_training train``.
WEIGHTS_PATH = Path(__file__).resolve().parent / "data" / "toy_birds_inpainter.pt"
#: The image side the shipped network was trained on (toy birds' 64×64).
INPUT_SIZE = 64


def _block(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(4, c_out), nn.SiLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, 1, 1), nn.GroupNorm(4, c_out), nn.SiLU(inplace=True))


class InpaintingNet(nn.Module):
    """U-Net ``(x · keep, drop) → (K proposals, choice logits per cell)``.

    Four levels (1, 1/2, 1/4, 1/8 of the image side) with skip connections; the choice
    logits come from the coarsest level, average-pooled to one value per ``cell × cell``
    block. Image sides must be multiples of ``cell`` (and of 8).
    """

    def __init__(self, width: int = 16, hypotheses: int = 6, cell: int = 16):
        super().__init__()
        check_int("width", width, low=4, high=256)
        check_int("hypotheses", hypotheses, low=1, high=64)
        check_int("cell", cell, low=8, high=256)
        if cell % 8:
            raise ValueError(f"cell must be a multiple of 8 (the coarsest level's stride), got {cell}")
        w = width
        self.width, self.hypotheses, self.cell = w, hypotheses, cell
        self.enc0 = _block(4, w)
        self.enc1 = _block(w, 2 * w, 2)
        self.enc2 = _block(2 * w, 4 * w, 2)
        self.enc3 = _block(4 * w, 4 * w, 2)
        self.dec2 = _block(8 * w, 4 * w)
        self.dec1 = _block(6 * w, 2 * w)
        self.dec0 = _block(3 * w, w)
        self.proposals = nn.Conv2d(w, 3 * hypotheses, 1)
        self.choice = nn.Conv2d(4 * w, hypotheses, 1)

    def config(self) -> dict:
        return {"width": self.width, "hypotheses": self.hypotheses, "cell": self.cell}

    def forward(self, kept: torch.Tensor, drop: torch.Tensor):
        """``kept`` ``N×3×H×W`` (= x · (1 - drop)), ``drop`` ``N×1×H×W`` →
        proposals ``N×K×3×H×W`` in [0, 1] and choice logits ``N×K×(H/cell)×(W/cell)``."""
        e0 = self.enc0(torch.cat([2 * kept - 1, 2 * drop - 1], 1))
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
        d2 = self.dec2(torch.cat([up(e3), e2], 1))
        d1 = self.dec1(torch.cat([up(d2), e1], 1))
        d0 = self.dec0(torch.cat([up(d1), e0], 1))
        n, _, h, w = kept.shape
        proposals = torch.sigmoid(self.proposals(d0)).view(n, self.hypotheses, 3, h, w)
        pool = self.cell // 8
        logits = F.avg_pool2d(self.choice(e3), pool) if pool > 1 else self.choice(e3)
        return proposals, logits

    def check_size(self, size) -> None:
        h, w = size
        if h % self.cell or w % self.cell:
            raise ValueError(f"the inpainting network needs image sides that are multiples of {self.cell}, "
                             f"got {h}×{w}")

    def sample(self, image: torch.Tensor, drop: torch.Tensor, generator: torch.Generator | None = None):
        """One fill per mask: ``image`` ``3×H×W`` or ``N×3×H×W``, ``drop`` ``N×1×H×W`` → ``N×3×H×W``.

        For every ``cell × cell`` block, one proposal is drawn from the choice
        probabilities (on the CPU, from ``generator``: the same seed gives the same draw
        on every device).
        """
        kept = image * (1 - drop)
        proposals, logits = self(kept, drop)
        n, k, gh, gw = logits.shape
        probs = torch.softmax(logits.float(), 1).permute(0, 2, 3, 1).reshape(-1, k).cpu()
        pick = torch.multinomial(probs, 1, generator=generator).view(n, 1, gh, gw).to(image.device)
        onehot = torch.zeros(n, k, gh, gw, device=image.device, dtype=proposals.dtype).scatter_(1, pick, 1.0)
        onehot = F.interpolate(onehot, scale_factor=self.cell, mode="nearest")
        return (onehot.unsqueeze(2) * proposals).sum(1)


def load_inpainter(path=None, device="cpu") -> InpaintingNet:
    """The shipped :class:`InpaintingNet` (or the one saved at ``path``), in eval mode, gradients off."""
    path = WEIGHTS_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no in-filler weights at {path}; train them with "
                                "`python -m fido_lib.experiments.inpainter_training train --out PATH`")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        net = InpaintingNet(**saved["config"])
        net.load_state_dict({k: v.float() for k, v in saved["state"].items()})
    except (KeyError, TypeError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as err:
        # torch's own text for a pickle advises weights_only=False: never repeated here
        why = type(err).__name__ if isinstance(err, pickle.UnpicklingError) else f"{type(err).__name__}: {err}"
        raise ValueError(f"{path} is not a valid in-filler weights file (truncated, corrupt or another "
                         f"network?); fido_lib reads weights only and never unpickles a file: {why}") from None
    net.requires_grad_(False)
    return net.to(device).eval()
