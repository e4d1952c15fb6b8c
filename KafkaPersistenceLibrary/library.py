"""The ``KafkaPersistenceLibrary`` facade: keyword classes + settings + listener."""

from datetime import timedelta

from robot.api.deco import library

from .keywords.cluster_state import ClusterStateKeywords
from .keywords.connection import ConnectionKeywords
from .keywords.context import LibraryContext, Settings
from .keywords.faults import FaultKeywords
from .keywords.lifecycle import LifecycleKeywords
from .keywords.messages import MessageKeywords
from .keywords.verification import VerificationKeywords
from .listener import CleanupListener
from .timeouts import to_seconds
from .versions import KAFKA_VERSION, LIBRARY_VERSION


@library(scope="GLOBAL", version=LIBRARY_VERSION, doc_format="ROBOT")
class KafkaPersistenceLibrary(LifecycleKeywords, ConnectionKeywords, FaultKeywords, ClusterStateKeywords,
                              MessageKeywords, VerificationKeywords, CleanupListener):
    __doc__ = f"""Proves that Kafka keeps your messages when a broker goes down.

    Behind each keyword stands a real Apache Kafka broker ({KAFKA_VERSION}) in a real
    container, and a real restart of that same
    container with its data kept.

    = Quick start =

    | *** Settings ***
    | Library    KafkaPersistenceLibrary
    | Suite Setup    Start Kafka
    |
    | *** Test Cases ***
    | Message Survives A Broker Restart
    |     Produce Message    test_topic    Persistent Message
    |     Restart Broker
    |     Consume Should Equal    test_topic    Persistent Message

    = The broker =

    `Start Kafka` starts one KRaft node (broker and controller) in a container
    and returns its address, e.g. ``127.0.0.1:39092``. The port is fixed on
    127.0.0.1 only and advertised as such, so the address stays valid across
    `Restart Broker` (Docker would otherwise give the container a new port on
    every start). One broker serves a whole suite: give each test its own topic.

    The broker is removed when the suite that started it ends, and at process
    exit. Containers carry labels naming their owning process; a run that was
    killed leaves containers the next `Start Kafka` removes. When a test fails,
    the last lines of the broker's log go into the Robot log.

    = Images =

    The image is, in this order: the ``image`` import argument, the
    ``KAFKA_PERSISTENCE_IMAGE`` environment variable, ``apache/kafka:{KAFKA_VERSION}``
    when present, or the image this project builds offline
    (``python -m KafkaPersistenceLibrary.image build``). Images configured by
    ``KAFKA_*`` variables and ``CLUSTER_ID`` work alike: ``apache/kafka`` and
    Confluent's ``cp-kafka`` 7.4+ by design; see README for what was run.

    = Proving durability at volume =

    `Produce Records` sends many unique, traceable records and keeps each send's
    outcome (acknowledged at a partition and offset, failed, or unknown);
    `Start Background Producer` keeps writing while you restart the broker.
    `Verify No Acknowledged Records Lost` then reads every partition back with a
    fresh consumer and fails on any acknowledged record lost, moved, reordered
    or (idempotent producer) duplicated, with a table and a timeline picture
    in the log.

    | Create Topic    durability    partitions=3
    | Start Background Producer    durability    rate=500
    | FOR    ${{i}}    IN RANGE    5
    |     Restart Broker    mode=kill
    | END
    | Stop Background Producer    durability
    | Verify No Acknowledged Records Lost    durability

    What a passing verdict proves: records acknowledged with ``acks=all`` by
    this single broker were on its log after each restart. A SIGKILL is not a
    power loss: unflushed data survives in the host's page cache, because the
    container shares the host's kernel.

    = Time format =

    Timeouts and durations take Robot's time format: ``10s``, ``1 min 30 s``, ``2.5``.

    = Errors =

    A mistake (a keyword before `Start Kafka`, an invalid topic name, an
    unknown restart mode, a missing image, no Docker engine) fails with one
    line saying what was wrong and what to do. A verdict (`Consume Should Equal`)
    fails with expected vs. found, record by record.

    %TOC%
    """

    def __init__(self, image: "str | None" = None, start_timeout: timedelta = timedelta(seconds=120),
                 restart_timeout: timedelta = timedelta(seconds=120), stop_timeout: timedelta = timedelta(seconds=60),
                 seed: "int | None" = None):
        """``image`` names the broker image; timeouts bound start, restart and a graceful stop.

        ``seed`` makes ``broker=random`` choose the same nodes as a run that
        logged that seed.

        | Library    KafkaPersistenceLibrary
        | Library    KafkaPersistenceLibrary    image=my-kafka:dev    start_timeout=3 min
        | Library    KafkaPersistenceLibrary    seed=4711
        """
        self.ctx = LibraryContext(Settings(
            image=image or None,
            start_timeout=to_seconds(start_timeout, "start_timeout"),
            restart_timeout=to_seconds(restart_timeout, "restart_timeout"),
            stop_timeout=to_seconds(stop_timeout, "stop_timeout"),
            seed=seed,
        ))
        self.ROBOT_LIBRARY_LISTENER = self
        self._register_exit_cleanup()
