"""[crypto] in privet.toml: KEKs named as env:VAR or a file, never written in; a clear error for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from privet.crypto import KekRing, LocalKek, MemoryDataKeyStore, decrypt_field, encrypt_field
from privet.workspace.settings import SettingsError, load_settings, settings_text

HEX1, HEX2 = "11" * 32, "22" * 32


def workspace(tmp_path: Path, crypto: str) -> Path:
    (tmp_path / "privet.toml").write_text(crypto + "\n" + settings_text())
    return tmp_path


def test_no_crypto_section_means_no_keks(tmp_path: Path) -> None:
    assert load_settings(workspace(tmp_path, ""), env={}).crypto is None


def test_keks_from_the_environment_and_from_files(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "old.hex").write_text(HEX2 + "\n")
    root = workspace(
        tmp_path,
        '[crypto]\nactive_kek = "kek-2026"\n[crypto.keks]\nkek-2026 = "env:KEK_A"\nkek-2025 = "secrets/old.hex"\n',
    )
    crypto = load_settings(root, env={"KEK_A": HEX1}).crypto
    assert crypto is not None
    assert (crypto.active_kek, crypto.previous) == ("kek-2026", ("kek-2025",))
    assert crypto.secrets == {"kek-2026": bytes.fromhex(HEX1), "kek-2025": bytes.fromhex(HEX2)}
    assert HEX1 not in repr(crypto) and "11" * 8 not in repr(crypto)
    absolute = workspace(
        tmp_path, f'[crypto]\nactive_kek = "k"\n[crypto.keks]\nk = "{tmp_path / "secrets" / "old.hex"}"\n'
    )
    assert load_settings(absolute, env={}).crypto.secrets == {"k": bytes.fromhex(HEX2)}  # type: ignore[union-attr]


def test_the_environment_can_name_the_active_kek(tmp_path: Path) -> None:
    root = workspace(tmp_path, '[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "env:A"\nb = "env:B"\n')
    crypto = load_settings(root, env={"A": HEX1, "B": HEX2, "PRIVET_ACTIVE_KEK": "b"}).crypto
    assert crypto is not None and (crypto.active_kek, crypto.previous) == ("b", ("a",))


def test_rotation_keeps_data_readable_through_a_ring_built_from_settings(tmp_path: Path) -> None:
    before = load_settings(workspace(tmp_path, '[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "env:A"\n'), {"A": HEX1})
    after = load_settings(
        workspace(tmp_path, '[crypto]\nactive_kek = "b"\n[crypto.keks]\nb = "env:B"\na = "env:A"\n'),
        {"A": HEX1, "B": HEX2},
    )
    store = MemoryDataKeyStore()
    old = before.crypto
    assert old is not None and after.crypto is not None
    blob = encrypt_field(store, LocalKek("a", old.secrets["a"]), "ann", b"secret")
    ring = KekRing(LocalKek("b", after.crypto.secrets["b"]), [LocalKek("a", after.crypto.secrets["a"])])
    assert decrypt_field(store, ring, "ann", blob) == b"secret"


@pytest.mark.parametrize(
    ("crypto", "env", "message"),
    [
        ('crypto = "yes"\n', {}, r"\[crypto\] must be a table"),
        ("[crypto]\nactive_kek = \"a\"\n", {}, r"\[crypto\] names no KEK"),
        ('[crypto]\nactive_kek = "a"\nkek = "env:A"\n[crypto.keks]\na = "env:A"\n', {"A": HEX1}, "unknown keys kek"),
        ('[crypto]\n[crypto.keks]\na = "env:A"\n', {"A": HEX1}, r"needs active_kek, the KEK that wraps new data keys \(one of a\)"),
        ('[crypto]\nactive_kek = "b"\n[crypto.keks]\na = "env:A"\n', {"A": HEX1}, r"active_kek 'b' is not one of \[crypto.keks\] \(a\)"),
        ('[crypto]\nactive_kek = "a"\n[crypto.keks]\na = 7\n', {}, r"\[crypto.keks\] a must be \"env:VAR\" or a file path"),
        ('[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "env:A"\n', {}, "the environment variable A is not set"),
        ('[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "env:A"\n', {"A": "abc"}, "must hold exactly 64 hex digits"),
        ('[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "env:A"\n', {"A": "zz" * 32}, "must hold exactly 64 hex digits"),
        ('[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "nowhere.hex"\n', {}, r"no file .*nowhere.hex; write the KEK's 64 hex"),
        (f'[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "{HEX1}"\n', {}, "looks like a key itself: never put a KEK in privet.toml"),
        ('[crypto]\nactive_kek = "a"\n[crypto.keks]\na = "kms:aws:alias/privet"\n', {}, r"a KMS key is not read from privet.toml; .*open_runtime\(root, keks=...\)"),
        ('[crypto]\nactive_kek = "bad id"\n[crypto.keks]\n"bad id" = "env:A"\n', {"A": HEX1}, "KEK id 'bad id' must be 1-128 letters"),
    ],
)  # fmt: skip
def test_crypto_settings_errors_name_the_place_and_the_fix(
    tmp_path: Path, crypto: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(workspace(tmp_path, crypto), env=env)


def test_the_starter_settings_show_crypto_commented_out(tmp_path: Path) -> None:
    text = settings_text()
    assert '# kek-1 = "env:PRIVET_KEK_1"' in text and "never the KEK itself" in text
    assert load_settings(workspace(tmp_path, ""), env={}).crypto is None
