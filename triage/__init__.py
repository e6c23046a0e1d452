"""triage: nightly sentiment triage of client e-mail and meeting notes for account managers."""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
