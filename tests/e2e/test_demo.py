"""``senpai demo``: the scripted story really happens, and a broken story fails loudly."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from senpai.app import Settings, close_services, open_services
from senpai.demo import STORIES, DemoFailed, play, run_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_the_story_happens_in_each_language(encoder, lang):
    out = io.StringIO()
    await run_demo(lang, encoder, None, out)
    text = out.getvalue()
    story = STORIES[lang]
    assert story.title in text and story.second_title in text
    headline = "Someone already faced this" if lang == "en" else "同じ問題を解決した先輩がいます"
    assert headline in text
    report = "Community report" if lang == "en" else "コミュニティレポート"
    assert report in text and story.report_line in text  # the admin's view of the story
    assert "[senpai-report.png]" in text
    assert text.rstrip().splitlines()[-1].startswith(story.lines["ok"][:8])


async def test_a_story_whose_second_question_is_unrelated_fails_with_the_reason(
    encoder, tmp_path, monkeypatch
):
    monkeypatch.setattr("senpai.demo.SUGGESTION_TIMEOUT", 2.0)
    story = dataclasses.replace(
        STORIES["en"],
        second_title="Pipeline currency",
        second_body="Can we change a pipeline's currency from USD to EUR?",
    )
    settings = Settings(data_dir=tmp_path, model=encoder.name, nudge_poll_seconds=0.2)
    services = await open_services(settings, encoder=encoder)
    try:
        with pytest.raises(DemoFailed, match="suggestion"):
            await play(story, services, io.StringIO())
    finally:
        await close_services(services)


def test_the_demo_command_exits_zero_when_the_story_happened():
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "senpai", "demo", "--lang", "en"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "The story happened" in done.stdout
    assert "Traceback" not in done.stderr
