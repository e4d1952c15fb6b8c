"""Build a Kafka image offline (Debian mirror + Maven Central only), stage by stage.

Stages, each keyed by a hash of its inputs so it is redone only when they change:

1. base   - ``debootstrap`` a Debian rootfs with a JRE, ``docker import`` it.
2. jars   - ``mvn dependency:copy-dependencies`` on ``files/pom.xml``.
3. image  - ``docker build`` of ``files/Dockerfile`` on top of the base, with the jars;
            a builder stage compiles ``files/volatilefs`` (the power-loss filesystem)
            with gcc and libfuse3-dev from the Debian mirror in the rootfs's sources.

The result is laid out like the official ``apache/kafka`` JVM image, so the same
``KAFKA_*`` environment variables configure it.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..versions import KAFKA_VERSION
from .kafka_versions import check_version, image_name, maven_properties
from .lock import build_lock
from .tools import ImageError, check_docker, image_exists, image_label, image_size, last_lines, require, run, tag_image

DEFAULT_IMAGE = image_name(KAFKA_VERSION)
BASE_REPOSITORY = "kafka-persistence-library/base"
FILES = Path(__file__).parent / "files"

DEBIAN_SUITE = "bookworm"
# fuse3: volatilefs at run time (KPL_POWER_LOSS=1); iptables: network faults inside the
# container's own namespace (needs --cap-add NET_ADMIN).
DEBIAN_PACKAGES = ("openjdk-17-jre-headless", "procps", "bash", "fuse3", "libfuse3-3", "iptables", "iproute2",
                   "libfaketime")
# Removed from the rootfs before import: not needed at run time, ~190 MB.
ROOTFS_TRIM = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
               "usr/share/info", "usr/share/locale")

LABEL_PREFIX = "io.github.kafka-persistence-library"
INPUT_HASH_LABEL = f"{LABEL_PREFIX}.input-hash"
KAFKA_VERSION_LABEL = f"{LABEL_PREFIX}.kafka-version"


@dataclass
class BuildOptions:
    """What the CLI can change; defaults come from the machine and the environment."""

    cache_dir: Path = None
    debian_mirror: str = None
    maven_settings: Path = None
    force: bool = False

    def __post_init__(self):
        self.cache_dir = Path(self.cache_dir or default_cache_dir()).expanduser()


def default_cache_dir():
    """KAFKA_PERSISTENCE_CACHE, else the XDG cache dir: survives between test runs."""
    if os.environ.get("KAFKA_PERSISTENCE_CACHE"):
        return Path(os.environ["KAFKA_PERSISTENCE_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "kafka-persistence-library"


def digest(*parts):
    """Short, stable hash of the inputs of a stage (strings or bytes)."""
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part if isinstance(part, bytes) else str(part).encode())
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def timed(log, stage, func):
    """Run one stage and log whether it was cached or built, with its duration."""
    start = time.monotonic()
    outcome = func()
    log(f"{stage}: {outcome} ({time.monotonic() - start:.1f} s)")
    return outcome


# --------------------------------------------------------------------------- base

def base_hash():
    """The base image depends only on the suite, the packages and the trimming."""
    return digest(DEBIAN_SUITE, "minbase", *DEBIAN_PACKAGES, *ROOTFS_TRIM)


def base_image_name():
    return f"{BASE_REPOSITORY}:{base_hash()}"


def machine_debian_mirror():
    """The Debian mirror apt on this machine already uses (it is known to be reachable)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for stanza in sources.read_text().split("\n\n"):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.MULTILINE))
            if DEBIAN_SUITE in fields.get("Suites", "").split() and fields.get("URIs"):
                return fields["URIs"].split()[0]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            match = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line.strip())
            if match and match.group(2) == DEBIAN_SUITE:
                return match.group(1)
    raise ImageError(f"no Debian {DEBIAN_SUITE} mirror found in the apt configuration: "
                     "pass --debian-mirror URL", exit_code=2)


def build_base(options, log):
    """Stage 1: ensure the base image exists; returns a short outcome for the log."""
    name = base_image_name()
    if image_exists(name) and not options.force:
        return "cached"
    rootfs = options.cache_dir / f"rootfs-{base_hash()}"
    marker = rootfs.with_name(rootfs.name + ".complete")
    if not (marker.exists() and rootfs.is_dir()) or options.force:
        debootstrap(rootfs, marker, options.debian_mirror or machine_debian_mirror(), log)
        outcome = "built"
    else:
        outcome = "imported from cached rootfs"
    import_rootfs(rootfs, name)
    return outcome


def debootstrap(rootfs, marker, mirror, log):
    """Create a minimal Debian rootfs with a JRE; a partial tree never survives a failure."""
    require("debootstrap", "apt-get install debootstrap")
    if os.geteuid() != 0:
        raise ImageError("debootstrap needs root: run the build as root", exit_code=2)
    marker.unlink(missing_ok=True)
    shutil.rmtree(rootfs, ignore_errors=True)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    log(f"rootfs: debootstrap {DEBIAN_SUITE} from {mirror} ...")
    cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}",
           DEBIAN_SUITE, str(rootfs), mirror]
    try:
        run(cmd, "debootstrap", timeout=1200)
        for relative in ROOTFS_TRIM:
            trim_dir(rootfs / relative)
    except BaseException:  # also Ctrl-C: a half-built rootfs must not look cached
        shutil.rmtree(rootfs, ignore_errors=True)
        raise
    marker.write_text(f"{DEBIAN_SUITE} {' '.join(DEBIAN_PACKAGES)} {mirror}\n")


def trim_dir(path):
    """Empty a directory but keep it: packages expect e.g. /var/cache/apt to exist."""
    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def import_rootfs(rootfs, name):
    """Stream the rootfs into ``docker import`` (no temporary tarball on disk)."""
    check_docker()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        result = subprocess.run(["docker", "import", "-", name], stdin=tar.stdout,
                                capture_output=True, text=True, timeout=600)
    finally:
        tar.stdout.close()
        tar_err = tar.stderr.read().decode(errors="replace")
        tar.wait(timeout=60)
    if tar.returncode != 0:
        raise ImageError(f"tar of {rootfs} failed: {last_lines(tar_err)}")
    if result.returncode != 0:
        raise ImageError(f"docker import failed: {last_lines(result.stderr)}")


# --------------------------------------------------------------------------- jars

def jars_hash(version=KAFKA_VERSION):
    """The jar set depends on the POM and on the versions it is given."""
    return digest((FILES / "pom.xml").read_bytes(), *sorted(maven_properties(version).items()))


def jars_dir(options, version=KAFKA_VERSION):
    return options.cache_dir / f"jars-{jars_hash(version)}"


def build_jars(options, version=KAFKA_VERSION):
    """Stage 2: resolve the broker's runtime jars from Maven into the cache."""
    target = jars_dir(options, version)
    marker = target / ".complete"
    if marker.exists() and not options.force:
        return "cached"
    require("mvn", "apt-get install maven")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    properties = maven_properties(version)
    cmd = ["mvn", "-B", "-q", "-f", str(FILES / "pom.xml"),
           "dependency:copy-dependencies", "-DincludeScope=runtime",
           f"-DoutputDirectory={partial}", *(f"-D{key}={value}" for key, value in properties.items())]
    if options.maven_settings:
        cmd[1:1] = ["-s", str(options.maven_settings)]
    with tempfile.TemporaryDirectory() as workdir:  # mvn writes target/ next to its cwd
        try:
            run(cmd, "mvn", timeout=1200, cwd=workdir)
        except ImageError as error:
            shutil.rmtree(partial, ignore_errors=True)
            raise maven_error(version, error.output or str(error), options) from None
    if not any(partial.glob(f"kafka_2.13-{version}.jar")):
        shutil.rmtree(partial, ignore_errors=True)
        raise ImageError(f"mvn failed: kafka_2.13-{version}.jar was not resolved")
    partial.rename(target)
    marker.write_text(" ".join(f"{key}={value}" for key, value in properties.items()) + "\n")
    return "built"


def maven_error(version, output, options):
    """One line for a release Maven could not serve: which repository it asked, and the way out."""
    artifact = re.escape(f"org.apache.kafka:kafka_2.13:jar:{version}")
    missing = (re.search(rf"[Cc]ould not (?:find|transfer) artifact {artifact} (?:from/to|in) \S+ \(([^)]+)\)",
                         output)
               or re.search(rf"{artifact} was not found in (\S+)", output))
    if not missing:
        return ImageError(f"mvn could not resolve the jars of Kafka {version}: {last_lines(output)}")
    repository = missing.group(1)
    settings = f" (settings: {options.maven_settings})" if options.maven_settings else ""
    return ImageError(f"Maven could not serve org.apache.kafka:kafka_2.13:{version} from {repository}{settings}: "
                      f"check that {version} is a Kafka release, or give a settings.xml that names a repository "
                      f"serving it (--maven-settings FILE)")


# --------------------------------------------------------------------------- image

def image_input_hash(version=KAFKA_VERSION):
    """Everything the final image is made of: base, jar set and the files we ship."""
    parts = [base_hash(), jars_hash(version)]
    for path in sorted(p for p in FILES.rglob("*") if p.is_file()):
        parts += [path.relative_to(FILES).as_posix(), path.read_bytes()]
    return digest(*parts)


def image_labels(input_hash, version=KAFKA_VERSION):
    """Labels that say what the image was built from (``docker inspect`` shows them)."""
    backend = {f"{LABEL_PREFIX}.{key}": value for key, value in maven_properties(version).items()
               if key != "kafka.version"}
    return {
        "org.opencontainers.image.title": "Kafka broker for KafkaPersistenceLibrary",
        "org.opencontainers.image.description":
            "apache/kafka-compatible JVM image built from Maven Central jars on Debian "
            f"{DEBIAN_SUITE}",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.base.name": base_image_name(),
        KAFKA_VERSION_LABEL: version,
        **backend,
        f"{LABEL_PREFIX}.base-hash": base_hash(),
        f"{LABEL_PREFIX}.jars-hash": jars_hash(version),
        INPUT_HASH_LABEL: input_hash,
    }


def pinned_name(version, input_hash):
    """A second tag that names the content too: a tree whose files differ from the build
    that holds the plain tag (another checkout's run.sh re-tagged it) still finds its own."""
    return f"{image_name(version)}-{input_hash}"


def build_final_image(options, version=KAFKA_VERSION):
    """Stage 3: ``docker build`` unless an image with the same input hash exists."""
    name, input_hash = image_name(version), image_input_hash(version)
    pinned = pinned_name(version, input_hash)
    if image_label(name, INPUT_HASH_LABEL) == input_hash and not options.force:
        if not image_exists(pinned):
            tag_image(name, pinned)
        return "cached"
    if image_label(pinned, INPUT_HASH_LABEL) == input_hash and not options.force:
        tag_image(pinned, name)
        return "cached (re-tagged)"
    with tempfile.TemporaryDirectory(prefix="kpl-image-") as context:
        context = Path(context)
        shutil.copytree(FILES, context, dirs_exist_ok=True)
        shutil.copytree(jars_dir(options, version), context / "libs",
                        ignore=shutil.ignore_patterns(".complete"))
        cmd = ["docker", "build", "--pull=false", "-t", name, "-t", pinned,
               "--build-arg", f"BASE_IMAGE={base_image_name()}"]
        for key, value in image_labels(input_hash, version).items():
            cmd += ["--label", f"{key}={value}"]
        cmd.append(str(context))
        env = dict(os.environ, DOCKER_BUILDKIT="0")  # legacy builder: no buildx needed
        run(cmd, "docker build", timeout=1200, env=env)
    return "built"


def check_options(options):
    """Refuse a mistyped option at once, even when every stage is cached and would not use it."""
    if options.maven_settings and not Path(options.maven_settings).is_file():
        raise ImageError(f"Maven settings file not found: {options.maven_settings}", exit_code=2)


def build_image(options=None, log=print, version=KAFKA_VERSION):
    """Run all stages (each cached) for one Kafka release; returns the name of the finished image.

    One build at a time per cache directory (a lock file): parallel runs (pabot, two
    checkouts) would otherwise debootstrap into the same rootfs or resolve into the
    same jar directory.
    """
    version = check_version(version)
    options = options or BuildOptions()
    check_options(options)
    check_docker()
    name = image_name(version)
    with build_lock(options.cache_dir, log):
        timed(log, "rootfs", lambda: build_base(options, log))
        timed(log, f"jars (Kafka {version})", lambda: build_jars(options, version))
        if timed(log, f"image {name}", lambda: build_final_image(options, version)) == "built":
            log(added_line(name, version, options))
    return name


def added_line(name, version, options):
    """What a build added to the disk: the image beyond its shared base layers, and the jar cache."""
    total, base = image_size(name) or 0, image_size(base_image_name()) or 0
    jars = sum(path.stat().st_size for path in jars_dir(options, version).rglob("*") if path.is_file())
    return (f"added: {name} {megabytes(total - base)} on top of the shared base image "
            f"({megabytes(base)}), jar cache {megabytes(jars)} in {options.cache_dir}; "
            f"'kafka-persistence-image list' shows every image, 'prune' removes the stale ones")


def megabytes(size):
    return f"{size / 1e6:,.0f} MB"
