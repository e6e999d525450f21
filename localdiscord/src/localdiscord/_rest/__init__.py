"""Discord's REST API v10, one module per resource; :class:`RestApi` serves them all."""

from localdiscord._rest.api import RestApi

__all__ = ["RestApi"]
