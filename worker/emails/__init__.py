"""Email kinds and their rendering: templates, catalogs, formats, right-to-left text, MIME."""
