"""The RFC 8448 TLS 1.3 example traces as data, for byte-for-byte tests.

RFC 8448 lists, per section (2 private keys, 3 simple 1-RTT, 4 resumed 0-RTT, 5
HelloRetryRequest, 6 client authentication, 7 compatibility mode), a sequence of *steps*. A step
is a label line such as::

   {server}  derive secret "tls13 s hs traffic":

      PRK (32 octets):  1d c8 26 e9 ...
      hash (32 octets):  86 0c 06 ed ...

followed by named hex *fields*. This module turns that into::

    Trace.sections: {"2": Section, "3": Section, ..., "7": Section}
    Section(number, title, steps: tuple[Step, ...])
    Step(label, line, fields: {name: bytes})

Faithfulness rules:

* ``Step.label`` is the label exactly as printed (continuation lines joined with one space, the
  trailing colon dropped), e.g. ``'{server}  derive secret "tls13 s hs traffic"'`` (two spaces
  after the actor, as in the RFC). ``Step.key`` is the label without a trailing
  ``(same as ...)`` note; such steps usually have no fields (the RFC prints the values once).
  Labels repeat (``{client}  send handshake record`` appears once per record), so lookups take
  an ``occurrence`` (0-based, in trace order) and refuse to guess when a label is ambiguous.
* Field names are the text before `` (N octets)`` (``PRK``, ``hash``, ``info``, ``expanded``,
  ``key expanded``, ``iv expanded``, ``payload``, ``complete record``, ``ClientHello``,
  ``finished`` ...). The octet count is checked against the hex. ``hash (0 octets):  (empty)``
  is ``b""``; ``salt:  0 (all zero octets)`` is ``b""`` too (an absent salt: HKDF-Extract then uses
  HashLen zero octets, RFC 5869 §2.2, which gives the same PRK).
* Section 2 has no step labels; its RSA key becomes one step labelled ``server RSA private key``
  with fields ``modulus``, ``public exponent``, ``private exponent``, ``prime1``, ``prime2``,
  ``exponent1``, ``exponent2``, ``coefficient`` (big-endian integers).
* Page headers (``RFC 8448 ... TLS 1.3 Traces``), footers (``Thomson ... [Page N]``) and form
  feeds are skipped; prose paragraphs (introductions, ``Note:``) are ignored. Any other line the
  parser does not understand is an error, so nothing is silently lost.

Usage::

    trace = load_rfc8448()
    s3 = trace.section("3")
    s3.get('{server}  derive secret "tls13 s hs traffic"', "expanded")    # -> bytes
    s3.find("s hs traffic", "expanded", actor="server")                   # unique substring
    s3.get("{client}  send handshake record", "payload", occurrence=1)    # 2nd such record
    [(actor, name, raw) for actor, name, raw in s3.messages()]            # handshake messages
    [(actor, kind, step["complete record"]) for actor, kind, step in s3.records()]  # the wire

``load_rfc8448()`` reads ``tests/vectors/rfc8448.json`` (written by
``tests/vectors/extract_rfc8448.py``) when present, so tests never need the RFC text at run
time; otherwise it parses the text from ``../shared/specs/rfc8448.txt``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEXT_PATH = REPO / "tests" / "vectors" / "rfc8448.txt"  # the RFC itself, as published
JSON_PATH = REPO / "tests" / "vectors" / "rfc8448.json"

_SECTION = re.compile(r"^(\d+)\.  (\S.*)$")
_HEADER = re.compile(r"^RFC 8448 .*TLS 1\.3 Traces")
_FOOTER = re.compile(r"^Thomson .*\[Page \d+\]$")
_HEX = r"[0-9a-f]{2}(?: [0-9a-f]{2})*"
_FIELD = re.compile(
    r"^(?P<indent> +)(?P<name>[A-Za-z][A-Za-z0-9 ]*?)(?: \((?P<paren>[^)]*)\))?:  "
    rf"(?P<value>{_HEX}|\(empty\)|0 \(all zero octets\))$"
)
_HEX_LINE = re.compile(rf"^(?P<indent> +){_HEX}$")
_SAME_AS = re.compile(r" \(same as [^)]*\)$")
_MESSAGE = re.compile(r"^construct an? (\w+) handshake message$")
_RECORD = re.compile(r"^send (\w+) record$")
_FIRST_SECTION, _LAST_SECTION = 2, 7
_RSA_KEY_LABEL = "server RSA private key"
_STEP_INDENT = 3  # step labels and prose start in column 4; fields are indented further


@dataclass(frozen=True)
class Step:
    """One labelled block of a trace section."""

    label: str
    line: int  # 1-based line of the label in rfc8448.txt (0 for the section 2 pseudo-step)
    fields: Mapping[str, bytes] = field(repr=False)

    @property
    def key(self) -> str:
        """The label without a trailing ``(same as ...)`` note."""
        return _SAME_AS.sub("", self.label)

    @property
    def actor(self) -> str:
        """``"client"``, ``"server"`` or ``""`` (section 2)."""
        m = re.match(r"^\{(\w+)\}", self.label)
        return m.group(1) if m else ""

    @property
    def action(self) -> str:
        """The label after the actor, e.g. ``derive secret "tls13 c hs traffic"``."""
        return re.sub(r"^\{\w+\}\s+", "", self.key)

    def __getitem__(self, name: str) -> bytes:
        try:
            return self.fields[name]
        except KeyError:
            has = list(self.fields)
            raise KeyError(f"{self.label!r} has no field {name!r}; it has {has}") from None


@dataclass(frozen=True)
class Section:
    """One numbered section of RFC 8448: its title and steps in trace order."""

    number: str
    title: str
    steps: tuple[Step, ...]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def labels(self) -> list[str]:
        return [s.label for s in self.steps]

    def _pick(self, matches: list[Step], what: str, occurrence: int | None) -> Step:
        if not matches:
            raise KeyError(f"section {self.number}: no step matches {what}")
        if occurrence is None:
            if len(matches) > 1:
                lines = [s.line for s in matches]
                raise LookupError(
                    f"section {self.number}: {len(matches)} steps match {what} (lines {lines}); "
                    "pass occurrence="
                )
            return matches[0]
        return matches[occurrence]

    def step(self, label: str, occurrence: int | None = None) -> Step:
        """The step whose label (or label without ``(same as ...)``) equals ``label``."""
        matches = [s for s in self.steps if s.label == label]
        if not matches:  # e.g. the full label of a "(same as ...)" step given without the note
            matches = [s for s in self.steps if s.key == label]
        return self._pick(matches, repr(label), occurrence)

    def get(self, label: str, name: str, occurrence: int | None = None) -> bytes:
        """Field ``name`` of the step labelled ``label``."""
        return self.step(label, occurrence)[name]

    def search(self, substring: str, *, actor: str | None = None) -> list[Step]:
        """Steps whose label contains ``substring`` (optionally only those of ``actor``)."""
        return [
            s for s in self.steps if substring in s.label and (actor is None or s.actor == actor)
        ]

    def find(
        self,
        substring: str,
        name: str,
        *,
        actor: str | None = None,
        occurrence: int | None = None,
    ) -> bytes:
        """Field ``name`` of the step whose label contains ``substring`` and has that field."""
        matches = [s for s in self.search(substring, actor=actor) if name in s.fields]
        return self._pick(matches, f"{substring!r} with field {name!r}", occurrence)[name]

    def messages(self) -> list[tuple[str, str, bytes]]:
        """``(actor, message name, raw handshake message)`` of every ``construct a ... handshake
        message`` step, in trace order: the transcript. The HelloRetryRequest is labelled
        ``ServerHello``. In section 4 the constructed ClientHello is printed *before* its PSK
        binders were appended (477 of 512 octets, its header says 0x1fc); for such a truncated
        message this returns the complete one, the payload of the actor's next ``send handshake
        record`` (which starts with the printed prefix)."""
        out = []
        for i, s in enumerate(self.steps):
            m = _MESSAGE.match(s.action)
            if not m:
                continue
            raw = s[m.group(1)]
            if int.from_bytes(raw[1:4], "big") + 4 != len(raw):
                raw = self._completed(raw, s.actor, i)
            out.append((s.actor, m.group(1), raw))
        return out

    def records(self) -> list[tuple[str, str, Step]]:
        """``(actor, content type, step)`` of every ``send <type> record`` step, in trace order:
        everything either side puts on the wire. The type is the one the label names
        (``handshake``, ``change_cipher_spec``, ``application_data``, ``alert``), also for a
        protected record, whose outer type is application_data. Each step has the fields
        ``payload`` (the plaintext content) and ``complete record`` (the bytes sent)."""
        return [(s.actor, m.group(1), s) for s in self.steps if (m := _RECORD.match(s.action))]

    def _completed(self, prefix: bytes, actor: str, index: int) -> bytes:
        full_len = int.from_bytes(prefix[1:4], "big") + 4
        for s in self.steps[index + 1 :]:
            if s.key == f"{{{actor}}}  send handshake record":
                payload = s["payload"]
                if payload.startswith(prefix) and len(payload) >= full_len:
                    return payload[:full_len]
                break
        raise ValueError(
            f"section {self.number}: truncated message at line {self.steps[index].line}"
        )


@dataclass(frozen=True)
class Trace:
    """All sections of RFC 8448 that carry data (2 to 7)."""

    sections: Mapping[str, Section]

    def section(self, number: str) -> Section:
        return self.sections[number]

    def to_json(self) -> dict[str, object]:
        return {
            "source": "RFC 8448; generated by tests/vectors/extract_rfc8448.py, do not edit",
            "sections": {
                n: {
                    "title": s.title,
                    "steps": [
                        {
                            "label": st.label,
                            "line": st.line,
                            "fields": {k: v.hex() for k, v in st.fields.items()},
                        }
                        for st in s.steps
                    ],
                }
                for n, s in self.sections.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trace:
        def step(d: Mapping[str, Any]) -> Step:
            fields = {k: bytes.fromhex(v) for k, v in d["fields"].items()}
            return Step(d["label"], d["line"], MappingProxyType(fields))

        sections = {
            n: Section(n, s["title"], tuple(step(d) for d in s["steps"]))
            for n, s in data["sections"].items()
        }
        return cls(MappingProxyType(sections))


class _Builder:
    """Line-by-line parser state for :func:`parse_rfc8448`."""

    def __init__(self) -> None:
        self.sections: dict[str, Section] = {}
        self.number: str | None = None
        self.title = ""
        self.steps: list[Step] = []
        self.label: list[str] | None = None  # label lines still being collected
        self.label_line = 0
        self.fields: dict[str, bytes] | None = None
        self.field_name: str | None = None
        self.field_indent = 0
        self.expected: dict[str, int] = {}
        self.in_prose = False

    def close_step(self) -> None:
        if self.label is not None:
            self.finish_label()
        if self.fields is not None and self.steps:
            self.check_lengths()
        self.fields = None
        self.field_name = None

    def finish_label(self) -> None:
        assert self.label is not None
        text = " ".join(self.label).removesuffix(":")
        self.fields = {}
        self.expected = {}
        self.steps.append(Step(text, self.label_line, MappingProxyType(self.fields)))
        self.label = None

    def check_lengths(self) -> None:
        assert self.fields is not None
        for name, n in self.expected.items():
            if len(self.fields[name]) != n:
                step = self.steps[-1]
                raise ValueError(
                    f"line {step.line}: {step.label!r} {name}: {len(self.fields[name])} != {n}"
                )

    def close_section(self) -> None:
        self.close_step()
        if self.number is not None:
            self.sections[self.number] = Section(self.number, self.title, tuple(self.steps))
        self.number = None
        self.steps = []

    def add_field(self, m: re.Match[str], lineno: int) -> None:
        if self.label is not None:
            self.finish_label()
        if self.fields is None:  # section 2: fields without a step label
            self.label, self.label_line = [_RSA_KEY_LABEL], 0
            self.finish_label()
        assert self.fields is not None
        name, paren, value = m.group("name"), m.group("paren"), m.group("value")
        if name in self.fields:
            raise ValueError(f"line {lineno}: duplicate field {name!r}")
        if paren and (octets := re.fullmatch(r"(\d+) octets", paren)):
            self.expected[name] = int(octets.group(1))
        hexes = value if re.fullmatch(_HEX, value) else ""
        self.fields[name] = bytes.fromhex(hexes)
        self.field_name, self.field_indent = name, len(m.group("indent"))

    def feed(self, line: str, lineno: int) -> None:
        if m := _SECTION.match(line):
            self.close_section()
            if _FIRST_SECTION <= int(m.group(1)) <= _LAST_SECTION:
                self.number, self.title = m.group(1), m.group(2)
            return
        if self.number is None:
            return
        if not line.strip():
            if self.label is not None:
                self.finish_label()
            self.in_prose = False
            return
        indent = len(line) - len(line.lstrip(" "))
        hex_line = _HEX_LINE.match(line)
        if hex_line and self.field_name is not None and indent > self.field_indent:
            assert self.fields is not None
            self.fields[self.field_name] += bytes.fromhex(line.strip())
        elif m := _FIELD.match(line):
            self.add_field(m, lineno)
        elif indent == _STEP_INDENT and line[indent] == "{":
            self.close_step()
            self.label, self.label_line, self.in_prose = [line.strip()], lineno, False
        elif self.label is not None and indent > _STEP_INDENT:
            self.label.append(line.strip())
        elif indent == _STEP_INDENT or (self.in_prose and indent > _STEP_INDENT):
            self.close_step()
            self.in_prose = True
        else:
            raise ValueError(f"rfc8448.txt line {lineno}: cannot parse {line!r}")


def parse_rfc8448(text: str) -> Trace:
    """Parse the text of RFC 8448 (see the module docstring for the structure)."""
    builder = _Builder()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if "\f" in line or _HEADER.match(line) or _FOOTER.match(line):
            continue  # page furniture: neither ends a label nor interrupts a field
        builder.feed(line, lineno)
    builder.close_section()
    return Trace(MappingProxyType(builder.sections))


@cache
def load_rfc8448(source: Path | None = None) -> Trace:
    """The parsed trace: from ``source``, else the committed JSON, else the RFC text."""
    path = source or (JSON_PATH if JSON_PATH.exists() else TEXT_PATH)
    if path.suffix == ".json":
        return Trace.from_json(json.loads(path.read_text(encoding="utf-8")))
    return parse_rfc8448(path.read_text(encoding="utf-8"))
