"""The web app owns where AMs act: sign-in, need to know, the list and account pages, one-click actions."""

from __future__ import annotations

from triage.web.app import create_app

__all__ = ["create_app"]
