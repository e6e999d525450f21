"""The community report rendered: text (Japanese or English), JSON, CSV and a chart.

No Discord here: the CLI prints these, and the Discord side can post the same text
and attach the same chart (:func:`write_chart` or :func:`chart_png`). The chart
needs matplotlib (the ``report`` extra); :class:`ChartUnavailable` says so plainly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from knowledge.errors import KnowledgeError
from knowledge.report import Figures, Report

FORMATS = ("text", "json", "csv")
LANGUAGES = ("en", "ja")


class ChartUnavailable(KnowledgeError):
    """The chart cannot be drawn here (matplotlib is not installed)."""


# -- figures, in one order, for every format ----------------------------------------

_Getter = Callable[[Figures], float | int | None]

FIGURES: tuple[tuple[str, _Getter], ...] = (
    ("questions", lambda f: f.questions),
    ("answered", lambda f: f.answered),
    ("solved", lambda f: f.solved),
    ("solved_rate", lambda f: f.solved_rate),
    ("solved_by_suggestion", lambda f: f.solved_by_suggestion),
    ("first_reply_median_seconds", lambda f: f.first_reply_median_seconds),
    ("first_reply_p90_seconds", lambda f: f.first_reply_p90_seconds),
    ("solve_median_seconds", lambda f: f.solve_median_seconds),
    ("solve_p90_seconds", lambda f: f.solve_p90_seconds),
    ("unanswered", lambda f: len(f.unanswered)),
    ("answered_by_staff", lambda f: f.answered_by_staff),
    ("answered_by_members", lambda f: f.answered_by_members),
    ("answered_by_unknown", lambda f: f.answered_by_unknown),
    ("staff_share", lambda f: f.staff_share),
    ("invitations_sent", lambda f: f.invitations_sent),
    ("invitations_answered", lambda f: f.invitations_answered),
)

_INVITATIONS = frozenset({"invitations_sent", "invitations_answered"})
"""Shown in the text report only where invitations were sent (members opt in)."""

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Community report {since} – {until} ({zone}), previous period {psince} – {puntil}",
        "questions": "Questions asked",
        "answered": "Answered (a reply from someone else)",
        "solved": "Solved",
        "solved_rate": "Solved rate",
        "solved_by_suggestion": "Solved by an earlier thread",
        "first_reply_median_seconds": "Time to first reply, median",
        "first_reply_p90_seconds": "Time to first reply, 90th percentile",
        "solve_median_seconds": "Time to solve, median",
        "solve_p90_seconds": "Time to solve, 90th percentile",
        "unanswered": "Unanswered",
        "answered_by_staff": "First reply by staff",
        "answered_by_members": "First reply by members",
        "answered_by_unknown": "First reply, roles not recorded",
        "staff_share": "Share answered first by staff",
        "invitations_sent": "Invitations to earlier helpers",
        "invitations_answered": "Invitations followed by a reply",
        "previous": "previous",
        "no_staff": "(no staff roles named)",
        "unanswered_list": "Unanswered questions:",
        "recurring": "Recurring problems (questions solved by the same thread):",
        "grows": "growing",
        "steady": "not growing",
        "helpers": "Top helpers (accepted answers):",
        "none": "none",
        "untitled": "(untitled)",
    },
    "ja": {
        "title": "コミュニティレポート {since} – {until}（{zone}）、前期間 {psince} – {puntil}",
        "questions": "質問数",
        "answered": "回答あり（質問者以外の返信）",
        "solved": "解決",
        "solved_rate": "解決率",
        "solved_by_suggestion": "過去のスレッドで解決",
        "first_reply_median_seconds": "最初の返信までの時間（中央値）",
        "first_reply_p90_seconds": "最初の返信までの時間（90パーセンタイル）",
        "solve_median_seconds": "解決までの時間（中央値）",
        "solve_p90_seconds": "解決までの時間（90パーセンタイル）",
        "unanswered": "未回答",
        "answered_by_staff": "最初の返信がスタッフ",
        "answered_by_members": "最初の返信がメンバー",
        "answered_by_unknown": "最初の返信（ロール不明）",
        "staff_share": "スタッフが最初に返信した割合",
        "invitations_sent": "過去に解決した人への招待",
        "invitations_answered": "招待後に返信があった数",
        "previous": "前期間",
        "no_staff": "（スタッフのロールが未設定）",
        "unanswered_list": "未回答の質問：",
        "recurring": "繰り返される問題（同じスレッドで解決した質問）：",
        "grows": "増加",
        "steady": "増加なし",
        "helpers": "トップヘルパー（採用された回答）：",
        "none": "なし",
        "untitled": "（タイトルなし）",
    },
}


def _label(key: str, lang: str) -> str:
    return _LABELS[lang if lang in _LABELS else "en"][key]


def _duration(seconds: float, lang: str) -> str:
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    units = ("日", "時間", "分") if lang == "ja" else ("d", "h", "min")
    parts = [
        f"{v}{'' if lang == 'ja' else ' '}{u}"
        for v, u in zip((days, hours, minutes), units, strict=True)
        if v
    ]
    return " ".join(parts) or ("1分未満" if lang == "ja" else "under 1 min")


def _value(name: str, value: float | int | None, lang: str) -> str:
    if value is None:
        return "–"
    if name.endswith("_rate") or name.endswith("_share"):
        return f"{value:.0%}"
    if name.endswith("_seconds"):
        return _duration(float(value), lang)
    return str(value)


def render_text(
    report: Report, lang: str = "en", *, member_text: Callable[[str], str] = str
) -> str:
    """The report as plain text for people, in ``lang`` ("en" or "ja").

    ``member_text`` is applied to everything members wrote (titles, display names):
    a chat client passes its escaping so that markdown in a title stays literal.
    """
    p, q = report.period, report.previous_period
    lines = [
        _label("title", lang).format(
            since=p.since, until=p.until, zone=report.zone, psince=q.since, puntil=q.until
        ),
        "",
    ]
    previous = _label("previous", lang)
    staff_named = bool(report.staff_roles)
    invited = report.current.invitations_sent or report.previous.invitations_sent
    for name, get in FIGURES:
        if not staff_named and name in {"answered_by_staff", "answered_by_members", "staff_share"}:
            continue
        if not invited and name in _INVITATIONS:
            continue
        now = _value(name, get(report.current), lang)
        before = _value(name, get(report.previous), lang)
        lines.append(f"{_label(name, lang)}: {now}  ({previous}: {before})")
    if not staff_named:
        lines.append(_label("no_staff", lang))
    lines += ["", _label("unanswered_list", lang)]
    for item in report.current.unanswered:
        title = member_text(item.title) if item.title else _label("untitled", lang)
        lines.append(f"- {title}  {item.jump_url}")
    if not report.current.unanswered:
        lines.append(f"- {_label('none', lang)}")
    lines += ["", _label("recurring", lang)]
    for group in report.recurring:
        trend = _label("grows" if group.grows else "steady", lang)
        lines.append(
            f"- {member_text(group.entry.title)}: {group.count} "
            f"({previous}: {group.previous}, {trend})  "
            f"{group.entry.jump_url}"
        )
    if not report.recurring:
        lines.append(f"- {_label('none', lang)}")
    lines += ["", _label("helpers", lang)]
    for helper in report.current.top_helpers:
        lines.append(f"- {member_text(helper.name)}: {helper.answers}")
    if not report.current.top_helpers:
        lines.append(f"- {_label('none', lang)}")
    return "\n".join(lines) + "\n"


def _figures_json(f: Figures) -> dict[str, object]:
    data: dict[str, object] = {name: get(f) for name, get in FIGURES}
    data["unanswered"] = [
        {
            "thread_id": str(q.thread_id),
            "title": q.title,
            "asked_at": q.asked_at.isoformat(),
            "jump_url": q.jump_url,
        }
        for q in f.unanswered
    ]
    data["top_helpers"] = [
        {"user_id": str(h.user_id), "name": h.name, "answers": h.answers} for h in f.top_helpers
    ]
    return data


def report_json(report: Report) -> dict[str, object]:
    """The report as JSON-ready data: this period's figures at the top level, the
    previous period's under ``previous``; ids as strings (they exceed 2^53)."""
    current = _figures_json(report.current)
    previous = _figures_json(report.previous)
    current["recurring"] = [
        {
            "entry_id": g.entry.id,
            "title": g.entry.title,
            "jump_url": g.entry.jump_url,
            "count": g.count,
            "previous": g.previous,
            "grows": g.grows,
            "hits": g.entry.hits,
        }
        for g in report.recurring
    ]
    previous["recurring"] = [
        {"entry_id": g.entry.id, "title": g.entry.title, "count": g.previous}
        for g in report.recurring
        if g.previous
    ]
    for data, period in ((current, report.period), (previous, report.previous_period)):
        data["since"] = period.since.isoformat()
        data["until"] = period.until.isoformat()
    return {
        "guild_id": str(report.guild_id),
        "time_zone": report.zone,
        "staff_roles": [str(r) for r in report.staff_roles],
        **current,
        "weeks": [
            {
                "monday": w.monday.isoformat(),
                "questions": w.questions,
                "solved": w.solved,
                "first_reply_median_seconds": w.first_reply_median_seconds,
            }
            for w in report.weeks
        ],
        "previous": previous,
    }


def render_json(report: Report) -> str:
    """:func:`report_json` as a JSON document."""
    return json.dumps(report_json(report), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: Report) -> str:
    """One row per figure: ``figure, current, previous`` (times in seconds, rates as
    fractions, empty when there is nothing to measure)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "figure",
            f"{report.period.since}..{report.period.until}",
            f"{report.previous_period.since}..{report.previous_period.until}",
        ]
    )
    for name, get in FIGURES:
        writer.writerow([name, _csv(name, get(report.current)), _csv(name, get(report.previous))])
    return out.getvalue()


def _csv(name: str, value: float | int | None) -> str:
    if value is None:
        return ""
    if name.endswith("_seconds"):
        return str(round(value))
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4f}"
    return str(int(value)) if isinstance(value, float) else str(value)


def render(report: Report, fmt: str, lang: str = "en") -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "text":
        return render_text(report, lang)
    raise ValueError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")


# -- the chart --------------------------------------------------------------------------


def require_chart() -> None:
    """Raise :class:`ChartUnavailable` now if the chart could not be drawn later."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ChartUnavailable(_MISSING) from error


_MISSING = (
    "the chart needs matplotlib, which is not installed: "
    "pip install 'senpai[report]' (or pip install matplotlib)"
)


def chart_png(report: Report) -> bytes:
    """A PNG of questions, solved and median first-reply time per week (weeks start on
    Monday in the report's time zone), drawn with matplotlib's Agg canvas (no display,
    no global backend change). Labels are in English: a Japanese font cannot be
    counted on. Raises :class:`ChartUnavailable` without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise ChartUnavailable(_MISSING) from error
    labels = [w.monday.strftime("%m-%d") for w in report.weeks]
    positions = list(range(len(labels)))
    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.4
    axes.bar(
        [x - width / 2 for x in positions],
        [w.questions for w in report.weeks],
        width,
        label="Questions",
        color="#4C72B0",
    )
    axes.bar(
        [x + width / 2 for x in positions],
        [w.solved for w in report.weeks],
        width,
        label="Solved",
        color="#55A868",
    )
    axes.set_xticks(positions, labels)
    axes.set_xlabel(f"Week of (Monday, {report.zone})")
    axes.set_ylabel("Posts")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    times = axes.twinx()
    hours = [
        None if w.first_reply_median_seconds is None else w.first_reply_median_seconds / 3600
        for w in report.weeks
    ]
    times.plot(
        [x for x, h in zip(positions, hours, strict=True) if h is not None],
        [h for h in hours if h is not None],
        color="#C44E52",
        marker="o",
        label="Median first reply (h)",
    )
    times.set_ylabel("Hours")
    times.set_ylim(bottom=0)
    handles = axes.get_legend_handles_labels()
    more = times.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left")
    figure.suptitle(f"{report.period.since} – {report.period.until}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_chart(report: Report, path: Path) -> None:
    """Write :func:`chart_png` to ``path``."""
    path.write_bytes(chart_png(report))
