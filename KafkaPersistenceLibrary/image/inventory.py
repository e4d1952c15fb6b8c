"""What our image builds left on this machine, and removing what is stale.

Every version is an image of its own (~120 MB on top of a ~305 MB base they share)
plus its jars in the cache directory (~60-80 MB): several versions must not fill the
disk silently. ``list`` shows each with its size and whether this tree would use it;
``prune`` removes what it would not (``--version``, ``--all``: more).

Other checkouts and a running CI share the engine and the cache directory: ``prune``
never removes an image a container (running, paused or stopped, anyone's) was made
from, and holds the build lock, so no build of that cache directory is halfway.
"""

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

from .build import (
    BASE_REPOSITORY,
    INPUT_HASH_LABEL,
    KAFKA_VERSION_LABEL,
    base_hash,
    image_input_hash,
    jars_hash,
    megabytes,
)
from .kafka_versions import check_version
from .lock import build_lock
from .tools import ImageError, run

PARENT_HOPS = 20  # a builder stage sits a few layers above the base


@dataclasses.dataclass
class Item:
    """One image or cache directory of ours."""

    name: str
    kind: str  # kafka | base | builder | cache
    size: int
    version: str = ""
    current: bool = False
    image_id: str = ""
    note: str = ""


def _docker_json(args, what):
    output = run(["docker", *args, "--format", "{{json .}}"], what, timeout=120)
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def _inspect(ids):
    if not ids:
        return []
    return json.loads(run(["docker", "image", "inspect", *ids], "docker image inspect", timeout=120))


def _parse_size(text):
    units = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * units[unit])
    return 0


def _unique_sizes():
    """Image id -> bytes only that image holds (``docker system df -v``): what removing it frees."""
    rows = json.loads(run(["docker", "system", "df", "-v", "--format", "{{json .Images}}"],
                          "docker system df", timeout=120) or "[]")
    return {row["ID"].split(":")[-1][:12]: _parse_size(row.get("UniqueSize", "0B")) for row in rows}


def images():
    """Our Kafka images (by label), our bases (by repository) and builder stages left by them."""
    unique = _unique_sizes()
    listed = {row["ID"][:12]: row for row in _docker_json(["images"], "docker images")}
    details = {entry["Id"].split(":")[-1][:12]: entry for entry in _inspect(list(listed))}
    bases = {short for short, row in listed.items() if row["Repository"] == BASE_REPOSITORY}
    items = []
    for short, entry in details.items():
        labels = entry["Config"].get("Labels") or {}
        tags = entry.get("RepoTags") or []
        name = ", ".join(tags) or f"<untagged {short}>"
        if INPUT_HASH_LABEL in labels:
            version = labels.get(KAFKA_VERSION_LABEL, "?")
            current = _is_current(version, labels[INPUT_HASH_LABEL])
            items.append(Item(name, "kafka", unique.get(short, 0), version, current, short,
                              "this tree's files" if current else "built from other image files"))
        elif short in bases:
            current = f"{BASE_REPOSITORY}:{base_hash()}" in tags
            items.append(Item(name, "base", _parse_size(listed[short].get("Size", "0B")), "", current, short,
                              "shared base" if current else "old base"))
        elif not tags:
            base = _ancestor_in(entry, bases)
            if base:
                current = f"{BASE_REPOSITORY}:{base_hash()}" in (details[base].get("RepoTags") or [])
                items.append(Item(name, "builder", unique.get(short, 0), "", current, short,
                                  "volatilefs compiler stage" + ("" if current else " of an old base")))
    return items


def _is_current(version, input_hash):
    try:
        return image_input_hash(check_version(version)) == input_hash
    except ImageError:
        return False


def _ancestor_in(entry, wanted):
    """The first of ``wanted`` (short ids) among the image's parents (the legacy builder records them)."""
    parent = entry.get("Parent", "")
    for _ in range(PARENT_HOPS):
        if not parent:
            return None
        short = parent.split(":")[-1][:12]
        if short in wanted:
            return short
        parents = _inspect([parent])
        parent = parents[0].get("Parent", "") if parents else ""
    return None


def cache_dirs(cache_dir, kept_versions):
    """Rootfs and jar directories of the build cache; current: what this tree's builds of ``kept_versions`` use."""
    keep = {f"rootfs-{base_hash()}", *(f"jars-{jars_hash(version)}" for version in kept_versions)}
    items = []
    for path in sorted(Path(cache_dir).glob("*")):
        if not path.is_dir() or not path.name.startswith(("rootfs-", "jars-")):
            continue
        size = sum(child.lstat().st_size for child in path.rglob("*") if not child.is_symlink() and child.is_file())
        items.append(Item(str(path), "cache", size, "", path.name in keep, note="build cache"))
    return items


def inventory(cache_dir):
    found = images()
    versions = {item.version for item in found if item.kind == "kafka" and item.current}
    return found + cache_dirs(cache_dir, versions)


def list_lines(cache_dir):
    """The lines ``list`` prints: one per image or directory, then the total."""
    items = inventory(cache_dir)
    lines = [f"{'size':>9}  {'state':<7}  {'kafka':<6}  name ({'what'})"]
    for item in items:
        state = "current" if item.current else "stale"
        lines.append(f"{megabytes(item.size):>9}  {state:<7}  {item.version or '-':<6}  {item.name} ({item.note})")
    stale = sum(item.size for item in items if not item.current)
    lines.append(f"{megabytes(sum(item.size for item in items)):>9}  in all (image sizes: what only that image "
                 f"holds; the base is shared); {megabytes(stale)} stale: "
                 f"'kafka-persistence-image prune' removes it")
    return lines


def images_in_use():
    """Short image id -> the names of the containers (any state, anyone's) made from it."""
    ids = run(["docker", "ps", "-a", "-q", "--no-trunc"], "docker ps", timeout=120).split()
    if not ids:
        return {}
    try:
        output = run(["docker", "container", "inspect", "--format", "{{.Image}} {{.Name}}", *ids],
                     "docker container inspect", timeout=120)
    except ImageError as error:  # a container removed between the two calls: ask again, once
        if "No such" not in str(error):
            raise
        return images_in_use()
    used = {}
    for line in output.splitlines():
        image, _, name = line.strip().partition(" ")
        used.setdefault(image.split(":")[-1][:12], []).append(name.lstrip("/"))
    return used


def prune(cache_dir, versions=(), everything=False, log=print, only=None):
    """Remove stale images and cache directories (and those of ``versions``, or all of ours); returns bytes freed.

    Images a container uses are kept, whatever the arguments (another checkout or CI may be running
    them). ``only(item)`` narrows what may be removed (tests prune throwaway images of their own)."""
    versions = {check_version(version) for version in versions}
    with build_lock(Path(cache_dir), log):
        return _prune(cache_dir, versions, everything, log, only or (lambda item: True))


def _prune(cache_dir, versions, everything, log, only):
    items = inventory(cache_dir)
    in_use = images_in_use()

    def doomed(item):
        return only(item) and (everything or not item.current or item.version in versions)

    freed = 0
    order = {"kafka": 0, "builder": 1, "base": 2, "cache": 3}  # children before their parents
    for item in sorted(filter(doomed, items), key=lambda item: order[item.kind]):
        if item.kind == "cache":
            shutil.rmtree(item.name, ignore_errors=True)
            marker = Path(item.name + ".complete")
            marker.unlink(missing_ok=True)
        elif item.image_id in in_use:
            users = in_use[item.image_id]
            log(f"kept {item.name}: container(s) {', '.join(users[:3])}{', ...' if len(users) > 3 else ''} use it")
            continue
        else:
            result = subprocess.run(["docker", "rmi", *(item.name.split(", ") if item.name[0] != "<" else
                                                        [item.image_id])],
                                    capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                log(f"kept {item.name}: {(result.stderr.strip().splitlines() or ['docker rmi failed'])[-1]}")
                continue
        freed += item.size
        log(f"removed {item.name} ({megabytes(item.size)}, {item.note})")
    log(f"freed {megabytes(freed)}")
    return freed
