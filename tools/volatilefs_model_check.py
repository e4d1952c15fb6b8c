"""Randomized check of volatilefs against a model of what must survive a power cut.

Runs on the host (root, /dev/fuse, libfuse3-dev and gcc installed), not in CI:

    gcc -O2 -Wall -o /tmp/volatilefs KafkaPersistenceLibrary/image/files/volatilefs/volatilefs.c \\
        $(pkg-config --cflags --libs fuse3)
    python3 tools/volatilefs_model_check.py /tmp/volatilefs /tmp/vfs-check SEED STEPS

It re-executes itself in a private mount namespace (unshare -m), so no mount outlives it.
Random operations - pwrite at random offsets, truncate, fsync/fdatasync, rename (also onto
another file and between hard links), unlink, link, open(O_TRUNC), writes through a shared
mmap with and without msync, SIGUSR1 (write everything) - run through the mount while a
model tracks, per inode, the content seen now and the content made durable by the last
sync. Every read and stat through the mount must match the model's current content. At
random points the daemon is SIGKILLed (the backing directory must then hold exactly the
durable content of every name, nothing else) or stopped cleanly (it must hold the current
content), and a fresh daemon is mounted.
"""

import atexit
import mmap
import os
import random
import signal
import subprocess
import sys
import time

if os.environ.get("VOLATILEFS_CHECK_UNSHARED") != "1":
    os.environ["VOLATILEFS_CHECK_UNSHARED"] = "1"
    os.execvp("unshare", ["unshare", "-m", "--propagation", "private", sys.executable, *sys.argv])

binary, work, seed, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
BACKING, MOUNT = os.path.join(work, "backing"), os.path.join(work, "mount")
subprocess.run(["rm", "-rf", BACKING, MOUNT], check=True)
for directory in (MOUNT, os.path.join(BACKING, "d1"), os.path.join(BACKING, "d2")):
    os.makedirs(directory)
NAMES = [f"d{d}/f{i}" for d in (1, 2) for i in range(4)]
inodes = {}  # id -> {"cur": bytearray, "dur": bytes}
names = {}  # name -> inode id
next_id = 0
log = open(os.path.join(work, "volatilefs.log"), "ab")
daemon = None
trace = []


def mounted():
    with open("/proc/self/mountinfo") as info:
        return any(line.split()[4] == MOUNT for line in info)


def mount():
    global daemon
    daemon = subprocess.Popen([binary, "-f", BACKING, MOUNT], stderr=log)
    deadline = time.monotonic() + 5
    while not mounted():
        assert time.monotonic() < deadline, "no mount"
        time.sleep(0.02)


def power_cut():
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    subprocess.run(["umount", "-l", MOUNT], check=True)
    for inode in inodes.values():
        inode["cur"] = bytearray(inode["dur"])
    check_backing("dur")


def clean_stop():
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
    if mounted():
        subprocess.run(["umount", "-l", MOUNT], check=True)
    for inode in inodes.values():
        inode["dur"] = bytes(inode["cur"])
    check_backing("cur")


def check_backing(which):
    present = {os.path.relpath(os.path.join(root, f), BACKING)
               for root, _, files in os.walk(BACKING) for f in files}
    assert present == set(names), (present, set(names))
    for name, ident in names.items():
        with open(os.path.join(BACKING, name), "rb") as file:
            data = file.read()
        assert data == bytes(inodes[ident][which]), f"backing {name}: {len(data)} bytes, want {len(inodes[ident][which])}"


def path(name):
    return os.path.join(MOUNT, name)


def fail(message):
    for step in trace[-30:]:
        print(step)
    raise AssertionError(message)


def new_inode(name):
    global next_id
    names[name] = next_id
    inodes[next_id] = {"cur": bytearray(), "dur": b""}
    next_id += 1


def step():
    kind = rng.choice(["write"] * 6 + ["truncate", "fsync", "fsync", "rename", "unlink", "link",
                                       "otrunc", "mmap", "mmap", "read", "read", "stat", "usr1"])
    name = rng.choice(NAMES)
    trace.append((kind, name))
    if kind == "write":
        current = inodes[names[name]]["cur"] if name in names else b""
        offset = rng.choice([0, rng.randrange(40000), rng.randrange(3) * 4096, len(current)])
        data = rng.randbytes(rng.choice([1, 100, 4096, 5000, rng.randrange(1, 70000)]))
        trace[-1] += (offset, len(data))
        fd = os.open(path(name), os.O_RDWR | os.O_CREAT, 0o644)
        os.pwrite(fd, data, offset)
        if name not in names:
            new_inode(name)
        cur = inodes[names[name]]["cur"]
        cur.extend(b"\0" * max(0, offset + len(data) - len(cur)))
        cur[offset:offset + len(data)] = data
        if rng.random() < 0.2:
            os.fsync(fd)
            inodes[names[name]]["dur"] = bytes(cur)
        os.close(fd)
    elif name not in names:
        return
    elif kind == "truncate":
        size = rng.choice([0, rng.randrange(50000), 4096, 8191])
        trace[-1] += (size,)
        os.truncate(path(name), size)
        cur = inodes[names[name]]["cur"]
        del cur[size:]
        cur.extend(b"\0" * (size - len(cur)))
    elif kind == "fsync":
        fd = os.open(path(name), os.O_RDONLY)
        (os.fdatasync if rng.random() < 0.5 else os.fsync)(fd)
        os.close(fd)
        inodes[names[name]]["dur"] = bytes(inodes[names[name]]["cur"])
    elif kind == "rename":
        target = rng.choice(NAMES)
        trace[-1] += (target,)
        os.rename(path(name), path(target))
        if names.get(target) != names[name]:  # between two links of one inode: nothing happens
            names[target] = names.pop(name)
    elif kind == "unlink":
        os.unlink(path(name))
        del names[name]
    elif kind == "link":
        target = rng.choice(NAMES)
        if target not in names:
            os.link(path(name), path(target))
            names[target] = names[name]
    elif kind == "otrunc":
        os.close(os.open(path(name), os.O_WRONLY | os.O_TRUNC))
        del inodes[names[name]]["cur"][:]
    elif kind == "mmap":
        cur = inodes[names[name]]["cur"]
        if not cur:
            return
        fd = os.open(path(name), os.O_RDWR)
        mapping = mmap.mmap(fd, len(cur))
        for _ in range(rng.randrange(1, 5)):
            offset = rng.randrange(len(cur))
            data = rng.randbytes(min(rng.randrange(1, 9000), len(cur) - offset))
            trace[-1] += ("at", offset, len(data))
            mapping[offset:offset + len(data)] = data
            cur[offset:offset + len(data)] = data
        if rng.random() < 0.4:
            mapping.flush()  # msync(MS_SYNC): the kernel sends the pages, then a FUSE fsync
            inodes[names[name]]["dur"] = bytes(cur)
        mapping.close()
        os.close(fd)
    elif kind == "read":
        with open(path(name), "rb") as file:
            data = file.read()
        if data != bytes(inodes[names[name]]["cur"]):
            fail(f"read {name}: {len(data)} bytes, want {len(inodes[names[name]]['cur'])}")
    elif kind == "stat":
        if os.stat(path(name)).st_size != len(inodes[names[name]]["cur"]):
            fail(f"stat {name}")
    elif kind == "usr1":
        daemon.send_signal(signal.SIGUSR1)  # asynchronous: give the flush thread time
        time.sleep(0.2)
        for inode in inodes.values():
            inode["dur"] = bytes(inode["cur"])
    live = set(names.values())
    for ident in [i for i in inodes if i not in live]:
        del inodes[ident]


mount()
atexit.register(lambda: daemon.poll() is None and (daemon.kill(), daemon.wait()))
cuts = cleans = 0
for _ in range(steps):
    step()
    chance = rng.random()
    if chance < 0.01:
        power_cut()
        cuts += 1
        mount()
    elif chance < 0.015:
        clean_stop()
        cleans += 1
        mount()
for name, ident in names.items():
    with open(path(name), "rb") as file:
        assert file.read() == bytes(inodes[ident]["cur"]), name
power_cut()
print(f"seed {seed}: {steps} steps, {cuts + 1} power cuts, {cleans} clean stops, "
      f"{len(names)} files at the end: OK")
