"""fido_lib: the helper library of the Simplified Concrete Dropout / FIDO notebooks.

Modules (one idea each): ``concrete`` (the three relaxed drop masks), ``symbolic``
(sympy derivations). Import what you need, e.g. ``from fido_lib.concrete import drop_mask``.
"""

__version__ = "0.1.0"
