"""`invoice-worker preview` renders the card-failed, rewards-code and redemption emails."""

from __future__ import annotations

import pytest

from worker.emails.preview import preview
from worker.resources import fixtures_dir
from worker.settings import Settings

DUTCH_SUBJECTS = {
    "card_failed": "Creditcardbetaling voor factuur INV-0000001 mislukt",
    "rewards_code": "Uw Support Rewards voor januari 2026: US$\xa01.250,00",
    "redemption": "Support Rewards ingewisseld voor factuur INV-0000001",
}


@pytest.mark.parametrize("kind", sorted(DUTCH_SUBJECTS))
def test_preview_renders_each_notice_in_dutch(kind, tmp_path):
    # When previewed in nl-NL from its fixture (what `invoice-worker preview` runs)
    paths = preview(kind, "nl-NL", tmp_path, Settings())
    # Then the four files are written, in Dutch
    target = tmp_path / kind / "nl-NL"
    assert sorted(p.name for p in target.iterdir()) == ["body.html", "body.txt", "message.eml", "subject.txt"]
    assert (target / "subject.txt").read_text(encoding="utf-8").strip() == DUTCH_SUBJECTS[kind]
    assert "Beste Els de Vries" in (target / "body.txt").read_text(encoding="utf-8")
    assert target / "message.eml" in paths


def test_the_rewards_preview_fixture_holds_an_example_code_not_a_real_one():
    text = (fixtures_dir() / "preview" / "rewards_code.json").read_text(encoding="utf-8")
    assert '"redemption_code": "PREVIEW-0000-EXAMPLE"' in text
