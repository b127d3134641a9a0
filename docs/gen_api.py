"""Write ``docs/api.md``, the API reference, from the public modules' docstrings.

Run ``python docs/gen_api.py`` after changing a public signature or docstring;
``tests/unit/test_api_docs.py`` fails while ``docs/api.md`` is out of date.

What is documented: every name a public module exports (``__all__``), with its signature and
docstring; for classes, their public methods and properties, and for dataclasses (configs,
events) every field with its type, default and the attribute docstring written under it (read
from the source with :mod:`ast`, since Python keeps those strings nowhere at run time).
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import itertools
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"

#: The public modules, in the order a reader meets them.
MODULES = (
    "tlsmachine",
    "tlsmachine.config",
    "tlsmachine.events",
    "tlsmachine.errors",
    "tlsmachine.sockets",
    "tlsmachine.context",
    "tlsmachine.asyncio",
    "tlsmachine.verify",
    "tlsmachine.certs",
    "tlsmachine.session",
    "tlsmachine.session_cache",
    "tlsmachine.keylog",
    "tlsmachine.profiles",
)


def _doc(obj: object) -> str:
    return inspect.cleandoc(obj.__doc__ or "") if getattr(obj, "__doc__", None) else ""


def _field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings: a string literal right under an annotated class attribute."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    body = ast.parse(source).body[0]
    if not isinstance(body, ast.ClassDef):
        return docs
    statements = body.body
    for node, after in itertools.pairwise(statements):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _signature(obj: object) -> str:
    try:
        text = str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"
    # annotations are strings under `from __future__ import annotations`: unquote them
    return re.sub(r"(: |-> )'([^']*)'", r"\1\2", text)


def _default(f: dataclasses.Field[object]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
        if isinstance(value, enum.Enum):
            return f"{type(value).__name__}.{value.name}"
        if isinstance(value, tuple) and value:
            if all(isinstance(v, enum.Enum) for v in value):
                return "(" + ", ".join(v.name for v in value) + ")"
            if all(isinstance(getattr(v, "name", None), str) for v in value):
                return "(" + ", ".join(v.name for v in value) + ")"
            if len(repr(value)) > 60:
                return "(see source)"
        if callable(value):
            return getattr(value, "__qualname__", repr(value))
        return repr(value)
    if f.default_factory is not dataclasses.MISSING:
        return "(factory)"
    return "required"


def _annotation(f: dataclasses.Field[object]) -> str:
    text = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", repr(f.type))
    return text.replace("|", "\\|")


def _dataclass_fields(cls: type) -> list[str]:
    docs = _field_docs(cls)
    lines = ["| Field | Type | Default | |", "|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        doc = " ".join(docs.get(f.name, "").split()).replace("|", "\\|")
        lines.append(f"| `{f.name}` | `{_annotation(f)}` | `{_default(f)}` | {doc} |")
    return lines


def _parts(cls: type) -> list[type]:
    """``cls`` and the bases it is split into to keep modules small, base first: bases defined
    in a ``<its module>_*`` module (``Context`` in ``tlsmachine.context`` is built on
    ``tlsmachine.context_settings`` and ``tlsmachine.context_config``). Their members are
    documented as the class's own."""
    prefix = cls.__module__ + "_"
    return [*reversed([b for b in cls.__mro__[1:] if b.__module__.startswith(prefix)]), cls]


def _members(cls: type) -> list[str]:
    out: list[str] = []
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    names = dict.fromkeys(name for part in _parts(cls) for name in part.__dict__)
    for name in names:
        member = inspect.getattr_static(cls, name)
        if name.startswith("_") or name in fields:  # a field's default is not a method
            continue
        if name == "__init__":
            continue  # the signature is shown under the class name
        if isinstance(member, property):
            out.append(f"- **`{name}`** (property): {' '.join(_doc(member).split())}".rstrip())
        elif isinstance(member, classmethod | staticmethod):
            func = member.__func__
            out.append(f"- **`{name}{_signature(func)}`**: {_first_paragraph(func)}".rstrip())
        elif inspect.isfunction(member):
            out.append(f"- **`{name}{_signature(member)}`**: {_first_paragraph(member)}".rstrip())
    return out


def _first_paragraph(obj: object) -> str:
    return " ".join(_doc(obj).split("\n\n")[0].split())


def _describe_class(name: str, cls: type) -> list[str]:
    lines = [f"### `{name}`", ""]
    if issubclass(cls, enum.Enum):
        lines += [_doc(cls), "", "Members: " + ", ".join(f"`{m.name}`" for m in cls), ""]
        return lines
    parts = _parts(cls)
    bases = [b.__name__ for b in cls.__bases__ if b is not object and b not in parts]
    if bases:
        lines += [f"*Subclass of {', '.join(f'`{b}`' for b in bases)}.*", ""]
    if not dataclasses.is_dataclass(cls) and any("__init__" in p.__dict__ for p in parts):
        lines += [f"`{name}{_signature(cls)}`", ""]
    if _doc(cls):
        lines += [_doc(cls), ""]
    if dataclasses.is_dataclass(cls) and dataclasses.fields(cls):
        lines += [*_dataclass_fields(cls), ""]
    members = _members(cls)
    if members:
        lines += [*members, ""]
    return lines


def _describe(name: str, obj: object) -> list[str]:
    if inspect.isclass(obj):
        return _describe_class(name, obj)
    if callable(obj):
        return [f"### `{name}{_signature(obj)}`", "", _doc(obj), ""]
    return []


def _module_section(module: ModuleType, seen: dict[int, str]) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:  # every public class and function defined in the module itself
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == module.__name__
        ]
    lines = [f"## `{module.__name__}`", ""]
    first = _doc(module).split("\n\n")[0]
    if first:
        lines += [first, ""]
    for name in names:
        obj = getattr(module, name)
        if id(obj) in seen:
            lines += [f"- `{name}`: see `{seen[id(obj)]}`", ""]
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        seen[id(obj)] = module.__name__
        lines += _describe(name, obj)
    return lines


def render() -> str:
    """The whole reference, as Markdown."""
    sys.path.insert(0, str(ROOT / "src"))
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python docs/gen_api.py`; do not edit by hand.",
        "See also `docs/state-machines.md`, `docs/security.md` and `docs/ssl-compat.md`.",
        "",
    ]
    seen: dict[int, str] = {}  # object -> the module whose section documents it
    # document each object in its home module, not in the package that re-exports it
    modules = [importlib.import_module(name) for name in MODULES]
    for module in modules[1:]:
        lines += _module_section(module, seen)
    top = modules[0]
    rest = [n for n in top.__all__ if id(getattr(top, n)) not in seen and not n.startswith("__")]
    if rest:
        lines += ["## `tlsmachine` (other exports)", ""]
        for name in rest:
            obj = getattr(top, name)
            seen[id(obj)] = top.__name__
            lines += _describe(name, obj)
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"


def main() -> int:
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
