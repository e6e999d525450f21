"""REST: the application's slash and context-menu commands, global and per guild."""

from __future__ import annotations

from typing import Any

from localdiscord import errors
from localdiscord._rest.base import NO_CONTENT, Call, Endpoint, Reply, Resource, ok
from localdiscord.errors import ApiError, unknown
from localdiscord.models import ApplicationCommand
from localdiscord.validation import check_commands


class CommandsResource(Resource):
    """``/applications/{application_id}[/guilds/{guild_id}]/commands``."""

    def endpoints(self) -> list[Endpoint]:
        """The command routes, global then per guild."""
        routes: list[Endpoint] = []
        for base in (
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ):
            routes += [
                Endpoint("GET", base, self.get_commands),
                Endpoint("PUT", base, self.overwrite_commands),
                Endpoint("POST", base, self.upsert_command),
                Endpoint("GET", base + "/{command_id}", self.get_command),
                Endpoint("PATCH", base + "/{command_id}", self.edit_command),
                Endpoint("DELETE", base + "/{command_id}", self.delete_command),
            ]
        return routes

    def _command_scope(self, call: Call) -> int | None:
        if int(call.params["application_id"]) != self.world.bot.application_id:
            raise unknown("Application", 10002)
        if "guild_id" not in call.params:
            return None
        guild = self._guild(call)
        if self.world.bot.id not in guild.members:
            raise ApiError(403, errors.MISSING_ACCESS, "Missing Access")
        return int(guild.id)

    def _command_payload(self, command: ApplicationCommand) -> dict[str, Any]:
        data = dict(command.payload)
        data.update(
            {
                "id": str(command.id),
                "application_id": str(command.application_id),
                "version": str(command.version),
                "type": command.type,
                "name": command.name,
                "description": command.description,
                "options": command.options,
                "default_member_permissions": None
                if command.default_member_permissions is None
                else str(command.default_member_permissions),
                "nsfw": bool(command.payload.get("nsfw", False)),
                "dm_permission": command.payload.get("dm_permission", True),
                "integration_types": command.payload.get("integration_types") or [0],
                "contexts": command.payload.get("contexts"),
                "name_localizations": command.payload.get("name_localizations"),
                "description_localizations": command.payload.get("description_localizations"),
            }
        )
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return data

    def _store_command(
        self, scope: int | None, payload: dict[str, Any], existing: list[ApplicationCommand]
    ) -> ApplicationCommand:
        kind = int(payload.get("type", 1))
        name = str(payload["name"])
        previous = next((c for c in existing if c.type == kind and c.name == name), None)
        if previous is not None:
            if previous.payload != payload:
                previous.payload = dict(payload)
                previous.version = self.world.ids.next()
            return previous
        return ApplicationCommand(
            id=self.world.ids.next(),
            application_id=self.world.bot.application_id,
            guild_id=scope,
            name=name,
            type=kind,
            payload=dict(payload),
            version=self.world.ids.next(),
        )

    async def get_commands(self, call: Call) -> Reply:
        """GET the registered global or guild commands."""
        scope = self._command_scope(call)
        return ok([self._command_payload(c) for c in self.world.commands.get(scope, [])])

    async def overwrite_commands(self, call: Call) -> Reply:
        """PUT (bulk overwrite) global or guild commands."""
        scope = self._command_scope(call)
        self._reject(check_commands(call.json), call)
        existing = self.world.commands.get(scope, [])
        stored = [self._store_command(scope, dict(p), existing) for p in call.json]
        self.world.commands[scope] = stored
        return ok([self._command_payload(c) for c in stored])

    async def upsert_command(self, call: Call) -> Reply:
        """POST one command (create, or overwrite the one with the same name and type)."""
        scope = self._command_scope(call)
        self._reject(check_commands([call.json]), call)
        existing = self.world.commands.setdefault(scope, [])
        command = self._store_command(scope, dict(call.json), existing)
        if command not in existing:
            existing.append(command)
            return ok(self._command_payload(command), 201)
        return ok(self._command_payload(command))

    def _find_command(self, call: Call) -> tuple[int | None, ApplicationCommand]:
        scope = self._command_scope(call)
        wanted = int(call.params["command_id"])
        for command in self.world.commands.get(scope, []):
            if command.id == wanted:
                return scope, command
        raise unknown("application command", 10063)

    async def get_command(self, call: Call) -> Reply:
        """GET one command."""
        return ok(self._command_payload(self._find_command(call)[1]))

    async def edit_command(self, call: Call) -> Reply:
        """PATCH one command."""
        _, command = self._find_command(call)
        merged = {**command.payload, **(call.json or {})}
        self._reject(check_commands([merged]), call)
        command.payload = merged
        command.name = str(merged["name"])
        command.version = self.world.ids.next()
        return ok(self._command_payload(command))

    async def delete_command(self, call: Call) -> Reply:
        """DELETE one command."""
        scope, command = self._find_command(call)
        self.world.commands[scope].remove(command)
        return NO_CONTENT
