"""The ``KafkaPersistenceLibrary`` facade: keyword classes + settings + listener."""

from datetime import timedelta

from robot.api.deco import library

from .keywords.cluster_state import ClusterStateKeywords
from .keywords.connection import ConnectionKeywords
from .keywords.consumer_verdict import ConsumerVerdictKeywords
from .keywords.consumers import ConsumerKeywords
from .keywords.context import LibraryContext, Settings
from .keywords.copier import CopierKeywords
from .keywords.disk_faults import DiskFaultKeywords
from .keywords.faults import FaultKeywords
from .keywords.lifecycle import LifecycleKeywords
from .keywords.messages import MessageKeywords
from .keywords.random_faults import RandomFaultKeywords
from .keywords.upgrade import UpgradeKeywords
from .keywords.verification import VerificationKeywords
from .listener import CleanupListener
from .timeouts import to_seconds
from .versions import KAFKA_VERSION, LIBRARY_VERSION


@library(scope="GLOBAL", version=LIBRARY_VERSION, doc_format="ROBOT")
class KafkaPersistenceLibrary(LifecycleKeywords, ConnectionKeywords, FaultKeywords, DiskFaultKeywords, RandomFaultKeywords,
                              ClusterStateKeywords, MessageKeywords, VerificationKeywords, ConsumerKeywords,
                              ConsumerVerdictKeywords, CopierKeywords, UpgradeKeywords, CleanupListener):
    __doc__ = f"""Proves that Kafka keeps your messages when brokers fail.

    Behind each keyword stands real Apache Kafka ({KAFKA_VERSION}, KRaft) in real
    containers, a real fault (a restart, a kill, a power cut, a network
    partition) and a verdict read back by a fresh consumer.

    = Quick start =

    | ``*** Settings ***``
    | Library    KafkaPersistenceLibrary
    | Suite Setup    Start Kafka
    |
    | ``*** Test Cases ***``
    | Message Survives A Broker Restart
    |     Produce Message    test_topic    Persistent Message
    |     Restart Broker
    |     Consume Should Equal    test_topic    Persistent Message

    = The cluster =

    `Start Kafka` starts one node that is broker and controller at once, or,
    with ``brokers=3``, three brokers with dedicated KRaft controllers on a
    private Docker network (``controllers=3`` for a quorum). It returns the
    brokers' addresses, e.g. ``127.0.0.1:39092``: each port is fixed on
    127.0.0.1 only and advertised as such, so addresses stay valid across every
    restart. Defaults with n brokers: replication factor min(3, n),
    ``min.insync.replicas`` one less, no unclean leader election.

    The cluster is removed when the suite that started it ends, and at process
    exit. Containers and networks carry labels naming their owning process; a
    run that was killed leaves resources the next `Start Kafka` removes (and
    logs), while parallel runs (pabot) leave each other alone. When a test fails,
    the last lines of each node's log go into the Robot log. A node that crashed
    or was removed behind the library's back is reported at once by the next
    keyword, in one line.

    = Faults =

    | `Restart Broker` | stop and start node(s): ``mode=graceful``, ``kill`` or ``power-loss`` |
    | `Stop Broker` / `Start Broker` | keep node(s) down while the test goes on |
    | `Pause Broker` / `Resume Broker` | freeze a node (``docker pause``): a leader that neither answers nor resigns |
    | `Isolate Broker` / `Heal Network` | cut a node off its peers, or off clients (iptables in its own namespace) |
    | `Slow Down Network` / `Heal Network` | a slow (``bandwidth=``) or lossy (``loss=``) link: a gray failure |
    | `Skew Clock` / `Restore Clock` | a wall clock that jumps (``Start Kafka    clock_skew=True``) |
    | `Fill Disk` / `Free Disk` | a full disk: writes fail with ENOSPC (``Start Kafka    disk=faulty``) |
    | `Fail Disk` / `Repair Disk` | a failing disk: writes, reads and/or fsyncs fail with EIO |
    | `Slow Down Disk` / `Restore Disk` | a slow disk: each fsync and/or write waits (``disk=lying``: fsync lies) |
    | `Start Random Faults` / `Stop Random Faults` | seeded faults of the first four rows, as Jepsen's nemesis makes them |

    ``broker=`` chooses the node: a node id, ``leader``, ``follower`` or
    ``followers`` of ``topic=`` and ``partition=``, ``controller``, ``all`` or
    ``random`` (seeded, the seed logged). `Get Partition State`, `Wait Until
    Replicas In Sync` and `Wait Until Partition Has Leader` observe the effect.
    `Start Broker` and `Resume Broker` without ``broker=`` bring back every
    stopped or paused node. Every keyword keeps working with nodes down: what a
    settling cluster answers for a while is asked again within the keyword's
    timeout, and what still fails is one line, never a Kafka client's exception.

    What each fault is, and is not: ``kill`` is a process crash; the host's page
    cache keeps every write, fsynced or not. ``power-loss`` (with `Start Kafka`
    ``power_loss=True``) runs the log directories on a filesystem that forgets
    every write not fsynced when the node dies at once; it does not tear writes
    inside a page or corrupt data. A partition drops packets both ways; it does
    not delay or reorder them (this kernel has no netem).

    = Proving durability =

    `Produce Records` sends many unique, traceable records and keeps each send's
    outcome (acknowledged at a partition and offset, failed, or unknown);
    `Start Background Producer` keeps writing while faults happen. `Verify No
    Acknowledged Records Lost` then reads every partition back with a fresh
    consumer and fails on any acknowledged record lost, moved, reordered or
    (idempotent producer) duplicated, with a table and a timeline picture in
    the log. ``acks=all|1|0`` and ``idempotent=`` are the test's to choose.

    | `Start Kafka`    brokers=3
    | `Create Topic`    orders
    | `Start Background Producer`    orders    rate=500
    | FOR    ${{i}}    IN RANGE    5
    |     `Restart Broker`    mode=kill    broker=leader    topic=orders
    |     `Wait Until Replicas In Sync`    orders
    | END
    | `Stop Background Producer`    orders
    | `Verify No Acknowledged Records Lost`    orders

    What a pass proves: every record this library's producers had acknowledged
    for the topic was readable afterwards, at its acknowledged offset, in
    order, through the faults the test made. It proves nothing about faults the
    test did not make, nor about other producers' records. The same check fails
    where Kafka really loses data: ``acks=1`` and a leader that dies alone,
    unclean leader election, a power loss with Kafka's default flush settings,
    an isolated leader taking ``acks=1`` writes.

    = The consumer half =

    `Start Background Consumer` starts a consumer group of our own, each
    member its own process (so `Restart Consumer` ``mode=kill`` is a real
    crash), recording every record it processed and every commit. `Verify
    Consumer Group Missed Nothing` judges the group against what the producer
    had acknowledged: a record *skipped* (the group went past it, nobody
    processed it) or a commit that went *too far* (ahead of the processing)
    fails, with the commit, the member and the cause named; redeliveries are
    counted (fatal only with ``exactly_once=True``), offsets that went
    backwards are reported, records not yet read are lag, never lost.
    `Watch Consumer Group` samples your application's committed offsets so
    the same verdict can report, from outside, what they did across the
    faults; it cannot see what the application processed.

    | `Start Background Producer`    orders    rate=300
    | `Start Background Consumer`    orders    group=billing    members=2
    | `Restart Consumer`    group=billing    member=random    mode=kill
    | `Restart Broker`    mode=kill    broker=coordinator    group=billing
    | `Stop Background Producer`    orders
    | `Stop Background Consumer`    orders    group=billing
    | `Verify Consumer Group Missed Nothing`    orders    group=billing

    = Kafka you did not start =

    `Connect Kafka` uses an existing cluster (a compose project, Kubernetes, VMs)
    with the same message and verdict keywords; faults go through a driver: its
    containers, or commands you give (``kubectl``, ``ssh``, ...). It never removes
    or reconfigures what it did not create. Client security (TLS, SASL PLAIN and
    SCRAM) is given to `Connect Kafka`; `Start Kafka` ``security=sasl_ssl`` starts
    a secured cluster of our own, and `Get Client Settings` returns what a
    client needs. Passwords never appear in the log (give them as Robot
    secrets and they are hidden even at TRACE level).

    = Images =

    The image is, in this order: the ``image`` import argument, the
    ``KAFKA_PERSISTENCE_IMAGE`` environment variable, our image of the Kafka
    version `Start Kafka` ``version=`` or ``KAFKA_PERSISTENCE_VERSION`` names
    (any release from 3.7.0 on, built offline on first use),
    ``apache/kafka:{KAFKA_VERSION}`` when present, or our image of
    {KAFKA_VERSION} (``kafka-persistence-image build``). Images configured by ``KAFKA_*``
    variables and ``CLUSTER_ID`` work alike; power loss and network faults
    need ours (FUSE and iptables inside). See README for what was run.

    = Time format =

    Timeouts and durations take Robot's time format: ``10s``, ``1 min 30 s``, ``2.5``.

    = Errors =

    A mistake (a keyword before `Start Kafka`, an invalid topic name or
    argument, a missing image, no Docker engine, a wrong password) fails with
    one line saying what was wrong and what to do, within the keyword's
    timeout. A verdict fails with counts and the first differences.

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
