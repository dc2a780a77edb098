"""Console pages: blueprints."""

from __future__ import annotations

from fastapi import APIRouter

from dex.console.web import CONSOLE_PREFIX, ConsoleRoute

router = APIRouter(prefix=CONSOLE_PREFIX, route_class=ConsoleRoute)
