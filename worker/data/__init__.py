"""Reference data shipped with the package (countries, card limits, the assigned ISO 3166-1 codes)."""
