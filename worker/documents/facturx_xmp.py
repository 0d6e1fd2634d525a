"""The Factur-X XMP extension schema, added to a PDF/A-3 that carries `factur-x.xml`: what tells
a reader (and a PDF/A validator) that the attachment is the invoice, its profile and version."""

from __future__ import annotations

import io

import pikepdf

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
PROFILE = "EN 16931"
FILE_NAME = "factur-x.xml"

#: The pdfaExtension description of the fx schema, as PDF/A requires for a custom namespace.
_EXTENSION = """<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
 xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
 xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#" rdf:about="">
 <pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
  <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
  <pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
  <pdfaSchema:prefix>fx</pdfaSchema:prefix>
  <pdfaSchema:property><rdf:Seq>
   <rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name>
    <pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>
    <pdfaProperty:description>The name of the embedded XML document</pdfaProperty:description></rdf:li>
   <rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name>
    <pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>
    <pdfaProperty:description>The type of the hybrid document in capital letters, e.g. INVOICE or ORDER</pdfaProperty:description></rdf:li>
   <rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name>
    <pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>
    <pdfaProperty:description>The actual version of the standard applying to the embedded XML document</pdfaProperty:description></rdf:li>
   <rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name>
    <pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>
    <pdfaProperty:description>The conformance level of the embedded XML document</pdfaProperty:description></rdf:li>
  </rdf:Seq></pdfaSchema:property>
 </rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" rdf:about="">
 <fx:DocumentType>INVOICE</fx:DocumentType>
 <fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>
 <fx:Version>1.0</fx:Version>
 <fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>
</rdf:Description>
"""


def with_facturx_xmp(pdf: bytes) -> bytes:
    """`pdf` with the Factur-X properties and their extension schema in its XMP metadata."""
    document = pikepdf.open(io.BytesIO(pdf))
    metadata = document.Root.Metadata.read_bytes().decode("utf-8")
    # Typst writes one rdf:RDF; the fx descriptions go inside it, beside Typst's own.
    metadata = metadata.replace("</rdf:RDF>", _EXTENSION + "</rdf:RDF>", 1)
    document.Root.Metadata = pikepdf.Stream(document, metadata.encode("utf-8"), Type=pikepdf.Name.Metadata,
                                            Subtype=pikepdf.Name.XML)  # fmt: skip
    out = io.BytesIO()
    document.save(out, deterministic_id=True)
    return out.getvalue()
