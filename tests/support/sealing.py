"""The sealing key the tests' own Redis is used with (worker/store/cipher.py): fixed, so that a
test can build a second context or CLI process that opens what the first one sealed."""

from __future__ import annotations

import base64

#: SEALING_KEY of the tests (base64 of 32 bytes). Never a real key.
TEST_SEALING_KEY = base64.b64encode(bytes(range(32))).decode()
