"""Which Kafka image the library runs, and how to get one without a container registry.

* :func:`provide_image` - what Start Kafka runs: the user's image, else the chosen
  Kafka version's image of ours, checked against this tree's files and built when
  missing or stale (cached, logged).
* :func:`image_for_version` - one version's image of ours, made available (also for upgrades).
* :func:`resolve_image` - the name only (no build): for tests that start containers by hand.
* :func:`ensure_image` - used by set-up scripts: find, pull or build an image.
* :func:`build_image`  - the cached offline build (see :mod:`.build`).

CLI: ``python -m KafkaPersistenceLibrary.image build|ensure|list|prune``.
"""

import os

from ..versions import KAFKA_VERSION
from .build import DEFAULT_IMAGE, INPUT_HASH_LABEL, BuildOptions, build_image, check_options, image_input_hash, pinned_name
from .kafka_versions import VERSION_ENV, check_version, image_name
from .tools import ImageError, check_docker, image_exists, image_label, try_pull

__all__ = ["DEFAULT_IMAGE", "OFFICIAL_IMAGE", "IMAGE_ENV", "VERSION_ENV", "BuildOptions", "ImageError",
           "build_image", "chosen_version", "ensure_image", "image_exists", "image_for_version", "provide_image",
           "resolve_image"]

OFFICIAL_IMAGE = f"apache/kafka:{KAFKA_VERSION}"
IMAGE_ENV = "KAFKA_PERSISTENCE_IMAGE"
PULL_TIMEOUT = 20  # seconds; without a registry a pull fails at once, with one it is quick


def chosen_version(version=None):
    """The Kafka version asked for (an argument, else $KAFKA_PERSISTENCE_VERSION), checked; None if neither."""
    wanted = version or os.environ.get(VERSION_ENV)
    return check_version(wanted) if wanted else None


def resolve_image(requested=None, is_local=image_exists):
    """The image to run: argument, then $KAFKA_PERSISTENCE_IMAGE, then ours of
    $KAFKA_PERSISTENCE_VERSION, then the official image if it is already local,
    else ours of the default version. Never pulls or builds.

    ``is_local(name)`` says whether the engine has an image; the library passes
    one that asks through its own Docker client, so run time uses docker-py only.
    """
    if requested:
        return requested
    if os.environ.get(IMAGE_ENV):
        return os.environ[IMAGE_ENV]
    version = chosen_version()
    if version:
        return image_name(version)
    if is_local(OFFICIAL_IMAGE):
        return OFFICIAL_IMAGE
    return DEFAULT_IMAGE


def provide_image(requested=None, version=None, log=print, labels_of=None, is_local=image_exists):
    """The image Start Kafka runs, made available: ``image=``, then $KAFKA_PERSISTENCE_IMAGE
    (as given: the user's choice wins), then our image of ``version`` or
    $KAFKA_PERSISTENCE_VERSION, then the official image of the default version if it
    is local, else our image of the default version. Ours are checked and built by
    :func:`image_for_version`.
    """
    explicit = requested or os.environ.get(IMAGE_ENV)
    if explicit:
        if version:
            log(f"version={version} is not used: the image {explicit} was chosen "
                f"({'image=' if requested else '$' + IMAGE_ENV}), and it wins")
        return explicit
    version = chosen_version(version)
    if version is None and is_local(OFFICIAL_IMAGE):
        return OFFICIAL_IMAGE
    return image_for_version(version or KAFKA_VERSION, log, labels_of=labels_of)


def image_for_version(version, log=print, options=None, labels_of=None):
    """Our image of one Kafka release, built from this tree's files; returns its name.

    The image is used only if its input-hash label matches what this tree would build
    (files, jar set, base): an image another checkout built under the same name is not
    run silently. Missing or stale, it is built (cached stages; ~1 min for a version
    whose jars are not cached yet, ~2 min with a cold base; one build at a time).
    ``labels_of(name)`` returns an image's labels or None (the library passes one
    that asks through docker-py); by default the docker CLI is asked.
    """
    version = check_version(version)
    expected = image_input_hash(version)
    name, pinned = image_name(version), pinned_name(version, expected)
    found = _input_hash(name, labels_of)
    if found == expected:
        return name
    if _input_hash(pinned, labels_of) == expected:
        log(f"{name} holds another build (input hash {found}, this tree's {expected}: another checkout's?); "
            f"using this tree's {pinned}")
        return pinned
    if found is None:
        log(f"{name} is not on this Docker engine: building it from this tree's image files "
            f"(cached stages; about 1 min, 2 min with a cold base) ...")
    else:
        log(f"{name} was built from other image files (input hash {found}, this tree's {expected}): "
            f"building this tree's (cached stages) ...")
    return build_image(options, log, version)


def _input_hash(name, labels_of):
    if labels_of is None:
        return image_label(name, INPUT_HASH_LABEL)
    return (labels_of(name) or {}).get(INPUT_HASH_LABEL)


def ensure_image(log=print, options=None):
    """Make an image available and return its name: the user's choice, else our image of
    $KAFKA_PERSISTENCE_VERSION, else the official image (local or quickly pulled),
    else our cached offline build."""
    check_options(options or BuildOptions())
    check_docker()
    version = chosen_version()
    wanted = os.environ.get(IMAGE_ENV)
    if wanted:
        if image_exists(wanted):
            log(f"image: {wanted} (from ${IMAGE_ENV}, present)")
            return wanted
        log(f"image: {wanted} not present, trying docker pull ...")
        if try_pull(wanted, PULL_TIMEOUT):
            return wanted
        raise ImageError(f"${IMAGE_ENV}={wanted} is not a local image and docker pull failed; "
                         "load it (docker load) or unset the variable", exit_code=2)
    if version:
        log(f"image: Kafka {version} (from ${VERSION_ENV})")
        return build_image(options, log, version)
    if image_exists(OFFICIAL_IMAGE):
        log(f"image: {OFFICIAL_IMAGE} (present)")
        return OFFICIAL_IMAGE
    if try_pull(OFFICIAL_IMAGE, PULL_TIMEOUT):
        log(f"image: {OFFICIAL_IMAGE} (pulled)")
        return OFFICIAL_IMAGE
    log(f"image: {OFFICIAL_IMAGE} not available; using our offline build {DEFAULT_IMAGE}")
    return build_image(options, log)
