"""Which image Start Kafka runs, in the library's terms: errors as one line, progress in the log.

The rules live in :mod:`KafkaPersistenceLibrary.image` (``image=``, then
``$KAFKA_PERSISTENCE_IMAGE``, then ``version=`` / ``$KAFKA_PERSISTENCE_VERSION``, then
the default version); here they get the library's Docker client for the label check
(docker-py at run time) and a missing or stale image is built, with its progress on
the console, since a cold build takes a minute or two.
"""

from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException
from robot.api import logger

from ..errors import KafkaPersistenceError
from ..image import ImageError, chosen_version, provide_image
from ..versions import KAFKA_VERSION
from . import engine


def choose_image(requested: "str | None", version: "str | None") -> str:
    """The image to run, available on the engine (built if it is ours and missing or stale)."""
    try:
        wanted = chosen_version(version)
    except ImageError as error:
        raise KafkaPersistenceError(f"{error}.") from None
    client = engine.connect()
    try:
        return provide_image(requested, wanted, log=_progress, labels_of=lambda name: _labels(client, name),
                             is_local=lambda name: _labels(client, name) is not None)
    except ImageError as error:
        raise KafkaPersistenceError(
            f"No image for Kafka {wanted or KAFKA_VERSION}: {error}. Build it by hand with 'kafka-persistence-image "
            f"build --kafka-version {wanted or KAFKA_VERSION}', or name an image with image= or "
            f"KAFKA_PERSISTENCE_IMAGE.") from None
    finally:
        client.close()


def _labels(client, name: str) -> "dict | None":
    """An image's labels ({} if it has none), None if the engine lacks it."""
    try:
        return client.images.get(name).labels or {}
    except ImageNotFound:
        return None
    except (APIError, RequestException) as error:
        raise KafkaPersistenceError(f"Could not inspect image {name}: {engine.first_line(error)}") from None


def _progress(message: str) -> None:
    logger.info(message, also_console=True)
