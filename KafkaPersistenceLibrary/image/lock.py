"""One image build at a time per cache directory, across processes and checkouts.

Two runs that need an image at once (pabot, a second checkout, CI beside a developer)
would otherwise debootstrap into the same rootfs and resolve into the same jar
directory. The second waits, bounded, then finds the first one's result cached.
"""

import contextlib
import fcntl
import time

from .tools import ImageError

WAIT_SECONDS = 1800  # a cold build of one version takes ~1-2 min here; a hung one has its own timeouts


@contextlib.contextmanager
def build_lock(cache_dir, log, wait_seconds=WAIT_SECONDS):
    """Hold ``<cache_dir>/build.lock`` (flock: released by the kernel if the holder dies)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / "build.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ImageError(f"another image build held {path} for {wait_seconds} s; "
                                     "is one stuck? (ps aux | grep KafkaPersistenceLibrary.image)") from None
                if not told:
                    log(f"waiting for another image build to finish (lock {path}) ...")
                    told = True
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
