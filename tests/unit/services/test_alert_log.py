"""An alert is logged at most once a minute per process (worker/services/alert_log.py), saying how
many were held back."""

from __future__ import annotations

from worker.services.alert_log import AlertLog


def test_an_alert_is_logged_once_per_interval_with_the_count_held_back():
    alerts = AlertLog(interval_s=60)
    # Given a first alert, logged
    assert alerts.should_log("smtp_auth_failed", now=1000.0) == 0
    # When it comes again three times within the minute, and once of another name
    held = [alerts.should_log("smtp_auth_failed", now=1000.0 + s) for s in (1, 20, 59)]
    other = alerts.should_log("helo_refused", now=1010.0)
    # Then those three are held back, the other name is logged
    assert held == [None, None, None] and other == 0
    # And the next one past the minute is logged, saying three were held back
    assert alerts.should_log("smtp_auth_failed", now=1061.0) == 3
    assert alerts.should_log("smtp_auth_failed", now=1062.0) is None
