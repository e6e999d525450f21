"""/senpai-admin glossary: the server's own Japanese/English terms (add, remove, list,
import, export).

A community's cross-language questions hinge on its product's words (「スマート配信」 /
"Smart Send"), which no general glossary knows. Admins give them here; the core keeps
them (:mod:`knowledge.glossary_store`) and extends the bridge of the server's
questions with them. Every reply is private, in the server's language, pings nobody,
and quotes what the admin wrote escaped.

The subcommands form a group inside ``/senpai-admin`` (so Discord shows them only to
members with Manage Server, like the rest of it): this extension adds the group to the
``/senpai-admin`` of :mod:`cogs.admin`, so it loads after that one.
"""

from __future__ import annotations

import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from cogs.checks import admin_only
from cogs.context import invocation
from cogs.i18n import t
from cogs.render import CONTENT_CHARS, NO_PINGS, member_text
from cogs.services import Services, services_of
from knowledge.glossary_store import (
    MAX_TERM_CHARS,
    GlossaryImportError,
    GlossaryInputError,
    GlossaryTerm,
    ImportResult,
)

log = logging.getLogger(__name__)
_ = app_commands.locale_str

MAX_FILE_BYTES = 256 * 1024
"""The largest glossary file an admin may import."""
EXPORT_NAME = "senpai-glossary.tsv"
SHOWN_PROBLEMS = 15
"""Bad lines listed in one reply (the others are counted)."""
# What one option may hold: a term, or a few synonyms separated by '|'.
OPTION_CHARS = MAX_TERM_CHARS * 6


def problem_text(problem: GlossaryInputError, lang: str) -> str:
    """Why a term or an import line was refused, in ``lang``."""
    reason = t(f"glossary.problem.{problem.code.value}", lang, limit=problem.limit or 0)
    if problem.line is None:
        return reason
    return t("glossary.line", lang, line=problem.line, reason=reason)


def import_problems_text(error: GlossaryImportError, lang: str) -> str:
    """Every bad line of an import (the first :data:`SHOWN_PROBLEMS`, then a count)."""
    lines = [t("glossary.import_bad", lang)]
    lines += [f"- {problem_text(p, lang)}" for p in error.problems[:SHOWN_PROBLEMS]]
    hidden = len(error.problems) - SHOWN_PROBLEMS
    if hidden > 0:
        lines.append(t("glossary.more_problems", lang, count=hidden))
    return "\n".join(lines)


def term_text(term: GlossaryTerm) -> str:
    """One term, escaped: 「スマート配信」 → Smart Send / smart delivery."""
    english = " / ".join(member_text(e, MAX_TERM_CHARS) for e in term.english)
    return f"「{member_text(term.japanese, MAX_TERM_CHARS)}」 → {english}"


def list_text(terms: list[GlossaryTerm], lang: str) -> str:
    """The server's terms, as many as fit in one message, then how many more."""
    if not terms:
        return t("glossary.empty", lang)
    lines = [t("glossary.list_head", lang, count=len(terms))]
    used = len(lines[0])
    budget = CONTENT_CHARS - 200  # room for the "and N more" line
    shown = 0
    for term in terms:
        line = f"- {term_text(term)}"
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    if shown < len(terms):
        lines.append(t("glossary.list_more", lang, count=len(terms) - shown))
    return "\n".join(lines)


def saved_text(result: ImportResult, japanese: str, english: str, lang: str) -> str:
    """What adding one term did."""
    key = "added" if result.added else "updated" if result.updated else "unchanged"
    return t(
        f"glossary.{key}",
        lang,
        japanese=member_text(japanese, MAX_TERM_CHARS),
        english=member_text(english, OPTION_CHARS),
    )


async def _reply(interaction: discord.Interaction, text: str, **extra: object) -> None:
    await interaction.response.send_message(
        text,
        ephemeral=True,
        allowed_mentions=NO_PINGS,
        **extra,  # type: ignore[arg-type]
    )


class GlossaryCommands(app_commands.Group):
    """/senpai-admin glossary: the server's own Japanese/English terms."""

    def __init__(self) -> None:
        super().__init__(
            name=_("glossary"),
            description=_("This server's own Japanese/English terms for search (admins)"),
            guild_only=True,
        )

    @app_commands.command(
        name=_("add"), description=_("Add a term: Japanese, and its English (admins)")
    )
    @app_commands.rename(japanese=_("japanese"), english=_("english"))
    @app_commands.describe(
        japanese=_("The Japanese term, e.g. スマート配信"),
        english=_("Its English, e.g. Smart Send (| between synonyms)"),
    )
    @admin_only()
    async def add(
        self,
        interaction: discord.Interaction,
        japanese: app_commands.Range[str, 1, OPTION_CHARS],
        english: app_commands.Range[str, 1, OPTION_CHARS],
    ) -> None:
        """Add a term, or change the English of one the server has."""
        if interaction.guild_id is None:
            return
        where = await invocation(interaction)
        try:
            result = await where.services.kb.add_glossary_term(
                interaction.guild_id, japanese, english, added_by=interaction.user.id
            )
        except GlossaryInputError as problem:
            await _reply(interaction, problem_text(problem, where.lang))
            return
        await _reply(interaction, saved_text(result, japanese, english, where.lang))

    @app_commands.command(name=_("remove"), description=_("Remove one of this server's terms"))
    @app_commands.rename(japanese=_("japanese"))
    @app_commands.describe(japanese=_("The Japanese term to remove"))
    @admin_only()
    async def remove(
        self,
        interaction: discord.Interaction,
        japanese: app_commands.Range[str, 1, OPTION_CHARS],
    ) -> None:
        """Remove a term."""
        if interaction.guild_id is None:
            return
        where = await invocation(interaction)
        removed = await where.services.kb.remove_glossary_term(interaction.guild_id, japanese)
        key = "glossary.removed" if removed else "glossary.not_found"
        await _reply(interaction, t(key, where.lang, japanese=member_text(japanese, OPTION_CHARS)))

    @app_commands.command(name=_("list"), description=_("Show this server's terms"))
    @admin_only()
    async def list_terms(self, interaction: discord.Interaction) -> None:
        """The server's terms (as many as one message holds)."""
        if interaction.guild_id is None:
            return
        where = await invocation(interaction)
        terms = await where.services.kb.glossary_terms(interaction.guild_id)
        await _reply(interaction, list_text(terms, where.lang))

    @app_commands.command(
        name=_("import"),
        description=_("Add terms from a file: one 'Japanese<TAB>English' per line (admins)"),
    )
    @app_commands.rename(file=_("file"))
    @app_commands.describe(file=_("A UTF-8 text file (.tsv): Japanese<TAB>English per line"))
    @admin_only()
    async def import_file(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Add or change every term of a file, or none when a line is bad (each named)."""
        if interaction.guild_id is None:
            return
        where = await invocation(interaction)
        lang = where.lang
        if file.size > MAX_FILE_BYTES:
            await _reply(interaction, t("glossary.too_big", lang, limit=MAX_FILE_BYTES // 1024))
            return
        try:
            text = (await file.read()).decode("utf-8")
        except UnicodeDecodeError:
            await _reply(interaction, t("glossary.not_text", lang))
            return
        except discord.HTTPException as error:
            log.warning(
                "guild %d: glossary file %d unreadable (%s)", interaction.guild_id, file.id, error
            )
            await _reply(interaction, t("glossary.unreadable", lang))
            return
        try:
            result = await where.services.kb.import_glossary(
                interaction.guild_id, text, added_by=interaction.user.id
            )
        except GlossaryImportError as error:
            await _reply(interaction, import_problems_text(error, lang))
            return
        except GlossaryInputError as problem:
            await _reply(
                interaction,
                t("glossary.nothing_imported", lang) + " " + problem_text(problem, lang),
            )
            return
        await _reply(
            interaction,
            t(
                "glossary.imported",
                lang,
                added=result.added,
                updated=result.updated,
                unchanged=result.unchanged,
            ),
        )

    @app_commands.command(
        name=_("export"), description=_("This server's terms as a file to edit and import")
    )
    @admin_only()
    async def export(self, interaction: discord.Interaction) -> None:
        """The server's terms as a TSV file."""
        if interaction.guild_id is None:
            return
        where = await invocation(interaction)
        kb = where.services.kb
        terms = await kb.glossary_terms(interaction.guild_id)
        if not terms:
            await _reply(interaction, t("glossary.empty", where.lang))
            return
        data = (await kb.export_glossary(interaction.guild_id)).encode("utf-8")
        await _reply(
            interaction,
            t("glossary.exported", where.lang, count=len(terms)),
            file=discord.File(io.BytesIO(data), filename=EXPORT_NAME),
        )


class Glossary(commands.Cog):
    """Adds ``/senpai-admin glossary`` to the admin group."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self.group = GlossaryCommands()

    def _admin_group(self) -> app_commands.Group:
        admin = self.bot.tree.get_command("senpai-admin")
        if not isinstance(admin, app_commands.Group):
            raise commands.ExtensionError(
                "cogs.glossary adds to /senpai-admin: load cogs.admin first",
                name="cogs.glossary",
            )
        return admin

    async def cog_load(self) -> None:
        self._admin_group().add_command(self.group)

    async def cog_unload(self) -> None:
        admin = self.bot.tree.get_command("senpai-admin")
        if isinstance(admin, app_commands.Group):
            admin.remove_command(self.group.name)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Glossary(bot, services_of(bot)))
