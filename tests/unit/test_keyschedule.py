"""Key schedule tests: RFC 5869 HKDF vectors and the RFC 8448 traces, byte for byte."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from rfc8448 import Section, Step, load_rfc8448
from tlsmachine.crypto.groups import SECP256R1, X25519, Group
from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256, CipherSuite, suite_by_id
from tlsmachine.errors import DecryptError
from tlsmachine.keyschedule import (
    EarlySecret,
    HandshakeSecret,
    MasterSecret,
    check_verify_data,
    derive_secret,
    empty_hash,
    export_keying_material,
    finished_key,
    finished_verify_data,
    hash_len,
    hkdf_expand,
    hkdf_expand_label,
    hkdf_extract,
    hkdf_label,
    next_traffic_secret,
    resumption_psk,
    traffic_key_iv,
)
from tlsmachine.transcript import TranscriptHash

TRACE = load_rfc8448()
HANDSHAKE_SECTIONS = ["3", "4", "5", "6", "7"]
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

# --- RFC 5869 Appendix A (SHA-256 cases) ----------------------------------------------------

RFC5869 = [
    (  # A.1 basic
        "0b" * 22,
        "000102030405060708090a0b0c",
        "f0f1f2f3f4f5f6f7f8f9",
        42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    (  # A.2 longer inputs/outputs
        bytes(range(0x50)).hex(),
        bytes(range(0x60, 0xB0)).hex(),
        bytes(range(0xB0, 0x100)).hex(),
        82,
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e"
        "590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
    ),
    (  # A.3 zero-length salt and info
        "0b" * 22,
        "",
        "",
        42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
]


@pytest.mark.parametrize(("ikm", "salt", "info", "length", "prk", "okm"), RFC5869)
def test_rfc5869_vectors(ikm: str, salt: str, info: str, length: int, prk: str, okm: str) -> None:
    got_prk = hkdf_extract("sha256", bytes.fromhex(salt), bytes.fromhex(ikm))
    assert got_prk.hex() == prk
    assert hkdf_expand("sha256", got_prk, bytes.fromhex(info), length).hex() == okm


def test_unknown_hash_is_rejected() -> None:
    with pytest.raises(ValueError, match="md5"):
        hkdf_extract("md5", b"", b"")


def test_hkdf_label_limits() -> None:
    assert hkdf_label(b"x" * 249, b"", 32)[2] == 255  # "tls13 " + 249 bytes fits <7..255>
    with pytest.raises(ValueError, match="too long"):
        hkdf_label(b"x" * 250, b"", 32)
    with pytest.raises(ValueError, match="too long"):
        hkdf_label(b"key", b"c" * 256, 32)


def test_hash_helpers() -> None:
    assert hash_len("sha256") == 32
    assert hash_len("sha384") == 48
    assert empty_hash("sha384") == hashlib.sha384().digest()


# --- Every HKDF step printed in RFC 8448 (sections 3-7) ---------------------------------------


def _steps_with(*names: str) -> list[tuple[str, Step]]:
    return [
        (f"{n}:{s.line}", s)
        for n in HANDSHAKE_SECTIONS
        for s in TRACE.section(n)
        if all(k in s.fields for k in names)
    ]


@pytest.mark.parametrize(("where", "step"), _steps_with("PRK", "hash", "info", "expanded"))
def test_every_expand_label_step(where: str, step: Step) -> None:
    """Derive-Secret / finished-key / resumption steps: rebuild info from the label, expand."""
    info, expanded = step["info"], step["expanded"]
    label = info[3 : 3 + info[2]].removeprefix(b"tls13 ")
    assert hkdf_label(label, step["hash"], len(expanded)) == info, where
    assert hkdf_expand_label("sha256", step["PRK"], label, step["hash"], len(expanded)) == expanded


@pytest.mark.parametrize(("where", "step"), _steps_with("salt", "IKM", "secret"))
def test_every_extract_step(where: str, step: Step) -> None:
    salt = step["salt"] or bytes(32)  # "0 (all zero octets)" parses as b""
    assert hkdf_extract("sha256", salt, step["IKM"]) == step["secret"], where
    assert hkdf_extract("sha256", step["salt"], step["IKM"]) == step["secret"], where


@pytest.mark.parametrize(("where", "step"), _steps_with("PRK", "key expanded", "iv expanded"))
def test_every_traffic_key_step(where: str, step: Step) -> None:
    key, iv = traffic_key_iv(TLS_AES_128_GCM_SHA256, step["PRK"])
    assert (key, iv) == (step["key expanded"], step["iv expanded"]), where
    assert hkdf_label(b"key", b"", 16) == step["key info"]
    assert hkdf_label(b"iv", b"", 12) == step["iv info"]


# --- The typed stages, replayed over each RFC 8448 handshake ------------------------------------


@dataclass
class Replay:
    """Key schedule values computed from a section's handshake messages alone."""

    suite: CipherSuite
    transcript: TranscriptHash = field(default_factory=TranscriptHash)
    hashes: dict[str, bytes] = field(default_factory=dict)  # transcript hash after <name>
    finished: dict[str, bytes] = field(default_factory=dict)  # actor -> expected verify_data
    early: EarlySecret | None = None
    hs: HandshakeSecret | None = None
    master: MasterSecret | None = None
    secrets: dict[str, bytes] = field(default_factory=dict)


def _suite_of_server_hello(raw: bytes) -> CipherSuite:
    sid_len = raw[4 + 2 + 32]
    suite = suite_by_id(int.from_bytes(raw[4 + 2 + 32 + 1 + sid_len :][:2], "big"))
    assert suite is not None
    return suite


def replay(sec: Section, psk: bytes | None = None) -> Replay:
    """Walk the messages of ``sec`` in order, deriving secrets where a peer would."""
    messages = sec.messages()
    suite = _suite_of_server_hello(next(raw for _, name, raw in messages if name == "ServerHello"))
    r = Replay(suite)
    r.early = EarlySecret.from_psk(suite, psk)
    shared = sec.get('{server}  extract secret "handshake"', "IKM")
    seen_sh = False
    for actor, name, raw in messages:
        if name == "ServerHello" and raw[6:38] == HRR_RANDOM:  # RFC 8446 §4.4.1
            r.transcript.select_hash(suite.hash_name)
            r.transcript.hello_retry_restart()
        if name == "Finished":  # verify_data over the transcript before this Finished
            base = r.secrets["c hs" if actor == "client" else "s hs"]
            r.finished[actor] = finished_verify_data(suite.hash_name, base, r.transcript.digest())
            assert raw[4:] == r.finished[actor]
            check_verify_data(suite.hash_name, base, r.transcript.digest(), raw[4:], "Finished")
        r.transcript.update(raw)
        if name == "ClientHello" and not seen_sh:
            r.transcript.select_hash(suite.hash_name)
            th = r.transcript.digest()
            r.secrets["c e"] = r.early.client_early_traffic_secret(th)
            r.secrets["e exp"] = r.early.early_exporter_master_secret(th)
        if name == "ServerHello" and raw[6:38] != HRR_RANDOM:
            seen_sh = True
            th = r.hashes["ServerHello"] = r.transcript.digest()
            r.hs = r.early.handshake(shared)
            r.secrets["c hs"] = r.hs.client_handshake_traffic_secret(th)
            r.secrets["s hs"] = r.hs.server_handshake_traffic_secret(th)
        if name == "Finished" and actor == "server":
            assert r.hs is not None
            th = r.hashes["server Finished"] = r.transcript.digest()
            r.master = r.hs.master()
            r.secrets["c ap"] = r.master.client_application_traffic_secret_0(th)
            r.secrets["s ap"] = r.master.server_application_traffic_secret_0(th)
            r.secrets["exp"] = r.master.exporter_master_secret(th)
        if name == "Finished" and actor == "client":
            assert r.master is not None
            th = r.hashes["client Finished"] = r.transcript.digest()
            r.secrets["res"] = r.master.resumption_master_secret(th)
    return r


def _psk_for(number: str) -> bytes | None:
    return _section3_psk() if number == "4" else None


def _section3_psk() -> bytes:
    s3 = replay(TRACE.section("3"))
    nst = TRACE.section("3").find("NewSessionTicket", "NewSessionTicket")
    nonce = nst[4 + 9 : 4 + 9 + nst[4 + 8]]  # lifetime(4) age_add(4) nonce<0..255>
    assert nonce == b"\x00\x00"
    return resumption_psk("sha256", s3.secrets["res"], nonce)


def _expanded(sec: Section, actor: str, label: str) -> Step:
    return sec.step(f'{{{actor}}}  derive secret "tls13 {label}"')


@pytest.mark.parametrize("number", HANDSHAKE_SECTIONS)
def test_replay_matches_trace(number: str) -> None:
    sec = TRACE.section(number)
    r = replay(sec, _psk_for(number))
    assert r.early is not None
    assert r.hs is not None
    assert r.master is not None
    early_actor = "client" if number == "4" else "server"  # who prints the early secret
    assert r.early.secret == sec.get(f'{{{early_actor}}}  extract secret "early"', "secret")
    assert r.hs.secret == sec.get('{server}  extract secret "handshake"', "secret")
    assert r.master.secret == sec.get('{server}  extract secret "master"', "secret")
    # the "derived" salts between the stages
    derived = sec.get('{server}  derive secret for handshake "tls13 derived"', "expanded")
    assert derive_secret("sha256", r.early.secret, b"derived", empty_hash("sha256")) == derived
    for label, key, th in [
        ("c hs traffic", "c hs", "ServerHello"),
        ("s hs traffic", "s hs", "ServerHello"),
        ("c ap traffic", "c ap", "server Finished"),
        ("s ap traffic", "s ap", "server Finished"),
        ("exp master", "exp", "server Finished"),
    ]:
        step = _expanded(sec, "server", label)
        assert step["hash"] == r.hashes[th], (label, "transcript hash")
        assert step["expanded"] == r.secrets[key], label
    res = _expanded(sec, "client", "res master")
    assert (res["hash"], res["expanded"]) == (r.hashes["client Finished"], r.secrets["res"])
    for actor in ("server", "client"):
        fin = sec.step(f'{{{actor}}}  calculate finished "tls13 finished"')
        base = r.secrets["s hs" if actor == "server" else "c hs"]
        assert fin["PRK"] == base
        assert finished_key("sha256", base) == fin["expanded"]
        assert r.finished[actor] == fin["finished"]


@pytest.mark.parametrize("number", HANDSHAKE_SECTIONS)
def test_traffic_keys_match_trace(number: str) -> None:
    sec = TRACE.section(number)
    r = replay(sec, _psk_for(number))
    # The trace prints each key pair once, at the side that derives it first (the other side's
    # step says "(same as ...)"); the client's handshake keys come late in the 0-RTT trace.
    steps = {
        "s hs": sec.find("write traffic keys for handshake data", "PRK", actor="server"),
        "c hs": sec.find("traffic keys for handshake data", "PRK", occurrence=-1),
        "s ap": sec.find("write traffic keys for application data", "PRK", actor="server"),
        "c ap": sec.find("write traffic keys for application data", "PRK", actor="client"),
    }
    for key, prk in steps.items():
        step = next(s for s in sec if s.fields.get("PRK") == prk and "key expanded" in s.fields)
        assert prk == r.secrets[key], key
        assert traffic_key_iv(r.suite, r.secrets[key]) == (
            step["key expanded"],
            step["iv expanded"],
        )


@pytest.mark.parametrize(
    ("number", "group", "kind"),
    [("3", X25519, "x25519"), ("4", X25519, "x25519"), ("5", SECP256R1, "P-256"),
     ("6", X25519, "x25519"), ("7", X25519, "x25519")],
)  # fmt: skip
def test_key_exchange_matches_trace(number: str, group: Group, kind: str) -> None:
    sec = TRACE.section(number)
    label = f"create an ephemeral {kind} key pair"
    client, server = sec.search(label, actor="client")[-1], sec.search(label, actor="server")[0]
    shared = sec.get('{server}  extract secret "handshake"', "IKM")
    ours = group.from_private_bytes(client["private key"])
    assert ours.public_bytes == client["public key"]
    assert ours.exchange(server["public key"]) == shared
    theirs = group.from_private_bytes(server["private key"])
    assert group.respond(client["public key"], theirs) == (server["public key"], shared)


def test_hello_retry_transcript_section5() -> None:
    """RFC 8448 §5: Transcript-Hash(message_hash(Hash(CH1)), HRR, CH2, SH) is the hs context."""
    sec = TRACE.section("5")
    (_, _, ch1), (_, _, hrr), (_, _, ch2), (_, _, sh) = sec.messages()[:4]
    assert hrr[6:38] == HRR_RANDOM
    synthetic = b"\xfe\x00\x00\x20" + hashlib.sha256(ch1).digest()
    expected = hashlib.sha256(synthetic + hrr + ch2 + sh).digest()
    assert _expanded(sec, "server", "c hs traffic")["hash"] == expected
    assert replay(sec).hashes["ServerHello"] == expected


# --- RFC 8448 §4: resumption, binder, 0-RTT secrets ---------------------------------------------


def test_section4_psk_binder_and_early_secrets() -> None:
    s4 = TRACE.section("4")
    psk = _section3_psk()
    assert psk == s4.get('{client}  extract secret "early"', "IKM")
    assert psk == TRACE.section("3").get(
        '{server}  generate resumption secret "tls13 resumption"', "expanded"
    )
    early = EarlySecret.from_psk("sha256", psk)
    assert early.secret == s4.get('{client}  extract secret "early"', "secret")

    binder = s4.step("{client}  calculate PSK binder")
    assert early.binder_key(external=False) == binder["PRK"]
    assert early.binder_key(external=True) != binder["PRK"]  # "ext binder" differs
    # The trace prints the ClientHello before the binders were appended (the "prefix",
    # RFC 8446 §4.2.11.2); the complete one is the record payload.
    prefix = binder["ClientHello prefix"]
    assert prefix == s4.get("{client}  construct a ClientHello handshake message", "ClientHello")
    ch = s4.get("{client}  send handshake record", "payload", occurrence=0)
    assert [raw for _, name, raw in s4.messages() if name == "ClientHello"] == [ch]
    assert ch.startswith(prefix)
    assert len(ch) == len(prefix) + 2 + 1 + 32  # binders<33..2^16-1> with one 32-byte binder
    t = TranscriptHash()
    t.select_hash("sha256")
    assert t.digest_with(prefix) == binder["binder hash"]
    assert t.message_count == 0  # digest_with() added nothing
    verify_data = finished_verify_data("sha256", binder["PRK"], binder["binder hash"])
    assert verify_data == binder["finished"] == ch[-32:]
    check_verify_data("sha256", binder["PRK"], binder["binder hash"], ch[-32:], "PSK binder")

    th = hashlib.sha256(ch).digest()
    c_e = s4.step('{client}  derive secret "tls13 c e traffic"')
    assert c_e["hash"] == th
    assert early.client_early_traffic_secret(th) == c_e["expanded"]
    e_exp = s4.step('{client}  derive secret "tls13 e exp master"')
    assert early.early_exporter_master_secret(th) == e_exp["expanded"]
    keys = s4.step("{client}  derive write traffic keys for early application data")
    assert traffic_key_iv(TLS_AES_128_GCM_SHA256, c_e["expanded"]) == (
        keys["key expanded"],
        keys["iv expanded"],
    )


def test_check_verify_data_rejects_a_wrong_mac() -> None:
    base, th = bytes(32), hashlib.sha256(b"x").digest()
    good = finished_verify_data("sha256", base, th)
    check_verify_data("sha256", base, th, good, "Finished")
    with pytest.raises(DecryptError, match="binder does not verify"):
        check_verify_data("sha256", base, th, bytes(32), "binder")
    with pytest.raises(DecryptError):
        check_verify_data("sha256", base, th, good[:-1], "Finished")


# --- Secrets not covered by RFC 8448 -----------------------------------------------------------


def test_psk_ke_mode_uses_zeros_and_full_handshake_uses_zero_psk() -> None:
    assert EarlySecret.from_psk("sha256", None) == EarlySecret.from_psk("sha256", bytes(32))
    early = EarlySecret.from_psk(TLS_AES_128_GCM_SHA256, None)
    assert early.handshake(None) == early.handshake(bytes(32))
    assert (
        EarlySecret.from_psk("sha384", None).secret != EarlySecret.from_psk("sha384", b"psk").secret
    )


def test_sha384_schedule_lengths() -> None:
    suite = suite_by_id(0x1302)
    assert suite is not None
    early = EarlySecret.from_psk(suite, None)
    master = early.handshake(b"\x01" * 48).master()
    th = hashlib.sha384(b"transcript").digest()
    secret = master.client_application_traffic_secret_0(th)
    assert len(early.secret) == len(master.secret) == len(secret) == 48
    key, iv = traffic_key_iv(suite, secret)
    assert (len(key), len(iv)) == (32, 12)


def test_next_traffic_secret_is_traffic_upd() -> None:
    secret = bytes(range(32))
    expected = hkdf_expand_label("sha256", secret, b"traffic upd", b"", 32)
    assert next_traffic_secret("sha256", secret) == expected
    assert next_traffic_secret("sha256", expected) != expected


def test_exporter_structure() -> None:
    """RFC 8446 §7.5: Expand-Label(Derive-Secret(S, label, ""), "exporter", Hash(ctx), L)."""
    secret = bytes(range(32))
    inner = derive_secret("sha256", secret, b"EXPERIMENTAL test", hashlib.sha256().digest())
    expected = hkdf_expand_label("sha256", inner, b"exporter", hashlib.sha256(b"ctx").digest(), 40)
    assert export_keying_material("sha256", secret, b"EXPERIMENTAL test", b"ctx", 40) == expected
    assert len(export_keying_material("sha256", secret, b"label", b"", 100)) == 100


def test_exporter_from_rfc8448_exporter_master_secret() -> None:
    exp = TRACE.section("3").get('{server}  derive secret "tls13 exp master"', "expanded")
    out = export_keying_material("sha256", exp, b"EXPORTER-test", b"", 32)
    inner = hkdf_expand_label("sha256", exp, b"EXPORTER-test", empty_hash("sha256"), 32)
    assert out == hkdf_expand_label("sha256", inner, b"exporter", hashlib.sha256(b"").digest(), 32)


def test_secrets_are_not_in_repr() -> None:
    early = EarlySecret.from_psk("sha256", b"\xaa" * 32)
    hs = early.handshake(b"\xbb" * 32)
    for stage in (early, hs, hs.master()):
        text = repr(stage)
        assert "secret" not in text
        assert stage.secret.hex() not in text
        assert "sha256" in text


# --- The fast paths agree with pyca's HKDF -----------------------------------------------------


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_expand_label_agrees_with_pyca_hkdf_expand(hash_name: str) -> None:
    """One HMAC block for L <= HashLen (RFC 5869 §2.3), pyca's HKDFExpand beyond."""
    algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}[hash_name]
    size = hash_len(hash_name)
    secret = bytes(range(size))
    for length in (1, 12, 16, size - 1, size, size + 1, 3 * size + 5):
        info = hkdf_label(b"test label", b"ctx", length)
        expected = HKDFExpand(algorithm, length, info).derive(secret)
        assert hkdf_expand_label(hash_name, secret, b"test label", b"ctx", length) == expected
        assert hkdf_expand(hash_name, secret, info, length) == expected


def test_stages_derive_the_same_secret_every_time() -> None:
    """Each derivation starts from a copy of the stage's keyed HMAC, never from a used one."""
    th = hashlib.sha256(b"messages").digest()
    hs = EarlySecret.from_psk("sha256", None).handshake(b"\x07" * 32)
    first = hs.client_handshake_traffic_secret(th)
    assert hs.server_handshake_traffic_secret(th) != first
    assert hs.client_handshake_traffic_secret(th) == first
    assert first == derive_secret("sha256", hs.secret, b"c hs traffic", th)
    assert hs.master() == hs.master()
    assert HandshakeSecret("sha256", hs.secret) == hs  # the keyed HMAC is not compared


def test_no_psk_early_secret_is_a_shared_constant() -> None:
    early = EarlySecret.from_psk("sha256", None)
    assert early is EarlySecret.from_psk(TLS_AES_128_GCM_SHA256, None)
    assert early.secret == hkdf_extract("sha256", bytes(32), bytes(32))
    assert EarlySecret.from_psk("sha384", None).secret == hkdf_extract(
        "sha384", bytes(48), bytes(48)
    )


def test_traffic_key_iv_longer_than_the_hash() -> None:
    """No TLS 1.3 suite has a key longer than its hash, but the general path still works."""
    wide = dataclasses.replace(TLS_AES_128_GCM_SHA256, key_len=40)
    secret = bytes(range(32))
    key, iv = traffic_key_iv(wide, secret)
    assert key == hkdf_expand_label("sha256", secret, b"key", b"", 40)
    assert iv == traffic_key_iv(TLS_AES_128_GCM_SHA256, secret)[1]
