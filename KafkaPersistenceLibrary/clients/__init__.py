"""The Kafka clients the library drives: producing, reading, admin, recording sends for verdicts."""

from . import kafka_python_fix

kafka_python_fix.apply()
