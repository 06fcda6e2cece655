"""What the engine needs from the application around it, as a protocol.

The engine sits below the application services (docs/architecture.md) and so does not import them:
``habmon.services.Monitor`` satisfies this protocol (the engine's functions still call their parameter
``monitor``). Phase 2 of issue #9, which splits engine/service.py, may rename the alias ``Monitor`` the engine
modules import this under.
"""

from __future__ import annotations

from typing import Any, Protocol

from habmon.geo.model import Engagement, Geography
from habmon.indicators.registry import Registry
from habmon.store.store import Store


class EngineContext(Protocol):
    @property
    def store(self) -> Store: ...

    @property
    def actor(self) -> str:
        """The username a stored run records."""
        ...

    def registry(self) -> Registry: ...

    def geography(self) -> Geography: ...

    def engagements(self) -> tuple[list[Engagement], dict[str, Any] | None]:
        """The newest list of places where UN-Habitat works, and its header (name, illustrative …)."""
        ...
