"""``python -m triage``: the same as the ``triage`` console script."""

from __future__ import annotations

import sys

from triage.cli import main

sys.exit(main())
