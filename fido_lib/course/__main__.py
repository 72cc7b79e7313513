"""``python -m fido_lib.course``."""
import sys

from .cli import main

__all__: list[str] = []

sys.exit(main())
