"""`bandai:/path/to/archive-or-folder`: Bandai-Namco-Research-Motiondataset-2 (2,902 mocap takes).

The first open unpacks the archive (safely) and converts every take once, in parallel, to a
canonical .npy in the cache; a manifest written last marks the conversion complete. Later opens
read the manifest only (milliseconds). The cache key is the source's size+mtime and CODE_VERSION.
Labels come from the file names `dataset-2_{content}_{style}_{id}.bvh`; captions from templates.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import tarfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import InputError, SpecError
from ..motion import MAX_FILE_BYTES, Motion, validate_joints
from ..skeleton import FPS
from ..atomic import atomic_save_npy, atomic_write_json
from .cache import cache_dir, cache_key, file_identity
from .captions import bandai_label, captions_for
from .clip import Clip
from .dataset import Dataset
from .splits import assign_splits

TAKE_NAME = re.compile(r"^dataset-2_(?P<content>[a-z-]+)_(?P<style>[a-z]+)_(?P<num>\d+)$")
DEFAULT_WORKERS = 2


def parse_take(stem: str) -> dict | None:
    """`dataset-2_raise-up-left-hand_elderly_003` -> {"id", "content", "style"}; None if not a take."""
    match = TAKE_NAME.match(stem)
    if not match:
        return None
    return {"id": stem[len("dataset-2_"):], "content": match["content"], "style": match["style"]}


# -- unpacking --------------------------------------------------------------------------------
def safe_member_name(member: tarfile.TarInfo, archive: Path) -> PurePosixPath:
    """Reject absolute paths and `..` (a crafted archive must not write outside the cache)."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or member.name.startswith(("/", "\\")):
        raise InputError(archive, f"unsafe path in archive: {member.name!r}")
    return name


def unpack_takes(archive: Path, dest: Path) -> list[Path]:
    """Stream the archive once and write its take .bvh files (flat) into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                name = safe_member_name(member, archive)
                if not member.isfile() or name.suffix != ".bvh" or not parse_take(name.stem):
                    continue   # links, folders, docs: never needed, never written
                if member.size > MAX_FILE_BYTES:
                    raise InputError(archive, f"{member.name} is larger than {MAX_FILE_BYTES >> 20} MB")
                target = dest / name.name
                with tar.extractfile(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                written.append(target)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise InputError(archive, f"cannot unpack the archive ({err})") from None
    return written


# -- conversion -------------------------------------------------------------------------------
def convert_take(job: tuple[str, str]) -> tuple[str, int, str | None]:
    """Worker: one BVH -> canonical .npy. Returns (bvh path, frames, error or None)."""
    bvh, npy = job
    from ..motion_io import load_motion
    try:
        motion = load_motion(bvh)
        joints = validate_joints(motion.joints, bvh)
        atomic_save_npy(Path(npy), joints)
        return bvh, int(joints.shape[0]), None
    except Exception as err:   # reported in the manifest; one bad take must not stop 2,901 others
        return bvh, 0, f"{type(err).__name__}: {err}"


def convert_all(bvh_files: list[Path], npy_dir: Path, workers: int = DEFAULT_WORKERS) -> list[tuple]:
    from tqdm import tqdm

    npy_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(str(p), str(npy_dir / f"{parse_take(p.stem)['id']}.npy")) for p in bvh_files]
    bar = tqdm(total=len(jobs), desc="converting bandai takes", unit="take", disable=None)
    results = []
    if workers <= 1:
        for job in jobs:
            results.append(convert_take(job))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(convert_take, jobs, chunksize=8):
                results.append(result)
                bar.update()
    bar.close()
    return results


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def source_identity(source: Path) -> str:
    if source.is_file():
        return file_identity(source)
    takes = sorted(source.rglob("dataset-2_*.bvh"))
    return f"{len(takes)}:{sum(p.stat().st_size for p in takes)}:{max((p.stat().st_mtime_ns for p in takes), default=0)}"


def prepare_bandai(source: str | Path, root: Path | None = None, workers: int = DEFAULT_WORKERS) -> Path:
    """Convert the archive or folder once; return the cache folder holding manifest.json and npy/."""
    source = Path(source).resolve()
    out = (root or cache_dir()) / "bandai" / cache_key("bandai", source, source_identity(source))
    manifest = out / "manifest.json"
    if manifest.is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:   # two processes opening at once: one converts, one waits
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.is_file():
            return out
        unpacked = out / "unpacked"
        if source.is_file():
            shutil.rmtree(unpacked, ignore_errors=True)
            bvh_files = unpack_takes(source, unpacked)
            fingerprint = sha256_of(source)
        else:
            bvh_files = [p for p in sorted(source.rglob("dataset-2_*.bvh")) if parse_take(p.stem)]
            fingerprint = hashlib.sha256(source_identity(source).encode()).hexdigest()
        if not bvh_files:
            raise InputError(source, "no dataset-2_{content}_{style}_{id}.bvh takes found")
        results = convert_all(sorted(bvh_files), out / "npy", workers)
        takes, failed = [], {}
        for bvh, frames, error in results:
            take = parse_take(Path(bvh).stem)
            if error:
                failed[take["id"]] = error
            else:
                member = f"{source}::{Path(bvh).name}" if source.is_file() else bvh
                takes.append(dict(take, frames=frames, source=member))
        shutil.rmtree(unpacked, ignore_errors=True)   # 509 MB of text; the npy files are what we keep
        if not takes:   # nothing converted: a broken reader, not a dataset to cache as empty
            first = next(iter(failed.items()))
            raise InputError(source, f"no take could be converted (e.g. {first[0]}: {first[1]})")
        atomic_write_json(manifest, {"source": str(source), "sha256": fingerprint, "takes": takes,
                                     "failed": failed})
    return out


class BandaiDataset(Dataset):
    name = "bandai"

    def __init__(self, spec: str, path: str | Path, workers: int = DEFAULT_WORKERS, hold_out: tuple[str, ...] = ()):
        """hold_out: contents whose takes leave the train and val splits (their test takes stay): a model
        trained on the rest is measured on actions it has seen no real take of (`?hold_out=run+walk`)."""
        super().__init__(spec)
        path = Path(path)
        if not path.exists():
            raise SpecError(f"{spec}: {path} does not exist (expected the Bandai .tar.xz or its folder)")
        self.folder = prepare_bandai(path, workers=workers)
        manifest = json.loads((self.folder / "manifest.json").read_text())
        self.sha256, self.failed = manifest["sha256"], manifest["failed"]
        takes = manifest["takes"]
        splits = assign_splits([t["id"] for t in takes],
                               group_of={t["id"]: f"{t['content']}/{t['style']}" for t in takes}.get)
        unknown = set(hold_out) - {t["content"] for t in takes}
        if unknown:
            raise SpecError(f"{spec}: hold_out names no content of the dataset: {', '.join(sorted(unknown))} "
                            f"(contents: {', '.join(sorted({t['content'] for t in takes}))})")
        for take in takes:
            if take["content"] in hold_out and splits[take["id"]] != "test":
                continue
            label = bandai_label(take["content"], take["style"])
            self.clips.append(Clip(id=take["id"], captions=captions_for(label, take["id"]), label=label,
                                   split=splits[take["id"]], source=take["source"], frames=take["frames"],
                                   duration_s=round(take["frames"] / FPS, 3)))

    def _load(self, clip: Clip) -> Motion:
        path = self.folder / "npy" / f"{clip.id}.npy"
        joints = validate_joints(np.load(path, allow_pickle=False), str(path))
        return Motion(joints, FPS, clip.id, {"source": clip.source, "label": clip.label})

    def source_fingerprint(self) -> str:
        return f"bandai:{self.sha256}"
