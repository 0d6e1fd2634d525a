"""The event contract (shared/CONTRACT.md) as typed models and its validation, and the sealing of
secrets that must not travel in queue messages.
"""
