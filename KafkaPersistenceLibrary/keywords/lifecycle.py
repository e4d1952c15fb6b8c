"""Keywords that start, restart and stop the broker."""

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robot.utils import DotDict

from ..broker import RESTART_MODES, Broker
from ..errors import KafkaPersistenceError
from ..image import resolve_image
from ..timeouts import to_seconds
from .context import LibraryContext


class LifecycleKeywords:
    ctx: LibraryContext

    @keyword
    def start_kafka(self, **broker_config: str) -> str:
        """Starts one Kafka broker (KRaft, broker + controller) in a container and returns its address.

        Returns when a client can produce (a record sent with ``acks=all`` was
        acknowledged), not when a log line appears. The address, e.g.
        ``127.0.0.1:39092``, stays valid after any number of `Restart Broker`.

        Named arguments are broker properties by their Kafka names, e.g.
        ``log.flush.interval.messages=1``; they override the defaults.

        Calling it again while a broker runs returns the same address and logs
        that the broker is reused, so a suite of many tests pays for one start.
        Asking for different broker properties then fails: `Stop Kafka` first.

        The broker is removed when the suite that started it ends.

        | ${bootstrap} =    `Start Kafka`
        | `Start Kafka`    log.flush.interval.messages=1    message.max.bytes=2097152
        """
        config = {str(k): str(v) for k, v in broker_config.items()}
        ctx = self.ctx
        if ctx.broker is not None:
            if ctx.broker.is_running() and (not config or config == ctx.broker_config):
                logger.info(f"Kafka is already running at {ctx.broker.bootstrap} (started by '{ctx.broker_owner}'); "
                            f"reusing it.")
                return ctx.broker.bootstrap
            if ctx.broker.is_running():
                raise KafkaPersistenceError(
                    f"Kafka is already running at {ctx.broker.bootstrap} with settings {ctx.broker_config or '{}'}, "
                    f"not {config}: call 'Stop Kafka' first to start one with other settings."
                )
            logger.warn(f"Kafka broker {ctx.broker.name} is no longer running; starting a new one.")
            ctx.forget_broker()
        image = resolve_image(ctx.settings.image)
        broker = Broker.start(image, ctx.current_owner, ctx.settings.start_timeout, config)
        ctx.broker, ctx.broker_owner, ctx.broker_config = broker, ctx.current_owner, config
        logger.info(f"Started Kafka {broker.name} from image {image} at {broker.bootstrap}; "
                    f"first acknowledged produce after {broker.started_in_seconds:.2f} s.")
        return broker.bootstrap

    @keyword
    def restart_broker(self, mode: str = "graceful", downtime: timedelta = timedelta(0)) -> DotDict:
        """Stops and starts the same broker container, data kept, and returns once it serves again.

        ``mode``:
        - ``graceful``: SIGTERM, and the broker shuts down in a controlled way
          (Docker sends SIGKILL only after the library's ``stop_timeout``; the
          returned ``clean_shutdown`` says whether that happened).
        - ``kill``: SIGKILL, so the broker must recover its log on start.

        ``downtime`` is how long the broker stays down (e.g. ``5s``).

        Returns when the broker acknowledges a produce and every partition has a
        leader. The result has ``mode``, ``downtime`` (seconds from the stop to
        serving again), ``recovery`` (seconds from the start to serving),
        ``exit_code`` and ``clean_shutdown``; they are logged too.

        | `Restart Broker`
        | ${restart} =    `Restart Broker`    mode=kill    downtime=3s
        | Should Be True    ${restart.recovery} < 30
        """
        broker = self.ctx.require_broker()
        mode = str(mode).strip().lower()
        if mode not in RESTART_MODES:
            raise KafkaPersistenceError(f"Unknown restart mode '{mode}': use one of {', '.join(RESTART_MODES)}.")
        settings = self.ctx.settings
        report = broker.restart(mode, to_seconds(downtime, "downtime"), settings.restart_timeout,
                                settings.stop_timeout)
        self.ctx.note_restart(report)
        how = ("clean shutdown" if report.clean_shutdown else
               "killed" if mode == "kill" else f"NOT clean: Docker had to SIGKILL after {settings.stop_timeout:g} s")
        logger.info(f"Restarted {broker.name} ({mode}, {how}, exit code {report.exit_code}): stopping took "
                    f"{report.stop_seconds:.2f} s, down for {report.downtime_seconds:.2f} s, recovery took "
                    f"{report.recovery_seconds:.2f} s. Address unchanged: {broker.bootstrap}.")
        if mode == "graceful" and not report.clean_shutdown:
            logger.warn(f"Graceful restart of {broker.name} was not clean: the broker did not stop within "
                        f"{settings.stop_timeout:g} s and was killed.")
        return DotDict(mode=mode, downtime=round(report.downtime_seconds, 3),
                       recovery=round(report.recovery_seconds, 3), stop=round(report.stop_seconds, 3),
                       exit_code=report.exit_code, clean_shutdown=report.clean_shutdown)

    @keyword
    def stop_kafka(self) -> None:
        """Stops the broker and removes its container and data. Does nothing when none runs.

        Usually not needed: the broker is removed when the suite that started it ends.

        | [Teardown]    `Stop Kafka`
        """
        ctx = self.ctx
        if ctx.broker is None:
            logger.info("No Kafka broker was running.")
            return
        name = ctx.broker.name
        ctx.forget_broker()
        logger.info(f"Removed Kafka broker {name}.")

    @keyword
    def get_bootstrap_servers(self) -> str:
        """Returns the address of the running broker, e.g. ``127.0.0.1:39092``, for other clients.

        | ${bootstrap} =    `Get Bootstrap Servers`
        | Start Process    my-consumer    --bootstrap-server    ${bootstrap}
        """
        return self.ctx.require_broker().bootstrap

    @keyword
    def get_broker_logs(self, tail: int = 0) -> str:
        """Returns the broker container's output across all its restarts (the last ``tail`` lines if given).

        The library logs these automatically when a test fails.

        | ${logs} =    `Get Broker Logs`    tail=50
        | Should Contain    ${logs}    Kafka Server started
        """
        if tail < 0:
            raise KafkaPersistenceError(f"Invalid tail {tail}: give a positive number of lines, or 0 for all.")
        return self.ctx.require_broker().logs(tail=tail or None)
