"""A record of any layout (`worker.store.packed_json.JsonRecords`) that is broken is refused with
its layout's error, saying what is wrong: another layout's marker, a value cut short, bytes that
do not inflate."""

from __future__ import annotations

import re

import pytest

from tests.support.legal_invoices import standard_invoice
from tests.unit.store.test_account_records import FULL
from worker.store import account_records, delivery_records, invoice_records

LAYOUTS = {
    "invoice": (invoice_records, standard_invoice(), invoice_records.InvoiceRecordUnreadable),
    "account": (account_records, FULL, account_records.AccountRecordUnreadable),
    "delivery record": (
        delivery_records,
        delivery_records.FoldedDelivery(fields={"kind": "invoice"}, binary={}, states={}, log=[{"at": 1.0}]),
        delivery_records.DeliveryRecordUnreadable,
    ),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("broken, says", [("marker", "neither"), ("cut", "cut short"), ("noise", "does not inflate")])
def test_a_broken_record_is_refused_saying_what_is_wrong(layout, broken, says):
    records, value, unreadable = LAYOUTS[layout]
    marker = records.RECORDS.marker  # the layout written now
    raw = {
        "marker": marker[:1] + b"9xyz",
        "cut": records.encode(value)[:-10],
        "noise": marker + b"\xff" * 40,
    }[broken]
    # a foreign marker: the error names the layout written now
    expected = f"neither {'' if layout == 'delivery record' else 'JSON nor '}" if broken == "marker" else says
    if broken == "marker":
        with pytest.raises(unreadable, match=re.escape(repr(marker))):
            records.decode(raw)
    with pytest.raises(unreadable, match=f"a stored {layout} .*{re.escape(expected)}"):
        records.decode(raw)
