"""End to end: Support Rewards codes and redemption confirmations through Redis and SMTP, and the
canary: a redemption code appears in the email that arrives and nowhere else."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime

import dramatiq
import pytest

from tests.support.contract_events import account_updated, rewards_accrued, rewards_redeemed
from tests.support.harness import Harness, make_settings
from tests.support.plain_text import unwrapped
from tests.support.redis_dump import everything_in_redis
from worker.services.status import collect_skipped

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port), NOW)


def text_of(message) -> str:
    return unwrapped(message.message.get_body(("plain",)).get_content())


def with_account(harness: Harness, **account: object) -> None:
    harness.ingest([account_updated(**account)])
    harness.drain()


def lots(redis_client, account_id: str = "A-100") -> dict[str, str]:
    raw = redis_client.hgetall(f"iw:rewards:{account_id}:lots")
    return {k.decode(): json.loads(v)["remaining"] for k, v in raw.items()}


# --- the rewards-code email -----------------------------------------------------------------------


def test_a_monthly_reward_is_sent_to_the_billing_contact_only_with_amount_expiry_and_code(
    harness, smtp_server, redis_client
):
    # Given a known non-ULA account with dunning and relationship contacts
    with_account(harness)
    # When January's usage is accrued: 4000 OCI (counts) and 1000 SaaS (does not)
    harness.ingest(
        [
            rewards_accrued(
                "2026-01", usage=[("Compute", "oci", "4000.00"), ("ERP", "saas", "1000.00")], code="RWD-JAN-1"
            )
        ]
    )
    harness.drain()
    # Then one email, To the billing contact alone (no Cc), with 25% of 4000, the expiry and the code
    (msg,) = smtp_server.messages
    assert list(msg.rcpt_tos) == ["els@acme.example"] and msg.message["Cc"] is None
    assert msg.message["Subject"] == "Uw Support Rewards voor januari 2026: US$\xa01.000,00"
    text = text_of(msg)
    assert "1.000,00" in text and "Geldig tot en met: 31 januari 2027" in text
    assert "Inwisselingscode: RWD-JAN-1" in text and "Support Rewards" in text
    assert "RWD-JAN-1" not in msg.message["Subject"]
    # And the lot is kept for redemptions
    assert lots(redis_client) == {"2026-01": "1000.00"}
    (row,) = harness.status()
    assert (row["kind"], row["key"]) == ("rewards_code", "A-100:2026-01")


def test_a_ula_account_gets_33_percent(harness, smtp_server, redis_client):
    with_account(harness, ula=True)
    harness.ingest([rewards_accrued("2026-01", usage=[("Compute", "oci", "1000.00")])])
    harness.drain()
    assert lots(redis_client) == {"2026-01": "330.00"}
    assert "330,00" in text_of(smtp_server.messages[0])


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        ({"pay_as_you_go": True}, "pay-as-you-go accounts earn no rewards"),
        ({"country": "CN"}, "accounts in CN earn no rewards"),
        ({"sector": "us_government"}, "US-government sector accounts earn no rewards"),
    ],
)
def test_an_ineligible_account_gets_no_reward_and_no_email_and_the_reason_is_recorded(
    harness, smtp_server, redis_client, account, reason
):
    with_account(harness, **account)
    harness.ingest([rewards_accrued(code="RWD-NOT-SENT", event_id="acc-x")])
    harness.drain()
    assert smtp_server.messages == [] and lots(redis_client) == {}
    (skipped,) = asyncio.run(collect_skipped(harness.settings.redis_url or "", harness.settings.redis_prefix))
    assert skipped["event_id"] == "acc-x" and skipped["reason"] == reason
    # and the code it carried is not kept
    assert b"RWD-NOT-SENT" not in everything_in_redis(redis_client)


def test_the_same_month_twice_keeps_one_lot_and_sends_once(harness, smtp_server, redis_client):
    with_account(harness)
    harness.ingest([rewards_accrued("2026-01", event_id="acc-1")])
    harness.drain()
    harness.ingest([rewards_accrued("2026-01", event_id="acc-1"), rewards_accrued("2026-01", event_id="acc-1-resent")])
    harness.drain()
    assert len(smtp_server.messages) == 1 and lots(redis_client) == {"2026-01": "1000.00"}
    assert b"RWD-TEST-0001" not in everything_in_redis(redis_client)


def test_a_code_whose_email_is_deferred_is_kept_only_as_the_built_message_until_it_is_final(
    harness, smtp_server, redis_client
):
    # Given the relay defers the first attempt
    with_account(harness)
    smtp_server.data_replies = ["451 4.3.0 Try again later"]
    harness.ingest([rewards_accrued("2026-01", code="RWD-DEFERRED-9")])
    harness.drain()
    assert smtp_server.messages == []
    # Then the sealed copy is gone (the message is built), the built message waits for the retry
    assert list(redis_client.scan_iter("iw:sealed:*")) == []
    assert redis_client.hexists("iw:delivery:rewards_code:A-100:2026-01", "message")
    # When the retry is accepted
    harness.clock.advance(seconds=400)
    harness.drain()
    (msg,) = smtp_server.messages
    assert "RWD-DEFERRED-9" in text_of(msg)
    # Then the message bytes are dropped too: the code is nowhere in Redis
    assert not redis_client.hexists("iw:delivery:rewards_code:A-100:2026-01", "message")
    assert b"RWD-DEFERRED-9" not in everything_in_redis(redis_client)


# --- redemption -----------------------------------------------------------------------------------


def test_a_redemption_uses_the_earliest_expiring_lots_and_confirms_cumulative_and_remaining(
    harness, smtp_server, redis_client
):
    # Given two lots: January 1000.00 (expires 2027-01-31) and February 500.00 (2027-02-28)
    with_account(harness)
    harness.ingest(
        [
            rewards_accrued("2026-02", usage=[("Compute", "oci", "2000.00")], code="RWD-FEB"),
            rewards_accrued("2026-01", usage=[("Compute", "oci", "4000.00")], code="RWD-JAN"),
        ]
    )
    harness.drain()
    smtp_server.clear()
    # When 1200.00 is redeemed on invoice INV-0000001 (24,000.00 + 5,040.00 tax)
    harness.ingest([rewards_redeemed("1200.00", event_id="red-1")])
    harness.drain()
    # Then January is used up first, then 200.00 of February
    assert lots(redis_client) == {"2026-01": "0.00", "2026-02": "300.00"}
    (msg,) = smtp_server.messages
    assert list(msg.rcpt_tos) == ["els@acme.example"]
    assert msg.message["Subject"] == "Support Rewards ingewisseld voor factuur INV-0000001"
    text = text_of(msg)
    assert "Nu ingewisseld: US$\xa01.200,00" in text
    assert "Tot nu toe ingewisseld op deze factuur: US$\xa01.200,00" in text
    assert "Resterend verschuldigd saldo, inclusief btw: US$\xa027.840,00" in text
    assert (
        "1.000,00, geldig tot en met 31 januari 2027" in text and "200,00, geldig tot en met 28 februari 2027" in text
    )
    assert "Er wordt geen nieuwe factuur met het bijgewerkte saldo verstuurd" in text
    # When a second redemption of 300.00 follows
    harness.ingest([rewards_redeemed("300.00", event_id="red-2", at="2026-03-20T09:00:00Z")])
    harness.drain()
    # Then the confirmation shows the cumulative sum and what is left, tax included
    text2 = text_of(smtp_server.messages[1])
    assert "Tot nu toe ingewisseld op deze factuur: US$\xa01.500,00" in text2
    assert "Resterend verschuldigd saldo, inclusief btw: US$\xa027.540,00" in text2
    assert lots(redis_client) == {"2026-01": "0.00", "2026-02": "0.00"}


def test_the_same_redemption_twice_changes_nothing_and_sends_once_even_after_a_crash(
    harness, smtp_server, redis_client
):
    with_account(harness)
    harness.ingest([rewards_accrued("2026-01")])
    harness.drain()
    event = rewards_redeemed("100.00", event_id="red-once")
    harness.ingest([event])
    harness.drain()
    before = lots(redis_client)
    # When the event comes again, once normally and once as if the worker died before noting it done
    harness.ingest([event])
    harness.drain()
    redis_client.delete("iw:event:red-once")
    harness.ingest([event])
    harness.drain()
    # Then the lots and the cumulative sum are unchanged, and one confirmation was sent
    assert lots(redis_client) == before == {"2026-01": "900.00"}
    assert redis_client.get("iw:rewards:invoice:INV-0000001:redeemed") == b"100.00"
    assert len([m for m in smtp_server.messages if "ingewisseld" in m.message["Subject"]]) == 1


def test_a_redemption_above_the_amount_excluding_tax_is_rejected_on_data_amount(harness, smtp_server, redis_client):
    with_account(harness)
    harness.ingest([rewards_accrued("2026-01", usage=[("Compute", "oci", "40000.00")])])
    harness.drain()
    smtp_server.clear()
    # 10,000.00 of rewards, an invoice of 1,000.00 + 210.00 tax: only 1,000.00 may be paid
    harness.ingest(
        [
            rewards_redeemed("600.00", excl_tax="1000.00", tax="210.00", event_id="ok-600"),
        ]
    )
    harness.drain()
    harness.ingest([rewards_redeemed("400.01", excl_tax="1000.00", tax="210.00", event_id="too-much")])
    harness.drain()
    assert len(smtp_server.messages) == 1
    (dead,) = harness.dead_letters()
    assert dead["event_id"] == "too-much" and dead["field"] == "data.amount"
    assert "exceeds what rewards may still pay on this invoice: 400.00 USD" in dead["reason"]
    assert lots(redis_client) == {"2026-01": "9400.00"}


def test_a_redemption_without_enough_unexpired_rewards_is_rejected_once_it_has_waited(
    redis_client, redis_url, smtp_server
):
    harness = Harness.build(make_settings(redis_url, smtp_server.port, rewards_wait_s=0), NOW)
    with_account(harness)
    # A lot from 2024-01 expired at the end of January 2025
    harness.ingest([rewards_accrued("2024-01"), rewards_redeemed("10.00", event_id="expired-only")])
    harness.drain()
    (dead,) = harness.dead_letters()
    assert dead["field"] == "data.amount" and "unexpired rewards of 0" in dead["reason"]
    assert [m.message["Subject"] for m in smtp_server.messages] == [
        "Uw Support Rewards voor januari 2024: US$\xa01.000,00"
    ]


# --- the canary -----------------------------------------------------------------------------------


class RecordMessages(dramatiq.Middleware):
    """Keeps the encoded bytes of every message enqueued on the broker."""

    def __init__(self) -> None:
        self.encoded: list[bytes] = []

    def before_enqueue(self, broker, message, delay) -> None:
        self.encoded.append(message.encode())


def test_canary_a_redemption_code_appears_in_the_email_and_nowhere_else(harness, smtp_server, redis_client, caplog):
    # Given a unique code, every log record at DEBUG and every queue message recorded
    code = f"RWD-CANARY-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    recorder = RecordMessages()
    harness.pipeline.broker.add_middleware(recorder)
    with_account(harness)
    # When its reward is accrued, the email is deferred once, then accepted; and the same event
    # arrives again, as does an ineligible one carrying the same code
    smtp_server.data_replies = ["451 4.3.0 Try again later"]
    event = rewards_accrued("2026-01", code=code, event_id="canary")
    harness.ingest([event])
    harness.drain()
    harness.clock.advance(seconds=400)
    harness.drain()
    harness.ingest([event, rewards_accrued("2026-02", account_id="A-CN", code=code, event_id="canary-cn")])
    harness.ingest([account_updated("A-CN", country="CN")])
    harness.drain()
    harness.ingest([rewards_accrued("not-a-month", code=code, event_id="canary-bad")])
    harness.drain()
    # Then it is in the one email that arrived
    (msg,) = smtp_server.messages
    assert code in text_of(msg) and code in msg.message.get_body(("html",)).get_content()
    # and nowhere else: no log line, no queue message, no Redis key or value, no dead letter
    assert recorder.encoded, "the recorder saw no message"
    assert not [m for m in recorder.encoded if code.encode() in m]
    # (aiosmtpd's "mail.log" is the receiving server of this test: it logs the DATA it receives,
    # as a recipient's mail server may. The worker's own side is everything else.)
    logged = [
        r
        for r in caplog.records
        if r.name != "mail.log"
        and (code in r.getMessage() or code in str(r.args) or (r.exc_text and code in r.exc_text))
    ]
    assert not logged and len(caplog.records) > 10
    assert code.encode() not in everything_in_redis(redis_client)
    assert harness.dead_letters() and code not in json.dumps(harness.dead_letters())


def test_a_code_whose_sealed_copy_expired_before_its_email_was_built_fails_clearly(
    redis_client, redis_url, smtp_server
):
    # Given sealed codes that live 1 ms (the worker was down longer than SEALED_SECRET_TTL_S)
    harness = Harness.build(make_settings(redis_url, smtp_server.port, sealed_secret_ttl_s=0.001), NOW)
    with_account(harness)
    harness.ingest([rewards_accrued("2026-01", code="RWD-LOST")])
    harness.drain()
    # Then nothing is sent, and the recipient is failed with the reason
    assert smtp_server.messages == []
    (row,) = harness.status()
    (recipient,) = row["recipients"]
    assert recipient["state"] == "failed" and "sealed copy expired" in recipient["last_reply"]
    assert b"RWD-LOST" not in everything_in_redis(redis_client)


def test_a_reward_that_arrives_before_its_account_is_sent_once_the_account_is_known(harness, smtp_server):
    # Given the accrual queued before its account (it waits, retried, for up to REWARDS_WAIT_S)
    harness.ingest([rewards_accrued("2026-01", code="RWD-EARLY"), account_updated()])
    harness.drain()
    # Then the reward is sent all the same
    (msg,) = smtp_server.messages
    assert "RWD-EARLY" in text_of(msg) and harness.dead_letters() == []


def test_a_reward_whose_account_never_arrives_is_dead_lettered_once_it_has_waited(redis_client, redis_url, smtp_server):
    harness = Harness.build(make_settings(redis_url, smtp_server.port, rewards_wait_s=0), NOW)
    harness.ingest([rewards_accrued("2026-01", account_id="A-404", code="RWD-ORPHAN", event_id="orphan")])
    harness.drain()
    (dead,) = harness.dead_letters()
    assert (dead["event_id"], dead["field"]) == ("orphan", "data.account_id") and "unknown" in dead["reason"]
    assert dead["event"]["data"]["redemption_code"] == "[redacted]"
    assert b"RWD-ORPHAN" not in everything_in_redis(redis_client)


def test_a_parked_reward_whose_account_never_came_is_counted_once_as_dead_lettered(
    redis_client, redis_url, smtp_server
):
    # Given a reward that waits up to an hour for its account, and is parked
    harness = Harness.build(make_settings(redis_url, smtp_server.port, rewards_wait_s=3600), NOW)
    harness.ingest([rewards_accrued("2026-01", account_id="A-404", code="RWD-ORPHAN", event_id="orphan")])
    harness.drain()
    events = harness.pipeline.app.metrics.events
    assert events.labels("rewards.accrued", "parked")._value.get() == 1 and harness.dead_letters() == []
    # When its wait is over and its retry falls due, the account still unknown
    harness.clock.advance(seconds=7200)
    harness.drain()
    # Then it is dead-lettered, and counted once as such, not also as applied
    (dead,) = harness.dead_letters()
    assert dead["field"] == "data.account_id"
    assert events.labels("rewards.accrued", "dead_lettered")._value.get() == 1
    assert events.labels("rewards.accrued", "applied")._value.get() == 0


def test_a_reward_waiting_for_its_account_is_parked_in_redis_and_woken_when_the_account_arrives(
    harness, smtp_server, redis_client
):
    # Given an accrual whose account is not known yet
    harness.ingest([rewards_accrued("2026-01", code="RWD-PARKED", event_id="early")])
    harness.drain()
    # Then it waits as data (no delayed message), and a burst run does not wait for it
    assert smtp_server.messages == []
    assert redis_client.exists(b"iw:parked:early")
    assert redis_client.zscore(b"iw:due", b"event:early") > NOW.timestamp()
    # When the account arrives, in a later batch
    harness.ingest([account_updated()])
    harness.drain()
    # Then the parked event is applied at once and the email sent, once
    (msg,) = smtp_server.messages
    assert "RWD-PARKED" in text_of(msg)
    assert not redis_client.exists(b"iw:parked:early")
    assert redis_client.zscore(b"iw:due", b"event:early") is None


def test_a_parked_event_is_tried_again_when_its_retry_falls_due(harness, smtp_server, redis_client):
    harness.ingest([rewards_accrued("2026-01", code="RWD-LATER", event_id="late-1")])
    harness.drain()
    # The account is stored by another path that does not wake the parked event (an account
    # snapshot applied before this worker knew of the parked one, say).
    harness.ingest([account_updated()])
    redis_client.delete(b"iw:parked:account:A-100")
    redis_client.zadd(b"iw:due", {b"event:late-1": NOW.timestamp() + 60})
    harness.drain()
    assert smtp_server.messages == []  # not woken: it waits for its retry time
    harness.clock.advance(seconds=61)
    harness.drain()
    (msg,) = smtp_server.messages
    assert "RWD-LATER" in text_of(msg)
