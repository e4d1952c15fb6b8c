"""``@keyword`` for the library's keywords: Robot's decorator, plus the promise that no Kafka client
exception, nor a Docker client's, ever reaches the user.

Each keyword retries what a settling cluster makes and words its own failures;
this is the net under them: a client exception that still escapes becomes one
line naming the keyword and what the client said (``clients/client_errors.py``).
The wrapper keeps the keyword's signature and types, so Robot and libdoc see
the function itself.
"""

import functools

from docker.errors import DockerException
from requests.exceptions import RequestException
from robot.api.deco import keyword as robot_keyword

from ..broker.engine import first_line
from ..clients.client_errors import CLIENT_ERRORS, one_line
from ..errors import KafkaPersistenceError


def keyword(name: "str | None" = None, tags=(), types=()):
    def decorate(function):
        keyword_name = name or function.__name__.replace("_", " ").title()

        @functools.wraps(function)
        def run(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except CLIENT_ERRORS as error:
                raise KafkaPersistenceError(one_line(keyword_name, error)) from None
            except (DockerException, RequestException) as error:
                raise KafkaPersistenceError(f"'{keyword_name}' failed: Docker said {first_line(error)}") from None

        return robot_keyword(name=name, tags=tags, types=types)(run)

    return decorate
