"""Redis URLs as log lines and messages show them: the password (in the authority or the query)
masked, everything else kept, so an operator sees which server is meant."""

from __future__ import annotations

#: Query parameters of a Redis URL that hold a secret.
_SECRET_PARAMETERS = frozenset({"password"})
MASK = "***"


def mask_url(url: str) -> str:
    """`url` with its password (in the authority or the query) shown as ``***``:
    ``redis://:s3cret@host:6379/0`` -> ``redis://:***@host:6379/0``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return MASK if url else url
    authority, slash, tail = _split_authority(rest)
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        authority = f"{user}:{MASK}@{host}" if has_password else authority
    path, question, query = tail.partition("?")
    if question:
        query = "&".join(_mask_parameter(p) for p in query.split("&"))
    return f"{scheme}://{authority}{slash}{path}{question}{query}"


def _split_authority(rest: str) -> tuple[str, str, str]:
    """ "user:pw@host:port", "/", "0?..." from what follows the scheme (the password may hold a
    "/" or "?": the authority ends at the first "/" after its last "@")."""
    at = rest.rfind("@")
    end = len(rest)
    for sep in "/?":
        found = rest.find(sep, at + 1)
        if found != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    if tail.startswith("/"):
        return authority, "/", tail[1:]
    return authority, "", tail


def _mask_parameter(parameter: str) -> str:
    name, eq, _ = parameter.partition("=")
    return f"{name}={MASK}" if eq and name.lower() in _SECRET_PARAMETERS else parameter
