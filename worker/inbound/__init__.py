"""Inbound mail: the bounce listener (an SMTP server for VERP return paths)."""
