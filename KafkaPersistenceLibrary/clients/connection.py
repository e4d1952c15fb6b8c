"""Where a cluster is and how to talk to it: the settings every client of the library is built from."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Connection:
    """A bootstrap list and the client settings that go with it (security joins them later)."""

    bootstrap: str
    extra_kafka_python: tuple[tuple[str, object], ...] = ()
    extra_librdkafka: tuple[tuple[str, object], ...] = ()

    def kafka_python(self, **settings) -> dict:
        """Keyword arguments for kafka-python's producer, consumer and admin client."""
        return {"bootstrap_servers": self.bootstrap, **dict(self.extra_kafka_python), **settings}

    def librdkafka(self, settings: "dict | None" = None) -> dict:
        """A confluent-kafka (librdkafka) configuration dictionary."""
        return {"bootstrap.servers": self.bootstrap, **dict(self.extra_librdkafka), **(settings or {})}
