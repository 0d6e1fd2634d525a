"""Outbound mail: the SMTP client."""
