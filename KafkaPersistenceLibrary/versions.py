"""The one place where versions are pinned.

Change ``KAFKA_VERSION`` here and the image build, the default image name and the
docs follow. It must be a ``org.apache.kafka:kafka_2.13`` release on Maven Central.
"""

LIBRARY_VERSION = "0.1.0"
KAFKA_VERSION = "4.4.0"
# The Kafka releases this repository runs its tests on (README: Kafka versions): the default
# gets every test; CI runs a smoke test on each of the others (unit_tests/real/test_kafka_versions.py).
TESTED_KAFKA_VERSIONS = ("3.9.1", "4.1.1", "4.4.0")
# log4j2 backend that kafka_2.13's POM leaves out (Kafka 4.0/4.1 ship 2.24.x).
LOG4J_VERSION = "2.24.3"
# Kafka 3.x logs through log4j 1: the official 3.9 distribution ships reload4j and its slf4j 1.7 binding.
RELOAD4J_VERSION = "1.2.25"
SLF4J_VERSION = "1.7.36"
