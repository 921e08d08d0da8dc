"""`open_dataset(spec)`: the URI-like dataset specs of DESIGN.md, one class per format.

    synthetic[?n=2000&seed=0]    humanml3d:/path    kitml:/path
    bvh:/folder[?labels=file.csv&mapping=file.json]    bandai:/path/to/archive-or-folder[?hold_out=run+walk]
    spec1,spec2,...              -> ConcatDataset (ids prefixed by each dataset's name)
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl

from ..errors import SpecError
from .dataset import Dataset

SCHEMES = ("synthetic", "humanml3d", "kitml", "bvh", "bandai")
OPTIONS = {"synthetic": {"n", "seed"}, "humanml3d": set(), "kitml": set(), "bvh": {"labels", "mapping"},
           "bandai": {"workers", "hold_out"}}


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """"bvh:/data/x?labels=l.csv" -> ("bvh", "/data/x", {"labels": "l.csv"})."""
    spec = spec.strip()
    head, _, query = spec.partition("?")
    scheme, colon, path = head.partition(":")
    scheme = scheme.strip().lower()
    if scheme not in SCHEMES:
        raise SpecError(f"unknown dataset scheme {scheme!r} in {spec!r}; expected one of "
                        f"{', '.join(SCHEMES)} (e.g. synthetic, bandai:/path/archive.tar.xz)")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = set(options) - OPTIONS[scheme]
    if unknown:
        raise SpecError(f"{spec!r}: unknown option(s) {', '.join(sorted(unknown))} for {scheme} "
                        f"(allowed: {', '.join(sorted(OPTIONS[scheme])) or 'none'})")
    if scheme == "synthetic":
        if colon and path:
            raise SpecError(f"{spec!r}: synthetic takes no path (use synthetic?n=2000&seed=0)")
        return scheme, "", options
    if not path.strip():
        raise SpecError(f"{spec!r}: {scheme} needs a path, e.g. {scheme}:/path/to/data")
    path = str(Path(path.strip()).expanduser())
    if not Path(path).exists():
        raise SpecError(f"{spec!r}: {path} does not exist")
    return scheme, path, options


def _int_option(options: dict, key: str, default: int, spec: str, minimum: int = 0) -> int:
    try:
        value = int(options.get(key, default))
    except ValueError:
        raise SpecError(f"{spec!r}: {key} must be an integer, got {options[key]!r}") from None
    if value < minimum:
        raise SpecError(f"{spec!r}: {key} must be at least {minimum}, got {value}")
    return value


def open_one(spec: str) -> Dataset:
    scheme, path, options = parse_spec(spec)
    spec = spec.strip()
    if scheme == "synthetic":
        from .synthetic import SyntheticDataset
        return SyntheticDataset(spec, n=_int_option(options, "n", 2000, spec, 1),
                                seed=_int_option(options, "seed", 0, spec))
    if scheme == "humanml3d":
        from .humanml3d import HumanML3DDataset
        return HumanML3DDataset(spec, path)
    if scheme == "kitml":
        from .humanml3d import KITMLDataset
        return KITMLDataset(spec, path)
    if scheme == "bvh":
        from .bvh_folder import BvhFolderDataset
        return BvhFolderDataset(spec, path, labels=options.get("labels"), mapping=options.get("mapping"))
    from .bandai import BandaiDataset
    return BandaiDataset(spec, path, workers=_int_option(options, "workers", 2, spec, 1),
                         hold_out=tuple(w for w in re.split(r"[+\s]+", options.get("hold_out", "")) if w))


def open_dataset(spec: str) -> Dataset:
    """One spec -> its Dataset; comma-separated specs -> a ConcatDataset over them."""
    parts = [p for p in (spec or "").split(",") if p.strip()]
    if not parts:
        raise SpecError("empty dataset spec; expected e.g. synthetic or bandai:/path/archive.tar.xz")
    if len(parts) == 1:
        return open_one(parts[0])
    from .concat import ConcatDataset
    return ConcatDataset(spec, [open_one(p) for p in parts])
