"""``python -m KafkaPersistenceLibrary.image build|ensure``.

Progress goes to stderr; the image name is the only stdout line. Errors are one line
on stderr with exit code 1 (a step failed) or 2 (the machine lacks something).
"""

import argparse
import sys

from . import BuildOptions, ImageError, build_image, ensure_image


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
            command.add_argument("--force", action="store_true", help="rebuild every stage")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    options = BuildOptions(cache_dir=args.cache_dir, debian_mirror=args.debian_mirror,
                           maven_settings=args.maven_settings,
                           force=getattr(args, "force", False))
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731 - progress as it happens
    try:
        name = build_image(options, log) if args.command == "build" else ensure_image(log, options)
    except ImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
