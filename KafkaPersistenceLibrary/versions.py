"""The one place where versions are pinned.

Change ``KAFKA_VERSION`` here and the image build, the default image name and the
docs follow. It must be a ``org.apache.kafka:kafka_2.13`` release on Maven Central.
"""

LIBRARY_VERSION = "0.1.0"
KAFKA_VERSION = "4.1.1"
# log4j2 backend that kafka_2.13's POM leaves out (Kafka 4.0/4.1 ship 2.24.x).
LOG4J_VERSION = "2.24.3"
