"""invoice-worker: billing events in, localized invoices and emails out, delivered once."""
