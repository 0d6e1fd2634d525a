"""The Redis store: key names, Lua scripts and one module per aggregate."""
