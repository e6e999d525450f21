"""REST: the bot user, users, direct-message channels, the gateway URL and the application."""

from __future__ import annotations

from localdiscord._rest.base import Call, Endpoint, Reply, Resource, ok
from localdiscord.errors import invalid_form_body, unknown


class UsersResource(Resource):
    """``/users``, ``/gateway`` and the application."""

    def endpoints(self) -> list[Endpoint]:
        """The user, gateway and application routes."""
        return [
            Endpoint("GET", "/users/@me", self.get_me),
            Endpoint("GET", "/users/{user_id}", self.get_user),
            Endpoint("POST", "/users/@me/channels", self.create_dm),
            Endpoint("GET", "/gateway", self.get_gateway, auth=False),
            Endpoint("GET", "/gateway/bot", self.get_gateway_bot),
            Endpoint("GET", "/oauth2/applications/@me", self.get_application),
            Endpoint("GET", "/applications/@me", self.get_application),
        ]

    async def get_me(self, call: Call) -> Reply:
        """GET /users/@me."""
        data = self.world.user_payload(self.world.bot)
        data.update({"verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"})
        return ok(data)

    async def get_user(self, call: Call) -> Reply:
        """GET /users/{user_id}."""
        user = self.world.users.get(int(call.params["user_id"]))
        if user is None:
            raise unknown("User", 10013)
        return ok(self.world.user_payload(user))

    async def create_dm(self, call: Call) -> Reply:
        """POST /users/@me/channels: open (or return) the DM channel with ``recipient_id``."""
        body = call.json if isinstance(call.json, dict) else {}
        raw = body.get("recipient_id")
        try:
            recipient_id = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise invalid_form_body(
                [("recipient_id", "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')]
            ) from None
        user = self.world.users.get(recipient_id)
        if user is None:
            raise unknown("User", 10013)
        return ok(self.world.channel_payload(self.world.dm_channel(user)))

    async def get_gateway(self, call: Call) -> Reply:
        """GET /gateway."""
        return ok({"url": self.server.gateway_url})

    async def get_gateway_bot(self, call: Call) -> Reply:
        """GET /gateway/bot."""
        return ok(
            {
                "url": self.server.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_application(self, call: Call) -> Reply:
        """GET /oauth2/applications/@me."""
        return ok(self.world.application_payload())
