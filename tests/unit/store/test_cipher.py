"""Sealed values (worker/store/cipher.py): AES-GCM bound to their Redis key, keys rotated by id,
and errors that name the setting at fault but never show a key or a ciphertext."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from worker.services.context import ServiceContext
from worker.settings import Settings
from worker.store.cipher import (
    MAGIC,
    UNREADABLE,
    SealedValueUnreadable,
    SealingKeyInvalid,
    SealingKeyMissing,
    SealingKeys,
    new_sealing_key,
    required,
    write_new_key_file,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
WHERE = "iw:sealed:tok-1"
SECRET = b"RWD-2026-SECRET"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_a_sealed_value_opens_with_its_key_under_its_redis_key_and_shows_nothing_of_the_secret():
    keys = SealingKeys(KEY_A)
    sealed = keys.seal(SECRET, bound_to=WHERE)
    assert SECRET not in sealed and sealed.startswith(MAGIC)
    assert keys.open(sealed, bound_to=WHERE) == SECRET


def test_each_value_gets_a_fresh_nonce():
    keys = SealingKeys(KEY_A)
    assert keys.seal(SECRET, bound_to=WHERE) != keys.seal(SECRET, bound_to=WHERE)


def test_a_value_moved_to_another_key_does_not_open():
    keys = SealingKeys(KEY_A)
    sealed = keys.seal(SECRET, bound_to=WHERE)
    with pytest.raises(SealedValueUnreadable, match="wrong SEALING_KEY"):
        keys.open(sealed, bound_to="iw:sealed:tok-2")


@pytest.mark.parametrize("position", [1, 4, 10, 20, -1], ids=["version", "key id", "nonce", "ciphertext", "tag"])
def test_a_tampered_byte_anywhere_is_refused_with_the_reason(position: int):
    keys = SealingKeys(KEY_A)
    sealed = bytearray(keys.seal(SECRET, bound_to=WHERE))
    sealed[position] ^= 0x01
    with pytest.raises(SealedValueUnreadable) as caught:
        keys.open(bytes(sealed), bound_to=WHERE)
    assert str(caught.value).startswith(UNREADABLE)


def test_a_wrong_key_says_so_and_shows_neither_key_nor_ciphertext():
    sealed = SealingKeys(KEY_A).seal(SECRET, bound_to=WHERE)
    with pytest.raises(SealedValueUnreadable) as caught:
        SealingKeys(KEY_B).open(sealed, bound_to=WHERE)
    message = str(caught.value)
    assert message.startswith("sealed secret cannot be decrypted: wrong SEALING_KEY?")
    assert "neither SEALING_KEY" in message
    for shown in (KEY_A, KEY_B, sealed, sealed[7:]):
        assert shown.hex() not in message and b64(shown) not in message and repr(shown) not in message


def test_after_a_rotation_old_values_open_with_the_old_key_and_new_ones_are_sealed_with_the_new():
    # Given a value sealed with key A
    old_value = SealingKeys(KEY_A).seal(SECRET, bound_to=WHERE)
    # When key B becomes SEALING_KEY and A moves to SEALING_OLD_KEYS
    rotated = SealingKeys(KEY_B, old=[KEY_A])
    # Then the old value still opens, and a new one opens with B alone
    assert rotated.open(old_value, bound_to=WHERE) == SECRET
    new_value = rotated.seal(SECRET, bound_to=WHERE)
    assert SealingKeys(KEY_B).open(new_value, bound_to=WHERE) == SECRET
    with pytest.raises(SealedValueUnreadable):
        SealingKeys(KEY_A).open(new_value, bound_to=WHERE)


def test_a_value_kept_before_values_were_sealed_reads_as_it_was_but_random_bytes_do_not():
    keys = SealingKeys(KEY_A)
    assert keys.open(b"MIME-Version: 1.0\r\n\r\nhello", bound_to=WHERE) == b"MIME-Version: 1.0\r\n\r\nhello"
    with pytest.raises(SealedValueUnreadable, match="neither sealed nor text"):
        keys.open(b"\xfe\x00\x81garbage", bound_to=WHERE)


# -- from the settings ---------------------------------------------------------------------------


def test_no_key_set_means_none_and_a_use_that_needs_one_names_the_setting_and_how_to_make_it(monkeypatch):
    for name in ("SEALING_KEY", "SEALING_KEY_FILE", "SEALING_OLD_KEYS"):
        monkeypatch.delenv(name, raising=False)
    assert SealingKeys.from_settings(Settings()) is None
    with pytest.raises(SealingKeyMissing) as caught:
        required(None, "run")
    message = str(caught.value)
    assert "SEALING_KEY is not set, and run needs it" in message and "SEALING_KEY_FILE" in message
    assert "invoice-worker sealing-key" in message and "base64.b64encode(os.urandom(32))" in message


def test_the_key_comes_from_sealing_key_or_its_file_and_old_keys_open_only(tmp_path: Path):
    key_file = tmp_path / "key"
    key_file.write_text(b64(KEY_B) + "\n")
    sealed_with_a = SealingKeys(KEY_A).seal(SECRET, bound_to=WHERE)
    from_env = SealingKeys.from_settings(Settings(sealing_key=b64(KEY_A)))
    from_file = SealingKeys.from_settings(Settings(sealing_key_file=key_file, sealing_old_keys=b64(KEY_A)))
    assert from_env is not None and from_file is not None
    assert from_env.open(sealed_with_a, bound_to=WHERE) == SECRET
    assert from_file.open(sealed_with_a, bound_to=WHERE) == SECRET
    assert SealingKeys(KEY_B).open(from_file.seal(SECRET, bound_to=WHERE), bound_to=WHERE) == SECRET


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"sealing_key": "not base64!"}, "SEALING_KEY is not base64"),
        ({"sealing_key": b64(b"short")}, "SEALING_KEY holds 5 bytes once decoded; a key is 32"),
        ({"sealing_key": b64(KEY_A), "sealing_old_keys": f"{b64(KEY_B)}, nope"}, "SEALING_OLD_KEYS (entry 2)"),
        ({"sealing_old_keys": b64(KEY_B)}, "SEALING_OLD_KEYS is set but SEALING_KEY is not"),
        ({"sealing_key": b64(KEY_A), "sealing_key_file": "/k"}, "not both"),
        ({"sealing_key_file": "/nonexistent/key"}, "SEALING_KEY_FILE /nonexistent/key: No such file"),
    ],
)
def test_a_malformed_key_setting_is_refused_naming_the_setting_never_the_value(settings: dict, says: str):
    with pytest.raises(SealingKeyInvalid) as caught:
        SealingKeys.from_settings(Settings(**settings))
    assert says in str(caught.value)
    for value in settings.values():
        if value not in ("/k", "/nonexistent/key"):
            assert value not in str(caught.value)


def test_no_repr_shows_a_key():
    settings = Settings(sealing_key=b64(KEY_A), sealing_old_keys=b64(KEY_B))
    app = ServiceContext.from_settings(settings)
    shown = repr(app) + repr(app.sealing) + repr(settings)
    for key in (KEY_A, KEY_B):
        assert b64(key) not in shown and key.hex() not in shown


# -- making a key --------------------------------------------------------------------------------


def test_a_new_key_is_32_random_bytes_in_base64():
    key = new_sealing_key()
    assert len(base64.b64decode(key, validate=True)) == 32 and key != new_sealing_key()


def test_a_key_file_is_private_and_never_overwritten(tmp_path: Path):
    path = tmp_path / "keys" / "sealing.key"
    assert write_new_key_file(path) is True
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(base64.b64decode(first.strip())) == 32
    assert write_new_key_file(path) is False and path.read_text() == first
    assert [p.name for p in path.parent.iterdir()] == ["sealing.key"]  # no temporary file left
