"""Keywords for Kafka the library did not start: connect to it, and the client settings of any cluster."""

from datetime import timedelta

from robot.api import logger
from robot.api.types import Secret
from robot.utils import DotDict

from ..choices import by_value
from ..errors import KafkaPersistenceError
from ..external.commands import CommandTemplates
from ..external.connected import DRIVERS, ConnectedCluster
from ..security.settings import ClientSecurity
from ..timeouts import to_seconds
from .context import LibraryContext
from .one_line import keyword


class ConnectionKeywords:
    ctx: LibraryContext

    @keyword(tags=["lifecycle", "security"])
    def connect_kafka(self, bootstrap: str, driver: str = "none", project: "str | None" = None,
                      containers: "str | None" = None, security_protocol: "str | None" = None,
                      sasl_mechanism: "str | None" = None, username: "str | None" = None,
                      password: "Secret | str | None" = None, ca_file: "str | None" = None,
                      cert_file: "str | None" = None, key_file: "str | None" = None,
                      key_password: "Secret | str | None" = None, check_hostname: bool = True,
                      timeout: timedelta = timedelta(seconds=30), command_timeout: timedelta = timedelta(minutes=2),
                      **commands: str) -> str:
        """Uses a Kafka cluster the library did not start: the message and verdict keywords then work against it.

        ``bootstrap`` is ``host:port,...``. The library never deletes or
        reconfigures anything it did not create; `Disconnect Kafka` lets go.

        Faults go through a ``driver``:
        - ``none``: no faults, only messages and verdicts.
        - ``compose`` with ``project=``: the containers of a ``docker compose``
          project; each node's id is its ``KAFKA_NODE_ID``.
        - ``docker`` with ``containers=kafka-1,kafka-2`` (or ``1:kafka-1,...``).
        - ``command``: argument-list templates per action, run without a
          shell: ``stop=``, ``kill=``, ``start=``, ``restart=``, ``pause=``,
          ``resume=``, ``ready=`` (returns once the node is ready), ``logs=``.
          Placeholders: ``{broker}`` (node id), ``{host}``, ``{port}``. Each
          command gets ``command_timeout``; what ran and printed is logged.
        `Restart Broker` ``broker=leader    topic=...`` keeps its meaning: the
        leader's id comes from the cluster's metadata, then the driver acts.

        Client security: ``security_protocol`` PLAINTEXT, SSL, SASL_PLAINTEXT or
        SASL_SSL; ``sasl_mechanism`` PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with
        ``username`` and ``password``; ``ca_file``; ``cert_file`` and ``key_file``
        for mutual TLS. Give the password as a Robot secret
        (``%{KAFKA_PASSWORD: secret}``) and it is shown as ``<secret>`` even at
        TRACE level; the library itself never logs it nor puts it in an error.
        Fails in one line, within ``timeout``, naming the cause: an address that
        does not answer, a wrong password, TLS expected, an untrusted CA.

        What a verdict proves here: every record this library's producers had
        acknowledged was readable afterwards. Other producers writing to the same
        topic do not disturb it (their records count as foreign); faults the
        platform made on its own are not in the timeline.

        | `Connect Kafka`    kafka-1:9092,kafka-2:9092    driver=compose    project=shop
        | `Connect Kafka`    ${BOOTSTRAP}    security_protocol=SASL_SSL    sasl_mechanism=SCRAM-SHA-512
        | ...    username=tester    password=%{KAFKA_PASSWORD: secret}    ca_file=ca.pem
        | `Connect Kafka`    ${BOOTSTRAP}    driver=command    restart=kubectl delete pod my-cluster-kafka-{broker}
        | ...    ready=kubectl wait --for=condition=Ready pod/my-cluster-kafka-{broker} --timeout=300s
        """
        driver = by_value(DRIVERS, driver, "Invalid driver")
        templates = CommandTemplates.parse(commands, to_seconds(command_timeout, "command_timeout")) \
            if driver == "command" else None
        if commands and driver != "command":
            raise KafkaPersistenceError(f"Commands ({', '.join(f'{a}=' for a in commands)}) need driver=command.")
        if driver == "compose" and not project:
            raise KafkaPersistenceError("driver=compose needs project=: the compose project's name (docker compose ls).")
        if driver == "docker" and not containers:
            raise KafkaPersistenceError("driver=docker needs containers=name,... (or id:name,...).")
        security = ClientSecurity.from_arguments(security_protocol, sasl_mechanism, username, _value(password),
                                                 ca_file, cert_file, key_file, _value(key_password), check_hostname)
        seconds = to_seconds(timeout)
        ctx = self.ctx
        if ctx.cluster is not None:
            raise KafkaPersistenceError(f"The library already uses {ctx.cluster.description}: call 'Stop Kafka' or "
                                        f"'Disconnect Kafka' first.")
        cluster = ConnectedCluster.connect(bootstrap, security, driver, project, containers, templates, seconds)
        ctx.cluster, ctx.cluster_owner, ctx.cluster_spec = cluster, ctx.current_owner, None
        logger.info(f"Connected to {cluster.description} with {security.describe()}: brokers "
                    + ", ".join(f"{n.node_id} at {n.address}" for n in cluster.brokers)
                    + (f"; nodes by container: {', '.join(f'{n.node_id}={n.name}' for n in cluster.nodes.values())}"
                       if driver in ("docker", "compose") else "") + ".")
        return bootstrap

    @keyword(tags=["lifecycle"])
    def disconnect_kafka(self) -> None:
        """Lets go of a cluster connected with `Connect Kafka`; nothing of it is stopped or removed.

        Usually not needed: the connection ends with the suite that made it.

        | [Teardown]    `Disconnect Kafka`
        """
        if self.ctx.cluster is None:
            logger.info("No Kafka cluster was in use.")
            return
        if not isinstance(self.ctx.cluster, ConnectedCluster):
            raise KafkaPersistenceError(f"{self.ctx.cluster.description} was started by the library: "
                                        f"'Stop Kafka' removes it.")
        description = self.ctx.cluster.description
        self.ctx.forget_cluster()
        logger.info(f"Disconnected from {description}; it was left as it was.")

    @keyword(tags=["security"])
    def get_client_settings(self) -> DotDict:
        """Returns what a client of your own needs for the cluster in use, as `Connect Kafka` takes it.

        Keys: ``bootstrap``, ``security_protocol``, ``sasl_mechanism``,
        ``username``, ``password`` (a Robot ``Secret``, shown as ``<secret>`` in
        the log; ``${settings.password.value}`` is the text), ``ca_file``,
        ``cert_file`` and ``key_file``. With `Start Kafka` ``security=sasl_ssl``
        they hold the generated user and the throw-away CA; `Connect Kafka`
        ``&{settings}`` connects another library instance with them.

        | `Start Kafka`    security=sasl_ssl
        | ${settings} =    `Get Client Settings`
        | Start Process    my-app    --bootstrap    ${settings.bootstrap}    --ca    ${settings.ca_file}
        """
        cluster = self.ctx.require_cluster(alive=False)
        s = cluster.security
        return DotDict(bootstrap=cluster.bootstrap, security_protocol=s.protocol, sasl_mechanism=s.sasl_mechanism,
                       username=s.username, password=Secret(s.password) if s.password is not None else None,
                       ca_file=s.ca_file, cert_file=s.cert_file, key_file=s.key_file)


def _value(secret: "Secret | str | None") -> "str | None":
    return secret.value if isinstance(secret, Secret) else secret
