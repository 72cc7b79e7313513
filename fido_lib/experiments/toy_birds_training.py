"""How the shipped toy-bird CNN was trained, and the command line that retrains or evaluates it.

``python -m fido_lib.experiments.toy_birds_training train --out PATH`` trains a
:class:`~fido_lib.toy_birds.ToyBirdNet` with :data:`TRAIN_RECIPE` and writes its
state_dict to ``PATH`` (default ``toy_birds_cnn.pt`` in the current directory; the
package's shipped weights are never overwritten unless ``--out`` names them);
``… evaluate [--weights PATH]`` reports the held-out accuracy (default: the shipped
weights, read-only).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from .._util import check_int, check_real, num_threads
from ..toy_birds import MAX_IMAGES, MAX_SIZE, MAX_TOTAL_PIXELS, TEST_SEED, ToyBirdNet, accuracy, load_cnn, make_birds

__all__ = ["TRAIN_RECIPE", "main", "train_cnn"]

#: The recipe the shipped weights were trained with.
TRAIN_RECIPE = dict(seed=0, n_train=6000, epochs=3, batch_size=64, lr=3e-3, width=16, size=64)


def train_cnn(*, seed=0, n_train=6000, epochs=3, batch_size=64, lr=3e-3, width=16, size=64,
              device="cpu", log=None):
    """Train a :class:`~fido_lib.toy_birds.ToyBirdNet` on ``make_birds(n_train, size=size, seed=seed)``.

    AdamW (weight decay 1e-4) with a one-cycle learning-rate schedule peaking at ``lr``,
    cross-entropy, ``epochs`` passes over the images in an order drawn from ``seed``.
    The weights are initialised from ``seed`` too, without touching torch's global
    random state: the same arguments give the same weights on the same machine.
    ``log(epoch, loss)`` is called after each epoch when given. Returns the model in eval mode.
    """
    # bounds before any image is drawn: the set itself by make_birds' own (MAX_TOTAL_PIXELS)
    for name, value, low, high in (("seed", seed, 0, 2**64 - 1), ("n_train", n_train, 1, MAX_IMAGES),
                                   ("epochs", epochs, 1, 1000), ("batch_size", batch_size, 1, 4096),
                                   ("width", width, 1, 256), ("size", size, 16, MAX_SIZE)):
        check_int(name, value, low=low, high=high)
    if n_train * size * size > MAX_TOTAL_PIXELS:
        raise ValueError(f"n_train × size² = {n_train * size * size:.3g} pixels; make_birds makes at most "
                         f"{MAX_TOTAL_PIXELS:.3g} (toy_birds.MAX_TOTAL_PIXELS)")
    check_real("lr", lr, low=0.0, high=1.0, low_open=True, high_open=True)
    if log is not None and not callable(log):
        raise TypeError(f"log must be callable or None, got {type(log).__name__}")
    batch_size = min(batch_size, n_train)
    data = make_birds(n_train, size=size, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ToyBirdNet(width).to(device)
    g = torch.Generator().manual_seed(seed)
    steps_per_epoch = n_train // batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n_train, generator=g)
        total = 0.0
        for i in range(steps_per_epoch):
            idx = order[i * batch_size:(i + 1) * batch_size]
            x, y = data.images[idx].to(device), data.labels[idx].to(device)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if log is not None:
            log(epoch, total / steps_per_epoch)
    return model.eval()


def main(argv=None):
    """The command line: ``train [--out PATH]`` or ``evaluate [--weights PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m fido_lib.experiments.toy_birds_training",
                                     description="Train or evaluate the toy-bird CNN.")
    parser.add_argument("command", choices=["train", "evaluate"])
    # One thread by default: the shipped weights were trained so, which makes them
    # reproducible bit for bit (the reduction order of a convolution depends on the
    # thread count), and on a busy machine it is also the fastest setting.
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--out", default="toy_birds_cnn.pt",
                        help="train: where to write the weights (default: toy_birds_cnn.pt in the current directory)")
    parser.add_argument("--weights", default=None,
                        help="evaluate: the weights to evaluate (default: the shipped ones)")
    args = parser.parse_args(argv)
    with num_threads(args.threads):
        test = make_birds(args.n_test, seed=TEST_SEED)
        if args.command == "train":
            start = time.perf_counter()
            model = train_cnn(**TRAIN_RECIPE, log=lambda e, loss: print(f"epoch {e}: mean loss {loss:.4f}", flush=True))
            seconds = time.perf_counter() - start
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), out)
            print(f"trained in {seconds:.1f} s with {torch.get_num_threads()} thread(s); wrote {out}")
        else:
            model = load_cnn(path=args.weights)
        print(f"test accuracy on {args.n_test} images (seed {TEST_SEED}): "
              f"{accuracy(model, test.images, test.labels):.4f}")


if __name__ == "__main__":
    main()
