"""`--set key=value` overrides of a (nested, frozen) config dataclass, typed from the field's annotation.

    apply_overrides(preset("tiny"), ["train.lexcmlp.steps=100", "model.motion_depth=6", "data.specs=a,b"])
"""
from __future__ import annotations

import types
import typing
from dataclasses import fields, is_dataclass, replace

from .errors import SpecError


def apply_overrides(cfg, overrides: list[str]):
    for item in overrides or []:
        if "=" not in item:
            raise SpecError(f"override {item!r} is not key=value")
        key, text = item.split("=", 1)
        cfg = _set(cfg, key.strip().split("."), text.strip(), key.strip())
    return cfg


def _set(obj, path: list[str], text: str, full_key: str):
    names = {f.name: f for f in fields(obj)}
    if path[0] not in names:
        raise SpecError(f"unknown config key {full_key!r}: {type(obj).__name__} has no field {path[0]!r} "
                        f"(fields: {', '.join(sorted(names))})")
    current = getattr(obj, path[0])
    if len(path) > 1:
        if not is_dataclass(current):
            raise SpecError(f"unknown config key {full_key!r}: {path[0]!r} is not a section")
        return _replace(obj, **{path[0]: _set(current, path[1:], text, full_key)})
    if is_dataclass(current):
        raise SpecError(f"config key {full_key!r} is a section; set one of its fields")
    hint = typing.get_type_hints(type(obj))[path[0]]
    return _replace(obj, **{path[0]: parse_value(text, hint, full_key)})


def _replace(obj, **changes):
    try:
        return replace(obj, **changes)
    except (TypeError, ValueError) as err:
        raise SpecError(f"invalid config value: {err}") from None


def parse_value(text: str, hint, key: str = "value"):
    """Turn the text of an override into the field's type (bool, int, float, str, tuples, Optional)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return parse_value(text, arg, key)
            except SpecError:
                continue
        raise SpecError(f"{key}: cannot read {text!r} as {hint}")
    if origin is typing.Literal:
        if text not in [str(a) for a in args]:
            raise SpecError(f"{key}: expected one of {args}, got {text!r}")
        return next(a for a in args if str(a) == text)
    if origin in (tuple, list):
        item = args[0] if args else str
        parts = [p.strip() for p in text.split(",") if p.strip()]
        values = [parse_value(p, item, key) for p in parts]
        return tuple(values) if origin is tuple else values
    if hint is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise SpecError(f"{key}: expected true or false, got {text!r}")
    if hint in (int, float):
        try:
            value = float(text)
        except ValueError:
            raise SpecError(f"{key}: expected a number, got {text!r}") from None
        if hint is int:
            if value != int(value):
                raise SpecError(f"{key}: expected an integer, got {text!r}")
            return int(value)
        return value
    if hint is str:
        return text
    raise SpecError(f"{key}: cannot set a field of type {hint} from the command line")
