"""tlsmachine.fast_init: the same objects as dataclasses' own ``__init__``, built faster.

Each shape of field a frozen dataclass may have (positional, defaulted, from a factory,
keyword-only, ``init=False`` with or without a default, inherited) is built both ways and the
results compared field by field; what fast_init cannot reproduce is refused at decoration.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from dataclasses import InitVar, dataclass, field
from typing import Any

import pytest

import tlsmachine
from tlsmachine.fast_init import fast_init


def _both(make: Any) -> tuple[type, type]:
    """The class ``make()`` builds, plain and with fast_init (two separate classes)."""
    return make(), fast_init(make())


def _shapes() -> Any:
    @dataclass(frozen=True, slots=True)
    class Shapes:
        a: int
        b: bytes = b"x"
        c: tuple[int, ...] = field(default_factory=tuple)
        d: int = field(default=5, kw_only=True)
        e: str = field(init=False, default="E")
        f: list[int] = field(init=False, default_factory=list)
        g: int = field(init=False, repr=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "g", self.a * 2)

    return Shapes


def _fields(obj: object) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((2, b"y", (3,)), {"d": 7}), ((), {"a": 4, "c": (1, 2)})],
    ids=["defaults", "all-given", "keywords"],
)
def test_same_fields_defaults_factories_and_post_init(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    plain, fast = _both(_shapes)
    expected, got = plain(*args, **kwargs), fast(*args, **kwargs)
    assert _fields(got) == _fields(expected)
    assert got.g == expected.g == 2 * expected.a  # __post_init__ ran
    assert got.f == [] and got.f is not fast(*args, **kwargs).f  # a fresh list each time
    assert repr(got).replace(fast.__qualname__, "X") == repr(expected).replace(
        plain.__qualname__, "X"
    )


def test_same_signature_and_errors_for_missing_or_extra_arguments() -> None:
    plain, fast = _both(_shapes)
    assert str(inspect.signature(fast.__init__)) == str(inspect.signature(plain.__init__))
    for call in (lambda c: c(), lambda c: c(1, 2, 3, 4), lambda c: c(1, e="no")):
        with pytest.raises(TypeError):
            call(plain)
        with pytest.raises(TypeError):
            call(fast)


def test_still_frozen_hashable_and_replaceable() -> None:
    _, fast = _both(_shapes)
    obj = fast(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.a = 2
    changed = dataclasses.replace(obj, a=3)
    assert (changed.a, changed.g) == (3, 6)
    assert obj == fast(1) and obj != changed


def test_inherited_and_keyword_only_fields_keep_dataclass_order() -> None:
    def make() -> type:
        @dataclass(frozen=True, slots=True, kw_only=True)
        class Base:
            p: int
            q: int = 2

        @dataclass(frozen=True, slots=True)
        class Child(Base):
            r: bytes = b""

        return Child

    plain, fast = _both(make)
    assert str(inspect.signature(fast.__init__)) == str(inspect.signature(plain.__init__))
    assert _fields(fast(b"r", p=1)) == _fields(plain(b"r", p=1)) == {"p": 1, "q": 2, "r": b"r"}


def test_refuses_what_it_cannot_reproduce() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: InitVar[int]

        def __post_init__(self, b: int) -> None:
            pass

    for cls in (NoSlots, NotFrozen, WithInitVar, int):
        with pytest.raises(TypeError, match="fast_init"):
            fast_init(cls)


def test_every_decorated_class_in_the_package_builds_its_dataclass_init_signature() -> None:
    """fast_init checks this at import; here, that it is in use where the handshake builds
    objects (messages, extensions, key schedule stages) and that the checks passed."""
    modules = [
        importlib.import_module(m.name)
        for m in pkgutil.walk_packages(tlsmachine.__path__, "tlsmachine.")
    ]
    fast = {
        f"{cls.__module__}.{cls.__qualname__}"
        for module in modules
        for cls in vars(module).values()
        if isinstance(cls, type)
        and (code := getattr(vars(cls).get("__init__"), "__code__", None)) is not None
        and code.co_filename == "<string>"
        and any(n.startswith("_set_") for n in code.co_names)
    }
    for name in (
        "tlsmachine.messages.hello.ClientHello",
        "tlsmachine.extensions.hello.KeyShareEntry",
        "tlsmachine.keyschedule.HandshakeSecret",
        "tlsmachine.events.HandshakeComplete",
        "tlsmachine.messages.tls12_key_exchange.ClientKeyExchange",
    ):
        assert name in fast, name
