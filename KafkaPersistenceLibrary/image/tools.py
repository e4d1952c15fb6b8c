"""Thin wrappers around the external programs the image build drives.

Everything goes through :func:`run` so each call has a timeout and a failure turns
into one readable :class:`ImageError` line instead of a traceback.
"""

import shutil
import subprocess


class ImageError(Exception):
    """A failure the user can act on; the CLI prints it as one line.

    ``exit_code`` 2 means the machine lacks something (a tool, the Docker engine),
    1 means a build step ran and failed.
    """

    def __init__(self, message, exit_code=1, output=""):
        super().__init__(message)
        self.exit_code = exit_code
        self.output = output  # the whole output of the tool that failed, for callers that parse it


def require(program, hint):
    """Fail early with an install hint rather than with FileNotFoundError later."""
    if shutil.which(program) is None:
        raise ImageError(f"{program} not found: {hint}", exit_code=2)


def last_lines(text, count=5):
    """The tail of a tool's output: that is where the reason for a failure is."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(no output)"


def run(cmd, what, timeout, **kwargs):
    """Run ``cmd`` capturing output; raise ImageError naming ``what`` on failure."""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except FileNotFoundError:
        raise ImageError(f"{cmd[0]} not found", exit_code=2) from None
    except subprocess.TimeoutExpired:
        raise ImageError(f"{what} timed out after {timeout} s") from None
    if result.returncode != 0:
        raise ImageError(f"{what} failed: {last_lines(result.stderr + result.stdout)}",
                         output=result.stderr + result.stdout)
    return result.stdout


def check_docker():
    """Make sure a Docker engine answers before starting minutes of work."""
    require("docker", "install the Docker CLI (apt-get install docker.io)")
    try:
        result = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True, text=True, timeout=20,
        )
    except subprocess.TimeoutExpired:
        result = None
    if result is None or result.returncode != 0:
        detail = last_lines(result.stderr, 1) if result is not None else "timed out"
        raise ImageError(f"no Docker engine answers ({detail}); start dockerd or set DOCKER_HOST",
                         exit_code=2)


def image_exists(name):
    """True if the local Docker engine has image ``name`` (never pulls)."""
    try:
        result = subprocess.run(["docker", "image", "inspect", name],
                                capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def image_label(name, label):
    """The value of one label of a local image, or None if image or label is missing."""
    try:
        result = subprocess.run(
            ["docker", "image", "inspect", "--format", f'{{{{ index .Config.Labels "{label}" }}}}', name],
            capture_output=True, text=True, timeout=30,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    value = result.stdout.strip()
    if result.returncode != 0 or value in ("", "<no value>"):
        return None
    return value


def try_pull(name, timeout):
    """Pull ``name`` once, bounded: registries may be unreachable (then it just fails)."""
    try:
        result = subprocess.run(["docker", "pull", name], capture_output=True, text=True,
                                timeout=timeout)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def image_size(name):
    """The size of a local image in bytes (its layers, shared ones included), or None."""
    try:
        result = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", name],
                                capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    return int(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip().isdigit() else None


def tag_image(source, target):
    """Give a local image a second name."""
    run(["docker", "tag", source, target], "docker tag", timeout=30)
