"""Embedded servers and the demo: for a developer's machine and the tests, imported by the CLI only
when asked for.
"""
