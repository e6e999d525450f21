"""REST: guilds, their channels, roles and members, and their active threads."""

from __future__ import annotations

from localdiscord import errors
from localdiscord._rest.base import NO_CONTENT, Call, Endpoint, Reply, Resource, ok
from localdiscord.errors import ApiError, unknown
from localdiscord.permissions import Permissions, has


class GuildsResource(Resource):
    """``/guilds/{guild_id}/...``: what the bot can read about a guild."""

    def endpoints(self) -> list[Endpoint]:
        """The guild routes."""
        return [
            Endpoint("GET", "/guilds/{guild_id}", self.get_guild),
            Endpoint("GET", "/guilds/{guild_id}/channels", self.get_guild_channels),
            Endpoint("GET", "/guilds/{guild_id}/roles", self.get_guild_roles),
            Endpoint("GET", "/guilds/{guild_id}/members", self.list_members),
            Endpoint("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            Endpoint("GET", "/guilds/{guild_id}/threads/active", self.get_active_threads),
            Endpoint(
                "PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_member_role
            ),
        ]

    async def get_guild(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}."""
        guild = self._guild(call)
        data = self.world.guild_create_payload(guild)
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
        ):
            data.pop(key, None)
        if call.query.get("with_counts") in ("true", "1", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return ok(data)

    async def get_guild_channels(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/channels."""
        guild = self._guild(call)
        return ok([self.world.channel_payload(c) for c in guild.channels.values() if not c.deleted])

    async def get_guild_roles(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/roles."""
        guild = self._guild(call)
        return ok([self.world.role_payload(r) for r in guild.roles.values()])

    async def get_member(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/members/{user_id}."""
        guild = self._guild(call)
        member = guild.members.get(int(call.params["user_id"]))
        if member is None:
            raise unknown("Member", 10007)
        return ok(self.world.member_payload(member))

    async def list_members(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/members (needs the GUILD_MEMBERS intent enabled)."""
        guild = self._guild(call)
        if not self.server.privileged_intents & (1 << 1):
            raise ApiError(403, errors.MISSING_ACCESS, "Missing Access")
        after = int(call.query.get("after", "0"))
        limit = min(max(int(call.query.get("limit", "1")), 1), 1000)
        members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
        return ok([self.world.member_payload(m) for m in members[:limit]])

    async def get_active_threads(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/threads/active."""
        guild = self._guild(call)
        bot_id = self.world.bot.id
        threads = [
            t
            for t in guild.threads.values()
            if not t.archived and not t.deleted and self.world.can_view(bot_id, t)
        ]
        return ok(
            {
                "threads": [self.world.thread_payload(t) for t in threads],
                "members": [
                    self.world.thread_member_payload(t, bot_id)
                    for t in threads
                    if bot_id in t.member_ids
                ],
            }
        )

    async def add_member_role(self, call: Call) -> Reply:
        """PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}: as Discord, the bot
        needs MANAGE_ROLES and a highest role above the one it gives; managed roles and
        @everyone cannot be given. Emits GUILD_MEMBER_UPDATE."""
        guild = self._guild(call)
        member = guild.members.get(int(call.params["user_id"]))
        if member is None:
            raise unknown("Member", 10007)
        role = guild.roles.get(int(call.params["role_id"]))
        if role is None:
            raise unknown("Role", 10011)
        bot_id = self.world.bot.id
        bot = guild.members[bot_id]
        top = max((guild.roles[r].position for r in bot.role_ids if r in guild.roles), default=0)
        if (
            not has(self.world.guild_permissions(guild, bot_id), Permissions.MANAGE_ROLES)
            or role.position >= top
            or role.bot_id is not None
            or role.id == guild.id
        ):
            raise ApiError(403, errors.MISSING_PERMISSIONS, "Missing Permissions")
        if role.id not in member.role_ids:
            member.role_ids = [*member.role_ids, role.id]
            self.world.emit(
                "GUILD_MEMBER_UPDATE",
                {**self.world.member_payload(member), "guild_id": str(guild.id)},
                guild.id,
                None,
            )
        return NO_CONTENT
