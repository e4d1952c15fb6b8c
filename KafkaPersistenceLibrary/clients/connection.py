"""Where a cluster is and how to talk to it: the settings every client of the library is built from."""

import dataclasses

from ..security.settings import PLAINTEXT_SECURITY, ClientSecurity


@dataclasses.dataclass(frozen=True)
class Connection:
    """A bootstrap list and the client security that goes with it (plaintext by default)."""

    bootstrap: str
    security: ClientSecurity = PLAINTEXT_SECURITY

    def kafka_python(self, **settings) -> dict:
        """Keyword arguments for kafka-python's producer, consumer and admin client."""
        return {"bootstrap_servers": self.bootstrap, **self.security.kafka_python(), **settings}

    def librdkafka(self, settings: "dict | None" = None) -> dict:
        """A confluent-kafka (librdkafka) configuration dictionary."""
        return {"bootstrap.servers": self.bootstrap, **self.security.librdkafka(), **(settings or {})}
