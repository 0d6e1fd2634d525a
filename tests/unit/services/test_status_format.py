"""`status --invoice` as text (worker/services/status.py format_status): one line per history entry
and recipient touched, bounce reports included. Pure: rows as collect_status returns them."""

from __future__ import annotations

from worker.services.status import format_status

AT = 1_780_000_000.0  # 2026-05-28T20:26:40Z


def row(history: list[dict]) -> dict:
    return {
        "delivery": "invoice:INV-0000001",
        "locale": "nl-NL",
        "recipients": [
            {
                "role": "to",
                "address": "els@acme.example",
                "state": "bounced",
                "attempts": 1,
                "last_reply": "bounce failed 5.1.1",
                "next_attempt_at": None,
            }
        ],
        "history": history,
    }


def history_of(text: str) -> list[str]:
    return [line.strip() for line in text.split("history:\n")[1].splitlines()]


def test_each_bounce_report_is_one_line_with_time_what_happened_recipient_and_status():
    # Given an accepted attempt, then a DSN that bounces the address, then an auto-reply
    text = format_status(
        [
            row(
                [
                    {"at": AT, "attempt": {"els@acme.example": {"state": "accepted", "reply": "250 2.0.0 Ok"}}},
                    {
                        "at": AT + 60,
                        "bounce": {
                            "recipient": "els@acme.example",
                            "report": "dsn",
                            "action": "failed",
                            "status": "5.1.1",
                            "diagnostic": "smtp; 550 5.1.1 <els@acme.example>: user unknown",
                            "effect": "bounced; address suppressed",
                        },
                    },
                    {
                        "at": AT + 120,
                        "bounce": {
                            "recipient": "els@acme.example",
                            "report": "auto_reply",
                            "effect": "auto-reply: not a bounce",
                        },
                    },
                ]
            )
        ],
        history=True,
    )
    # Then the history has one line per entry, like the attempts
    assert history_of(text) == [
        "2026-05-28T20:26:40+00:00  attempt   els@acme.example: accepted 250 2.0.0 Ok",
        "2026-05-28T20:27:40+00:00  bounce    els@acme.example: dsn failed 5.1.1 "
        "(smtp; 550 5.1.1 <els@acme.example>: user unknown) -> bounced; address suppressed",
        "2026-05-28T20:28:40+00:00  bounce    els@acme.example: auto_reply -> auto-reply: not a bounce",
    ]


def test_a_diagnostic_with_a_line_break_cannot_add_a_line_to_the_report():
    bounce = {"recipient": "els@acme.example", "report": "dsn", "action": "failed", "status": "5.0.0"}
    bounce["diagnostic"] = "x\r\n    to els@acme.example accepted"
    text = format_status([row([{"at": AT, "bounce": bounce}])], history=True)
    assert len(history_of(text)) == 1 and "x\\r\\n    to els@acme.example accepted" in text


def test_an_invoice_row_says_which_documents_travelled_and_why():
    documents = {
        "einvoice": "facturx",
        "reason": "DE's policy is Factur-X",
        "files": ["INV-0000001.pdf"],
        "embedded": "factur-x.xml",
    }
    text = format_status([{**row([]), "documents": documents}])
    assert "documents: INV-0000001.pdf (with factur-x.xml inside); e-invoice: DE's policy is Factur-X" in text


def test_a_held_invoice_lists_each_rule_it_breaks_by_id():
    held = {
        "at": AT,
        "einvoice": "ubl",
        "rules": [
            {"rule_id": "BR-AE-02", "text": "An Invoice ... Buyer VAT identifier", "at": "BT-48", "detail": "L1"}
        ],
    }
    text = format_status([{**row([]), "documents": {"held": held}}])
    assert "held: the ubl e-invoice breaks 1 rule(s); nothing sent" in text
    assert "[BR-AE-02] An Invoice ... Buyer VAT identifier (BT-48: L1)" in text
