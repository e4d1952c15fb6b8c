"""``python -m KafkaPersistenceLibrary.image build|ensure|list|prune`` (console script:
``kafka-persistence-image``).

Progress goes to stderr; the image name is the only stdout line of build and ensure,
list prints its table to stdout. Errors are one line on stderr with exit code 1 (a
step failed) or 2 (the machine lacks something, or a bad argument).
"""

import argparse
import sys

from ..versions import KAFKA_VERSION
from . import BuildOptions, ImageError, build_image, ensure_image
from .inventory import list_lines, prune


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m KafkaPersistenceLibrary.image",
                                     description="Provide the Kafka image the library runs.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("build", "build our image offline (cached per stage)"),
                            ("ensure", "use $KAFKA_PERSISTENCE_IMAGE or apache/kafka, "
                                       "else build ours")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--cache-dir", help="cache directory (default: "
                             "$KAFKA_PERSISTENCE_CACHE or ~/.cache/kafka-persistence-library)")
        command.add_argument("--debian-mirror", metavar="URL",
                             help="Debian mirror for debootstrap (default: the one apt uses)")
        command.add_argument("--maven-settings", metavar="FILE", help="settings.xml for mvn")
        if name == "build":
            command.add_argument("--kafka-version", default=KAFKA_VERSION, metavar="VERSION",
                                 help=f"any org.apache.kafka:kafka_2.13 release from 3.7 on (default {KAFKA_VERSION})")
            command.add_argument("--force", action="store_true", help="rebuild every stage")
    listing = commands.add_parser("list", help="our images and build cache, sizes, current or stale")
    pruning = commands.add_parser("prune", help="remove the images and cache this tree would not use")
    pruning.add_argument("--version", action="append", default=[], metavar="VERSION",
                         help="also remove this Kafka version's image (repeatable)")
    pruning.add_argument("--all", action="store_true", help="remove every image and cache directory of ours")
    for command in (listing, pruning):
        command.add_argument("--cache-dir", help="cache directory (default: "
                             "$KAFKA_PERSISTENCE_CACHE or ~/.cache/kafka-persistence-library)")
    return parser.parse_args(argv)


def run_command(args, log):
    """The command's stdout lines."""
    if args.command in ("list", "prune"):
        cache_dir = BuildOptions(cache_dir=args.cache_dir).cache_dir
        if args.command == "list":
            return list_lines(cache_dir)
        prune(cache_dir, args.version, args.all, log)
        return []
    options = BuildOptions(cache_dir=args.cache_dir, debian_mirror=args.debian_mirror,
                           maven_settings=args.maven_settings, force=getattr(args, "force", False))
    if args.command == "build":
        return [build_image(options, log, args.kafka_version)]
    return [ensure_image(log, options)]


def main(argv=None):
    args = parse_args(argv)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731 - progress as it happens
    try:
        lines = run_command(args, log)
    except ImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
