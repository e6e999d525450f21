"""Who may do what: admin commands, marking solutions, dismissing, and what a member may see."""

from __future__ import annotations

from unittest import mock

import discord
import pytest
from discord import app_commands

from cogs.checks import (
    ADMIN_PERMISSIONS,
    NotAdmin,
    admin_only,
    may_dismiss,
    may_mark_solution,
    require_admin,
    scopes_for_forum,
    scopes_for_member,
)
from knowledge.models import PUBLIC_SCOPE, GuildSettings, private_scope

HELPER_ROLE = 50


def member(user_id: int = 1, role_ids: tuple[int, ...] = (), **permissions: bool) -> mock.Mock:
    m = mock.Mock(spec_set=discord.Member)
    m.id = user_id
    m.guild_permissions = discord.Permissions(**permissions)
    roles = []
    for role_id in role_ids:
        role = mock.Mock(spec_set=discord.Role)
        role.id = role_id
        roles.append(role)
    m.roles = roles
    return m


def interaction_by(user: object) -> mock.Mock:
    interaction = mock.Mock(spec_set=discord.Interaction)
    interaction.user = user
    return interaction


def thread_of(owner_id: int) -> mock.Mock:
    thread = mock.Mock(spec_set=discord.Thread)
    thread.owner_id = owner_id
    return thread


def forum(forum_id: int, *, public: bool, member_sees: bool = True) -> mock.Mock:
    channel = mock.Mock(spec_set=discord.ForumChannel)
    channel.id = forum_id

    def permissions_for(who: object) -> discord.Permissions:
        if who is channel.guild.default_role:
            return discord.Permissions(view_channel=public)
        return discord.Permissions(view_channel=member_sees)

    channel.permissions_for.side_effect = permissions_for
    return channel


# -- admin commands ------------------------------------------------------------------------


@pytest.mark.parametrize("permission", ["manage_guild", "administrator"])
def test_an_admin_passes_the_runtime_check(permission: str):
    assert require_admin(interaction_by(member(**{permission: True})))


@pytest.mark.parametrize(
    "user",
    [
        member(manage_threads=True, manage_messages=True),
        mock.Mock(spec_set=discord.User),  # no guild: not a member
    ],
)
def test_anyone_else_is_refused_with_not_admin(user: object):
    with pytest.raises(NotAdmin):
        require_admin(interaction_by(user))


def test_not_admin_is_a_check_failure_so_the_error_handler_receives_it():
    assert issubclass(NotAdmin, app_commands.CheckFailure)


def test_admin_only_sets_the_default_permission_and_the_runtime_check_on_a_command():
    @app_commands.command(name="wipe", description="d")
    @admin_only()
    async def wipe(interaction: discord.Interaction) -> None:
        """Wipe."""

    assert wipe.default_permissions == ADMIN_PERMISSIONS
    assert wipe.checks == [require_admin]


def test_admin_only_sets_the_default_permission_on_a_group():
    group = admin_only()(app_commands.Group(name="admin", description="d"))
    assert group.default_permissions == ADMIN_PERMISSIONS
    assert discord.Permissions(manage_guild=True) == ADMIN_PERMISSIONS


# -- marking solutions and dismissing -------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (member(user_id=7), True),  # the asker
        (member(user_id=2, role_ids=(HELPER_ROLE,)), True),
        (member(user_id=2, manage_threads=True), True),
        (member(user_id=2, administrator=True), True),
        (member(user_id=2, role_ids=(99,)), False),
    ],
)
def test_the_asker_a_helper_or_a_moderator_may_mark_a_solution(who: mock.Mock, allowed: bool):
    settings = GuildSettings(1, helper_roles=(HELPER_ROLE,))
    assert may_mark_solution(who, thread_of(owner_id=7), settings) is allowed


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (member(user_id=7), True),
        (member(user_id=2, manage_guild=True), True),
        (member(user_id=2, role_ids=(HELPER_ROLE,)), False),
    ],
)
def test_only_the_asker_or_a_moderator_may_dismiss(who: mock.Mock, allowed: bool):
    assert may_dismiss(who, thread_of(owner_id=7)) is allowed


# -- what may be shown where ----------------------------------------------------------------


def test_a_reply_in_a_private_forum_may_show_its_own_entries_and_public_ones():
    assert scopes_for_forum(forum(3, public=True)) == frozenset({PUBLIC_SCOPE})
    assert scopes_for_forum(forum(4, public=False)) == frozenset({PUBLIC_SCOPE, private_scope(4)})


def test_a_member_sees_public_entries_and_the_private_forums_they_can_read():
    reader = member()
    guild = mock.Mock(spec_set=discord.Guild)
    text_channel = mock.Mock(spec_set=discord.TextChannel)
    guild.channels = [
        forum(3, public=True),
        forum(4, public=False, member_sees=True),
        forum(5, public=False, member_sees=False),
        text_channel,
    ]
    reader.guild = guild
    assert scopes_for_member(reader) == frozenset({PUBLIC_SCOPE, private_scope(4)})
    text_channel.permissions_for.assert_not_called()
