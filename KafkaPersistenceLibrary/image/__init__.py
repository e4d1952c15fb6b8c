"""Which Kafka image the library runs, and how to get one without a container registry.

* :func:`resolve_image` - the lookup the library does at test time (no CLI, no pull, no build).
* :func:`ensure_image` - used by set-up scripts: find, pull or build an image.
* :func:`build_image`  - the cached offline build (see :mod:`.build`).

CLI: ``python -m KafkaPersistenceLibrary.image build|ensure``.
"""

import os

from ..versions import KAFKA_VERSION
from .build import DEFAULT_IMAGE, BuildOptions, build_image, check_options
from .tools import ImageError, check_docker, image_exists, try_pull

__all__ = ["DEFAULT_IMAGE", "OFFICIAL_IMAGE", "IMAGE_ENV", "BuildOptions", "ImageError",
           "build_image", "ensure_image", "image_exists", "resolve_image"]

OFFICIAL_IMAGE = f"apache/kafka:{KAFKA_VERSION}"
IMAGE_ENV = "KAFKA_PERSISTENCE_IMAGE"
PULL_TIMEOUT = 20  # seconds; without a registry a pull fails at once, with one it is quick


def resolve_image(requested=None, is_local=image_exists):
    """The image to run: argument, then $KAFKA_PERSISTENCE_IMAGE, then the official
    image if it is already local, else ours. Never pulls or builds.

    ``is_local(name)`` says whether the engine has an image; the library passes
    one that asks through its own Docker client, so run time uses docker-py only.
    """
    if requested:
        return requested
    if os.environ.get(IMAGE_ENV):
        return os.environ[IMAGE_ENV]
    if is_local(OFFICIAL_IMAGE):
        return OFFICIAL_IMAGE
    return DEFAULT_IMAGE


def ensure_image(log=print, options=None):
    """Make an image available and return its name: the user's choice, else the
    official image (local or quickly pulled), else our cached offline build."""
    check_options(options or BuildOptions())
    check_docker()
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
    if image_exists(OFFICIAL_IMAGE):
        log(f"image: {OFFICIAL_IMAGE} (present)")
        return OFFICIAL_IMAGE
    if try_pull(OFFICIAL_IMAGE, PULL_TIMEOUT):
        log(f"image: {OFFICIAL_IMAGE} (pulled)")
        return OFFICIAL_IMAGE
    log(f"image: {OFFICIAL_IMAGE} not available; using our offline build {DEFAULT_IMAGE}")
    return build_image(options, log)
