# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Access to the project's channel simulators (``tests/simulators`` of the source tree)."""

import sys
from pathlib import Path

SIMULATORS_DIR = Path(__file__).resolve().parents[3] / "tests"


def load_simulators():
    """Return the ``simulators`` package, or None when the addon runs outside its source tree."""
    if not (SIMULATORS_DIR / "simulators" / "__init__.py").is_file():
        return None
    if str(SIMULATORS_DIR) not in sys.path:
        sys.path.insert(0, str(SIMULATORS_DIR))
    import simulators  # noqa: PLC0415

    return simulators
