"""The ``senpai`` command: import history, ask, rebuild, stats, report, forget.

This is the runner: it reads settings and the environment, wires the
knowledge base together, and renders results for a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from knowledge.db import DatabaseError, redact
from knowledge.engine import (
    DB_FILE,
    INDEX_DIR,
    KnowledgeBase,
    KnowledgeError,
    RebuildProgress,
)
from knowledge.migrator import SchemaOutdated, SchemaTooNew
from knowledge.models import PUBLIC_SCOPE, Query, Suggestion, private_scope
from knowledge.shards import ShardError, parse_shard_ids
from senpai import config
from senpai.app import Settings, open_knowledge_base, services_for

log = logging.getLogger("senpai")


class CliError(Exception):
    """A problem with what the user asked for; printed without a traceback."""


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0

    def update(self, done: int, total: int, eta: float | None = None) -> None:
        now = time.monotonic()
        final = done >= total
        if not final and now - self._last < (0.1 if self.tty else 2.0):
            return
        self._last = now
        width = 28
        fraction = 1.0 if total <= 0 else min(1.0, done / total)
        filled = round(width * fraction)
        bar = "#" * filled + "-" * (width - filled)
        tail = f" eta {eta:4.0f}s" if eta is not None and not final else ""
        line = f"{self.label} [{bar}] {done}/{total}{tail}"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def rebuild_callback(self) -> Callable[[RebuildProgress], None]:
        return lambda p: self.update(p.done, p.total, p.eta)


def _common_options(*, in_subcommand: bool) -> argparse.ArgumentParser:
    """Options every command takes, accepted before or after the subcommand.

    The copy attached to each subcommand has no defaults of its own
    (``argparse.SUPPRESS``): otherwise ``senpai --data-dir X forget ...`` would
    have the subcommand's default silently replace the ``X`` given before it.
    """
    common = argparse.ArgumentParser(add_help=False)
    suppress = {"default": argparse.SUPPRESS} if in_subcommand else {}
    common.add_argument(
        "--data-dir",
        help=f"where the knowledge base lives (default: ${config.DATA_DIR_ENV}, "
        "else a per-user data directory)",
        **suppress,
    )
    common.add_argument(
        "--database-url",
        help="postgresql://user:password@host:port/database: keep the knowledge base in "
        f"PostgreSQL, shared by several processes (default: ${config.DATABASE_URL_ENV}, "
        "else SQLite in the data directory)",
        **suppress,
    )
    common.add_argument(
        "--model",
        help="sentence-transformers model name or path (default: the packaged "
        f"{config.model_name()!s}; ${config.MODEL_ENV} also works)",
        **suppress,
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens", **suppress)
    return common


def _build_parser() -> argparse.ArgumentParser:
    common = _common_options(in_subcommand=True)
    parser = argparse.ArgumentParser(
        prog="senpai",
        description="Senpai: solved forum threads in, 'someone already faced this' out.",
        parents=[_common_options(in_subcommand=False)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "import",
        parents=[common],
        help="import DiscordChatExporter JSON exports of forum posts",
        description="Import DiscordChatExporter JSON exports (one file per forum post). "
        "A file that cannot be read is named with its reason and skipped; the others "
        "are still imported.",
        epilog="exit status:\n"
        "  0  every file was read (unsolved threads are listed, but are not errors)\n"
        "  1  some files were read, others were skipped (listed with their reasons)\n"
        "  2  nothing could be read (no such path, unreadable, or no export in it)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="export files, or directories searched for *.json files",
    )
    p.add_argument(
        "--private",
        action="store_true",
        help="these forums are not public: suggest their threads only inside the same forum",
    )
    p.add_argument(
        "--widen-scope",
        action="store_true",
        help="threads stored as private may become visible more widely (as this import says); "
        "without it they stay private and are listed as not capturable",
    )

    p = sub.add_parser("ask", parents=[common], help="show what a new post would be suggested")
    p.add_argument("text", nargs="+", help="the question, as a member would post it")
    p.add_argument("--guild", type=_int_id, help="guild id (needed when several guilds are stored)")
    p.add_argument(
        "--forum",
        type=_int_id,
        help="ask from inside this private forum (its private threads become visible)",
    )
    p.add_argument(
        "--title", default="", help="the post's title, when TEXT is its body (weighs in the match)"
    )
    p.add_argument("--limit", type=int, default=3, help="at most this many suggestions")
    p.add_argument("--json", action="store_true", help="print JSON")

    sub.add_parser("rebuild", parents=[common], help="re-encode every entry into a new index")

    p = sub.add_parser("stats", parents=[common], help="what the knowledge base holds")
    p.add_argument("--guild", type=_int_id, help="only this guild")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "report",
        parents=[common],
        help="the community's figures for a period, beside the previous period",
        description="Questions asked, answered and solved, times to first reply and to "
        "solve, unanswered posts, recurring problems, top helpers and staff vs members, "
        "for [SINCE, UNTIL) in the time zone --tz, each beside the previous period of "
        "as many days. The README's 'Community figures' says how each is counted.",
    )
    p.add_argument("--since", required=True, type=_day, help="first day (YYYY-MM-DD)")
    p.add_argument(
        "--until", required=True, type=_day, help="the day after the last one (YYYY-MM-DD)"
    )
    p.add_argument("--tz", default="UTC", type=_zone, help="time zone of the days (default UTC)")
    p.add_argument("--format", choices=["text", "json", "csv"], default="text")
    p.add_argument("--lang", choices=["en", "ja"], default="en", help="language of the text")
    p.add_argument("--chart", type=Path, metavar="PATH", help="also write a weekly chart (PNG)")
    p.add_argument("--guild", type=_int_id, help="guild id (needed when several guilds are stored)")
    p.add_argument(
        "--staff-role",
        type=_int_id,
        action="append",
        dest="staff_roles",
        metavar="ROLE_ID",
        help="a staff role id (repeat for several; default: the roles the server's admins named)",
    )

    p = sub.add_parser(
        "forget",
        parents=[common],
        help="remove everything a member asked and answered, or everything of a server",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=_int_id, help="the member's user id")
    who.add_argument("--guild", type=_int_id, help="the server's id: remove all its data")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="play a short community story against a local Discord, offline",
    )
    p.add_argument("--lang", choices=["ja", "en"], default="en", help="the story's language")

    p = sub.add_parser(
        "run",
        parents=[common],
        help=f"run the Discord bot (token from ${config.TOKEN_ENV} or a .env file)",
        description="Run the Discord bot. A bot in many servers runs as several shards, "
        "in one process or spread over several processes that share one data directory "
        "(or database): give each process the same --shard-count and its own --shard-ids.",
    )
    p.add_argument(
        "--shard-count",
        type=_shard_count,
        metavar="N",
        help="the total number of shards (default: no sharding)",
    )
    p.add_argument(
        "--shard-ids",
        type=_shard_ids,
        metavar="A,B",
        help="the shards this process runs, numbered from 0 (default: all N); needs --shard-count",
    )

    p = sub.add_parser(
        "glossary",
        parents=[common],
        help="a server's own Japanese/English terms for cross-language search",
        description="A server's own product vocabulary (e.g. スマート配信 / Smart Send), added to "
        "the glossary that bridges Japanese and English questions. The same as "
        "/senpai-admin glossary in Discord.",
    )
    actions = p.add_subparsers(dest="glossary_action", required=True, metavar="ACTION")
    g = actions.add_parser("add", parents=[common], help="add a term (or change its English)")
    g.add_argument("japanese", type=_argument_text, help="the Japanese term")
    g.add_argument("english", type=_argument_text, help="its English ('|' between synonyms)")
    g = actions.add_parser("remove", parents=[common], help="remove a term")
    g.add_argument("japanese", type=_argument_text, help="the Japanese term")
    actions.add_parser(
        "list", parents=[common], help="print the terms as 'Japanese<TAB>English' lines"
    )
    g = actions.add_parser(
        "import",
        parents=[common],
        help="add the terms of a UTF-8 file of 'Japanese<TAB>English' lines (all or none)",
    )
    g.add_argument("file", type=Path, help="the file ('-' for standard input)")
    for action in actions.choices.values():
        action.add_argument("--guild", type=_int_id, required=True, help="the server's id")
    return parser


def _int_id(text: str) -> int:
    """A Discord id given on the command line: a positive integer below 2**63."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a Discord id: {text!r}") from None
    if not 0 < value < 2**63:
        raise argparse.ArgumentTypeError(f"not a Discord id (out of range): {text}")
    return value


def _shard_count(text: str) -> int:
    """``--shard-count``: a whole number of shards, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of shards: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the shard count must be at least 1, not {value}")
    return value


def _shard_ids(text: str) -> tuple[int, ...]:
    """``--shard-ids``: comma-separated shard numbers."""
    try:
        return parse_shard_ids(text)
    except ShardError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _day(text: str) -> date:
    """A calendar day given on the command line."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _zone(text: str) -> ZoneInfo:
    """An IANA time zone name (Asia/Tokyo, Europe/Paris, UTC)."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r} (use an IANA name such as Asia/Tokyo or UTC)"
        ) from None


def _argument_text(text: str) -> str:
    """Command-line text as valid Unicode: bytes that are not UTF-8 become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


async def _open(
    args: argparse.Namespace, *, rebuild: bool = True, readonly: bool = False
) -> KnowledgeBase:
    settings = Settings.resolve(
        data_dir=args.data_dir, model=args.model, database_url=args.database_url
    )
    directory = settings.data_dir
    if directory.exists() and not directory.is_dir():
        raise CliError(f"the data directory {directory} is a file, not a directory")
    index_dir = directory / INDEX_DIR
    if index_dir.exists() and not index_dir.is_dir():
        raise CliError(f"{index_dir} is a file; Senpai keeps its vector index in a directory there")
    bar = ProgressBar("rebuilding index")
    try:
        return await open_knowledge_base(
            settings,
            rebuild_if_needed=rebuild,
            progress=bar.rebuild_callback(),
            readonly=readonly,
        )
    except (SchemaTooNew, SchemaOutdated, DatabaseError) as error:
        raise CliError(str(error)) from error


def _read_only(args: argparse.Namespace) -> bool:
    """Commands that only read open the database read-only when they cannot write it."""
    if config.database_url(args.database_url):
        return False
    directory = config.data_dir(args.data_dir)
    database = directory / DB_FILE
    if not database.is_file():
        return False
    return not (os.access(directory, os.W_OK) and os.access(database, os.W_OK))


async def _with_kb(
    args: argparse.Namespace,
    action: Callable[[KnowledgeBase], Awaitable[int]],
    *,
    rebuild: bool = True,
    readonly: bool = False,
) -> int:
    kb = await _open(args, rebuild=rebuild, readonly=readonly)
    try:
        return await action(kb)
    finally:
        await kb.close()


async def _cmd_import(args: argparse.Namespace) -> int:
    from knowledge.importer import import_exports

    if not any(p.exists() or p.is_symlink() for p in args.paths):
        raise CliError("no such file or directory: " + ", ".join(str(p) for p in args.paths))

    async def run(kb: KnowledgeBase) -> int:
        bar = ProgressBar("importing")
        report = await import_exports(
            kb,
            args.paths,
            private=args.private,
            widen_scope=args.widen_scope,
            progress=bar.update,
        )
        print(
            f"read {report.read} thread(s): {report.captured} captured, {report.updated} updated, "
            f"{len(report.skipped)} skipped; question history recorded for "
            f"{report.histories} post(s)"
        )
        for source, reason in report.skipped:
            print(f"  skipped {source}: {reason}")
        for source in report.widened:
            print(f"  made visible more widely (--widen-scope): {source}")
        if report.read == 0:
            print("senpai: nothing could be read; see the reasons above", file=sys.stderr)
            return 2
        if report.files_skipped:
            print(f"{report.files_skipped} file(s) could not be read; see the reasons above")
            return 1
        return 0

    return await _with_kb(args, run)


def _single_guild(
    explicit: int | None,
    guilds: Sequence[int],
    empty: str = "the knowledge base is empty: import something first (senpai import PATH)",
) -> int:
    """``--guild``, else the only guild there is; a clear error otherwise."""
    if explicit is not None:
        return explicit
    if len(guilds) == 1:
        return guilds[0]
    if not guilds:
        raise CliError(empty)
    raise CliError(
        "the knowledge base holds several guilds; choose one with --guild: "
        + ", ".join(str(g) for g in guilds)
    )


def _suggestion_json(s: Suggestion) -> dict[str, object]:
    e = s.entry
    return {
        "thread_id": str(e.thread_id),
        "title": e.title,
        "score": round(s.score, 4),
        "confidence": None if s.confidence is None else round(s.confidence, 4),
        "dense": round(s.dense, 4),
        "lexical": round(s.lexical, 4),
        "signals": list(s.signals),
        "jump_url": e.jump_url,
        "answered_by": e.answerer_name,
        "hits": e.hits,
        "language": e.language,
        "answer": e.answer,
    }


async def _cmd_ask(args: argparse.Namespace) -> int:
    from knowledge.cleaning import gist

    text = _argument_text(" ".join(args.text)).strip()
    title = _argument_text(args.title)
    if not text:
        raise CliError("the question is empty")
    if args.limit < 1:
        raise CliError("--limit must be at least 1")

    async def run(kb: KnowledgeBase) -> int:
        guild = _single_guild(args.guild, await kb.guild_ids())
        scopes = {PUBLIC_SCOPE}
        if args.forum is not None:
            scopes.add(private_scope(args.forum))
        suggestions = await kb.suggest(
            Query(
                guild_id=guild,
                text=f"{title}\n{text}" if title else text,
                title=title,
                allowed_scopes=frozenset(scopes),
                limit=args.limit,
            )
        )
        if args.json:
            print(json.dumps([_suggestion_json(s) for s in suggestions], ensure_ascii=False))
            return 0
        if not suggestions:
            print("No solved thread is close enough: Senpai stays silent.")
            return 0
        print("Someone already faced this:")
        for rank, s in enumerate(suggestions, start=1):
            e = s.entry
            print(f"{rank}. {e.title}  (score {s.score:.2f}, {'+'.join(s.signals)})")
            print(f"   solved by {e.answerer_name}: {gist(e.answer)}")
            print(f"   {e.jump_url}")
        return 0

    return await _with_kb(args, run, readonly=_read_only(args))


async def _cmd_rebuild(args: argparse.Namespace) -> int:
    async def run(kb: KnowledgeBase) -> int:
        bar = ProgressBar("rebuilding index")
        report = await kb.rebuild(bar.rebuild_callback())
        print(f"index rebuilt: {report.entries} entries in {report.seconds:.1f} s")
        return 0

    return await _with_kb(args, run, rebuild=False)


async def _cmd_stats(args: argparse.Namespace) -> int:
    async def run(kb: KnowledgeBase) -> int:
        stats = await kb.stats(args.guild)
        if args.json:
            print(
                json.dumps(
                    {
                        "entries": stats.entries,
                        "guilds": stats.guilds,
                        "by_language": stats.by_language,
                        "by_scope": stats.by_scope,
                        "answerers": stats.answerers,
                        "hits": stats.total_hits,
                        "feedback": stats.feedback,
                        "top_answerers": [
                            {"user_id": str(u), "name": n, "answers": c}
                            for u, n, c in stats.top_answerers
                        ],
                        "index_entries": stats.index_entries,
                        "index_fresh": stats.index_fresh,
                    },
                    ensure_ascii=False,
                )
            )
            return 0
        langs = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_language.items())) or "-"
        scopes = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_scope.items())) or "-"
        print(f"data directory: {config.data_dir(args.data_dir)}")
        url = config.database_url(args.database_url)
        if url:
            print(f"database: {redact(url)}")
        print(f"entries: {stats.entries} in {stats.guilds} guild(s)  (languages: {langs})")
        print(f"visibility: {scopes}")
        print(f"members credited with answers: {stats.answerers}")
        print(f"later questions solved by a suggestion: {stats.total_hits}")
        feedback = ", ".join(f"{k} {v}" for k, v in sorted(stats.feedback.items())) or "none"
        print(f"feedback: {feedback}")
        if stats.top_answerers:
            print("top answerers: " + ", ".join(f"{n} ({c})" for _, n, c in stats.top_answerers))
        state = "up to date" if stats.index_fresh else "needs a rebuild"
        print(f"vector index: {stats.index_entries or 0} entries, {state}")
        return 0

    return await _with_kb(args, run, rebuild=False, readonly=_read_only(args))


async def _cmd_report(args: argparse.Namespace) -> int:
    from knowledge.report_format import render, require_chart, write_chart

    if args.until <= args.since:
        raise CliError(f"--until ({args.until}) must be after --since ({args.since})")
    chart: Path | None = args.chart
    if chart is not None and chart.is_dir():
        raise CliError(f"--chart {chart} is a directory; give a file name such as report.png")
    if chart is not None:
        require_chart()  # before any work: say now that matplotlib is missing

    async def run(kb: KnowledgeBase) -> int:
        guild = _single_guild(
            args.guild,
            await kb.report_guild_ids(),
            "nothing to report: import something first (senpai import PATH)",
        )
        report = await kb.report(
            guild, args.since, args.until, zone=args.tz, staff_roles=args.staff_roles
        )
        if chart is not None:
            try:
                write_chart(report, chart)
            except OSError as error:
                raise CliError(f"cannot write the chart to {chart}: {error.strerror}") from error
        sys.stdout.write(render(report, args.format, args.lang))
        if chart is not None:
            print(f"chart written to {chart}", file=sys.stderr)
        return 0

    return await _with_kb(args, run, rebuild=False, readonly=_read_only(args))


async def _cmd_forget(args: argparse.Namespace) -> int:
    target = f"user {args.user}" if args.user is not None else f"server {args.guild}"
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("forget removes content for good: pass --yes to confirm")
        what = (
            "everything user {} asked and answered"
            if args.user is not None
            else ("all data of server {}")
        )
        answer = input(f"Remove {what.format(args.user or args.guild)}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing removed")
            return 1

    async def run(kb: KnowledgeBase) -> int:
        if args.user is not None:
            removed = await kb.forget_member(args.user)
        else:
            removed = await kb.forget_guild(args.guild)
        print(
            f"removed {removed.entries} entr{'y' if removed.entries == 1 else 'ies'}, "
            f"{removed.feedback_count} feedback record(s) and {removed.questions} question "
            f"record(s) for {target}"
        )
        for thread_id in removed.thread_ids:
            print(f"  thread {thread_id}")
        return 0

    return await _with_kb(args, run)


def _glossary_file(path: Path) -> str:
    """The text of a glossary file (``-``: standard input), or a clear error."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CliError(f"{path} is not UTF-8 text (byte {error.start})") from error


async def _cmd_glossary(args: argparse.Namespace) -> int:
    from knowledge.glossary_store import GlossaryImportError

    text = _glossary_file(args.file) if args.glossary_action == "import" else ""

    async def run(kb: KnowledgeBase) -> int:
        guild = args.guild
        try:
            if args.glossary_action == "add":
                result = await kb.add_glossary_term(
                    guild, args.japanese, args.english, added_by=None
                )
                what = "added" if result.added else "changed" if result.updated else "unchanged"
                print(f"{what}: {args.japanese}")
            elif args.glossary_action == "remove":
                if not await kb.remove_glossary_term(guild, args.japanese):
                    raise CliError(f"server {guild} has no term {args.japanese!r}")
                print(f"removed: {args.japanese}")
            elif args.glossary_action == "list":
                sys.stdout.write(await kb.export_glossary(guild))
            else:
                result = await kb.import_glossary(guild, text, added_by=None)
                print(
                    f"imported into server {guild}: {result.added} added, "
                    f"{result.updated} changed, {result.unchanged} already there"
                )
        except GlossaryImportError as error:
            print(f"senpai: nothing imported from {args.file}:", file=sys.stderr)
            for problem in error.problems:
                print(f"  {problem}", file=sys.stderr)
            return 2
        return 0

    readonly = args.glossary_action == "list" and _read_only(args)
    return await _with_kb(args, run, rebuild=False, readonly=readonly)


async def _cmd_demo(args: argparse.Namespace) -> int:
    from senpai.demo import DemoFailed, run_demo

    encoder = config.make_encoder(config.model_name(args.model))
    explicit = Path(args.data_dir).expanduser() if args.data_dir else None
    try:
        await run_demo(args.lang, encoder, explicit, sys.stdout)
    except DemoFailed as error:
        print(f"senpai demo: the story did not happen: {error}", file=sys.stderr)
        return 1
    return 0


async def _cmd_run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.resolve(
            data_dir=args.data_dir,
            model=args.model,
            shard_count=args.shard_count,
            shard_ids=args.shard_ids,
            database_url=args.database_url,
        )
    except ShardError as error:
        raise CliError(str(error)) from error
    token = config.discord_token()
    if not token:
        raise CliError(
            f"no Discord bot token: set {config.TOKEN_ENV} in the environment or in a .env file "
            "(see the README for creating the application)"
        )
    from cogs.bot import run_bot

    async def run(kb: KnowledgeBase) -> int:
        await run_bot(services_for(kb, settings), token, settings.shards())
        return 0

    return await _with_kb(args, run)


_COMMANDS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
    "run": _cmd_run,
    "demo": _cmd_demo,
    "import": _cmd_import,
    "ask": _cmd_ask,
    "rebuild": _cmd_rebuild,
    "stats": _cmd_stats,
    "report": _cmd_report,
    "forget": _cmd_forget,
    "glossary": _cmd_glossary,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``senpai`` command."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config.quiet_model_loading()
    try:
        return asyncio.run(_COMMANDS[args.command](args))
    except (CliError, KnowledgeError, DatabaseError) as error:
        print(f"senpai: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("senpai: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
