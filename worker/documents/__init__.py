"""The invoice's documents: its PDF/A-3 and its EN 16931 e-invoice XML, built from the legal invoice
(`worker.domain.einvoice`) and checked by the gate before any byte is sent."""
