"""Read back everything a Redis database holds, to prove that something is not kept."""

from __future__ import annotations


def everything_in_redis(client) -> bytes:
    """Every key and value of the database, concatenated, to search for what must not be kept."""
    out = []
    for key in client.scan_iter(count=1000):
        out.append(key)
        kind = client.type(key)
        if kind == b"string":
            out.append(client.get(key) or b"")
        elif kind == b"hash":
            out.extend(b for kv in client.hgetall(key).items() for b in kv)
        elif kind == b"list":
            out.extend(client.lrange(key, 0, -1))
        elif kind == b"set":
            out.extend(client.smembers(key))
        elif kind == b"zset":
            out.extend(m for m, _ in client.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            out.extend(repr(client.xrange(key)).encode())
    return b"\n".join(out)
