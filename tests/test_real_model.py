"""The sample community through the real packaged model (slow: loads all-MiniLM-L6-v2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.encoder import SentenceTransformerEncoder
from knowledge.engine import KnowledgeBase
from knowledge.importer import import_exports
from knowledge.models import Query

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "community"
GUILD_A = 915077679022095685
GUILD_B = 1148165554178931945

# From samples/questions.md: (question, expected thread id or None for silence).
SAME_LANGUAGE = [
    (
        "We switched our identity provider to Okta and now everyone bounces back from sign-in "
        "with an error about the audience not matching.",
        1460801145660059949,
    ),
    (
        "Excelから書き出した顧客リストをインポートしたら、日本語の社名が文字化けしました。",
        1463038001539044840,
    ),
    (
        "We deactivated a few people last month, but the invoice still charges us for their "
        "licenses. How do we pay for fewer users?",
        1472759588708753574,
    ),
    (
        "朝早い時間に受注した案件が、月次レポートでは前日の売上として数えられてしまいます。",
        1475786974422331629,
    ),
]
PORTAL = (
    "We pointed our own domain at the customer portal, but its SSL certificate has been "
    '"pending" for three days.'
)


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


@pytest.fixture
async def kb(tmp_path: Path, encoder):
    base = await KnowledgeBase.open(tmp_path, encoder)
    report = await import_exports(base, [SAMPLES])
    assert report.read == 16 and report.captured == 13
    yield base
    await base.close()


@pytest.mark.parametrize(("question", "thread_id"), SAME_LANGUAGE)
async def test_a_reworded_question_gets_the_thread_that_solved_it(kb, question, thread_id):
    suggestions = await kb.suggest(Query(guild_id=GUILD_A, text=question))
    assert suggestions, "expected a suggestion"
    assert suggestions[0].entry.thread_id == thread_id


async def test_a_question_about_something_new_gets_silence(kb):
    question = "Can we change a pipeline's currency from USD to EUR after deals were created?"
    assert await kb.suggest(Query(guild_id=GUILD_A, text=question)) == []


async def test_another_guild_topic_stays_in_that_guild(kb):
    assert await kb.suggest(Query(guild_id=GUILD_A, text=PORTAL)) == []
    found = await kb.suggest(Query(guild_id=GUILD_B, text=PORTAL))
    assert found and found[0].entry.thread_id == 1473940293675420194
