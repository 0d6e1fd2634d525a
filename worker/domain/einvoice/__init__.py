"""The legal invoice: the EN 16931 semantic model of an invoice the worker issues. Pure.

`model` holds the business terms (BT-*) and groups (BG-*), `vat_categories` the table deciding each
line's VAT category, `build` makes the model from the worker's `Invoice`, `rules` checks it against the
EN 16931 business rules the document exercises. The PDF, CII and UBL are renderings of this model.
"""
