"""The Kafka clients the library drives: producing, reading, admin, recording sends for verdicts."""

from . import kafka_python_fix, quiet

kafka_python_fix.apply()
quiet.route_kafka_python_logs()
