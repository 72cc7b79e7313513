"""Regenerate every PNG in figures/ from the library (`make figures`)."""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
FIGURES = {}  # name -> function(path) that writes the PNG


def figure(name):
    def register(fn):
        FIGURES[name] = fn
        return fn
    return register


# ==== gradient variance (notebook 04) ====
# ==== end variance ====

# ==== FIDO masks (notebook 05) ====
# ==== end fido ====

# ==== mask quality (notebook 06) ====
# ==== end mask quality ====


def main(names=None):
    for name in names or FIGURES:
        if name not in FIGURES:
            raise SystemExit(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
        path = HERE / f"{name}.png"
        FIGURES[name](path)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
