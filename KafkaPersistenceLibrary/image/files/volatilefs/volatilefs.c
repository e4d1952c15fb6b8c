/*
 * volatilefs - a FUSE filesystem that forgets every write that was not fsynced
 * when its daemon dies: a "power cut" for one directory.
 *
 *   volatilefs [-f] [-o fuse-options] BACKING_DIR MOUNTPOINT
 *
 * Build: gcc -O2 -Wall -o volatilefs volatilefs.c $(pkg-config --cflags --libs fuse3)
 *
 * WHY. Killing a process (even a whole container) is not a power cut: the kernel
 * keeps every write() in its page cache and writes it to disk later, so data that
 * an application never fsynced survives. volatilefs moves that "page cache" into
 * its own memory, where a SIGKILL of the daemon destroys it, like power loss
 * destroys RAM. The idea is the one of Jepsen's LazyFS (VLDB 2024, "When Amnesia
 * Strikes"); this is an independent, much smaller implementation.
 *
 * THE MODEL.
 *  - The mount shows BACKING_DIR. BACKING_DIR is "the disk": what is in it is
 *    what survives a power cut. (It is never fsynced itself: the host does not
 *    lose power, only our daemon "does".)
 *  - File DATA and file SIZE are volatile. write(), truncate()/ftruncate(),
 *    open(O_TRUNC) and fallocate() that grows a file change only the daemon's
 *    memory: per backing inode a map of dirty 4 KiB pages plus the logical size
 *    and mtime. Reads, mmap page-ins and getattr (st_size, st_mtime) see that
 *    volatile state merged over the backing file.
 *  - fsync()/fdatasync() of a file - also msync(), which the kernel turns into
 *    a FUSE fsync - makes ALL of that file's volatile state durable: the backing
 *    file is cut to the smallest size it had since its last sync, the dirty pages
 *    are pwrite()n, the final size and mtime are set.
 *  - A clean shutdown makes everything durable: unmount, SIGTERM/SIGINT to the
 *    daemon (it unmounts, then writes all), or SIGUSR1 (write all, stay mounted).
 *  - NAMESPACE operations (create, mkdir, mknod, symlink, link, rename, unlink,
 *    rmdir, chmod, chown, utimens) are applied to BACKING_DIR at once and are
 *    therefore durable at once. fsync of a directory is a no-op.
 *  - Volatile state belongs to the backing inode (st_dev, st_ino): it follows a
 *    file across renames and is shared by hard links. It is dropped (its
 *    unsynced writes are discarded, like a real FS discards the pages of a
 *    deleted file) when the last link is gone and no handle is open.
 *  - Shared writable mmap works (no direct_io). Pages dirtied through a mapping
 *    live in the kernel's page cache of the FUSE inode; the kernel hands them to
 *    us as ordinary writes on msync, munmap/exit of the mapper, close, or its
 *    periodic writeback - they then sit in our memory like any write until an
 *    fsync. When the daemon dies the kernel aborts the connection and drops the
 *    FUSE inode's pages, so unsynced mmap writes are lost too.
 *
 * DESIGN. Low-level libfuse3 API, passthrough in the manner of libfuse's
 * passthrough_ll: every inode the kernel knows is a node holding an O_PATH
 * descriptor of the backing inode, and the node's address is its FUSE node id,
 * so all names of an inode share one kernel inode and one page cache. A regular
 * file's node also holds an O_RDWR descriptor, its dirty pages (a two-level
 * table of 4 KiB pages, 2 MiB per leaf), its logical size, the backing size,
 * and `valid`: the smallest size since the last sync - backing bytes past it were
 * truncated away and read as zeros. A sync cuts the backing file to `valid`,
 * pwritev()s the dirty pages in runs of up to 1 MiB, sets size and mtime. The
 * node outlives the kernel's interest (FORGET) while it holds unsynced data of a
 * file that still has a name. One mutex per node for data, one for the table.
 *
 * DISK FAULTS (the fault layer). With VOLATILEFS_CONTROL=FILE in the environment,
 * the daemon reads FILE at mount and on SIGUSR2, applies it to every later
 * request and writes what it applied to FILE.applied. FILE holds tokens:
 *   full                 writes, growing fallocates and creates fail with ENOSPC
 *   eio=write,read,fsync,all  those requests fail with EIO (all: also creates,
 *                        renames and unlinks: a dead disk)
 *   write_delay_us=N     every write request waits N microseconds first
 *   fsync_delay_us=N     every fsync request waits N microseconds first
 * An empty or missing FILE is a healthy disk. VOLATILEFS_LYING_FSYNC=1 (read
 * once, at start) makes fsync answer success and sync nothing: a disk whose
 * volatile cache ignores flushes. That cache writes back by itself what has
 * been dirty for VOLATILEFS_WRITEBACK_SECONDS (5 by default; a whole file at a
 * time), so a power cut loses the last seconds of "durable" writes. (Losing
 * everything since the mount is not what such disks do, and measured: Kafka
 * 4.1.1 then cannot start - an empty partition.metadata, a NullPointerException.)
 * Faults touch only requests of the mount's users: the daemon's own writes to
 * BACKING_DIR (the flush at a clean shutdown) always go through.
 *
 * FAITHFUL vs NOT (what a power cut on real hardware + ext4/xfs would do):
 *  + fsynced data and size survive; data never fsynced is lost - all of it.
 *  + a truncate or O_TRUNC not followed by fsync is undone; so is a size change
 *    by fallocate.
 *  + msync(MS_SYNC) / MappedByteBuffer.force() persist mapped writes.
 *  - WORST CASE, on purpose: a real kernel writes dirty pages back by itself
 *    (after ~30 s, dirty_expire_centisecs, or under memory pressure), so on real
 *    hardware some unsynced data usually survives. We keep everything until
 *    fsync, however old: every unsynced byte is lost.
 *  - fsync syncs the whole file: msync of a range or sync_file_range persists
 *    more than a real FS would (FUSE does not pass the range).
 *  - no torn or reordered writes: a real disk can tear a sector or page written
 *    at the moment of the cut and persist an interrupted fsync's pages in any
 *    order. Here an fsync cut short leaves a prefix of its pages, in file order.
 *  - no corruption, no misdirected or lost writes, no media errors. fsync fails
 *    only if writing the backing file fails; space is not reserved at write
 *    time, so a full disk (ENOSPC) shows at fsync, not at write.
 *  - metadata is durable at once: a real FS can lose a create, rename, link or
 *    unlink that was not followed by an fsync of its directory (ext4 commits
 *    its journal every 5 s). Here those are never lost, and a file created and
 *    written but never fsynced comes back EMPTY (size 0) rather than missing.
 *  - mtime is volatile with the data; atime is not modelled; chmod/chown/xattrs
 *    (not supported) are durable at once.
 *  - unbounded: unsynced data stays in the daemon's memory until an fsync of
 *    that file; nothing is written back under memory pressure.
 *  - BACKING_DIR must not be changed by anyone else while mounted.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PG_SHIFT 12
#define PG_SIZE ((off_t)1 << PG_SHIFT)
#define PG_MASK (PG_SIZE - 1)
#define LEAF_SHIFT 9 /* 512 page slots (2 MiB of file) per leaf */
#define LEAF_SLOTS ((off_t)1 << LEAF_SHIFT)
#define TABLE_BUCKETS (1u << 14)
#define SYNC_IOVS 256 /* pages per pwritev: 1 MiB */
#define TIMEOUT 1.0 /* seconds the kernel may cache entries and attributes */

/*
 * One backing inode. Its address is the FUSE node id, so every name (hard link) of
 * an inode is one kernel inode with one page cache. A node lives while the kernel
 * knows it (nlookup), while it is open or in use (users), and - with neither - while
 * it holds unsynced state of a file that still has a link: that state is the
 * "page cache" a power cut destroys.
 */
struct node {
	/* Set at creation, then read-only. */
	dev_t dev;
	ino_t ino;
	mode_t type; /* S_IFMT bits */
	int pfd; /* O_PATH descriptor: names the inode, keeps its number ours */

	/* Guarded by table_mu. */
	uint64_t nlookup;
	unsigned users; /* open handles + short-lived pins (flush_all, setattr, ...) */
	bool hashed;
	struct node *next;

	/* Guarded by mu. Regular files only; all zero until the data descriptor is open. */
	pthread_mutex_t mu;
	int fd; /* O_RDWR on the backing file: reads and syncs; -1 until first needed */
	char ***leaves; /* leaves[i][j] = dirty page (i << LEAF_SHIFT) + j, or NULL */
	size_t nleaves;
	size_t ndirty;
	off_t size; /* logical size, as seen through the mount */
	off_t durable_size; /* size of the backing file */
	off_t valid; /* backing bytes at or after this offset were truncated away: read zeros */
	bool times_dirty;
	struct timespec mtime; /* mtime and ctime seen through the mount while times_dirty */
	time_t dirty_since; /* CLOCK_MONOTONIC seconds of the first unsynced change, 0 when clean */
};

struct dir_handle {
	DIR *dir;
	struct dirent *entry; /* read but not yet returned (the reply buffer was full) */
	off_t offset;
};

static const char *backing_path;
static int statfs_fd = -1;
static struct node root;
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static struct node *table[TABLE_BUCKETS];
static size_t table_count;
static int final_flush_err; /* of the flush at unmount: the exit status says if it failed */

/* Disk faults (VOLATILEFS_CONTROL); read by every request thread without a lock. */
#define FAIL_WRITE 1u
#define FAIL_READ 2u
#define FAIL_FSYNC 4u
#define FAIL_NAMES 8u /* create, mkdir, rename, unlink, ...: only with eio=all */
static const char *control_path;
static volatile int disk_full;
static volatile unsigned disk_eio;
static volatile long write_delay_us, fsync_delay_us;
static bool lying_fsync;
static time_t writeback_seconds = 5; /* VOLATILEFS_WRITEBACK_SECONDS: the lying disk's cache age */

static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("volatilefs: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* 0, or the error a request of class `what` gets from the disk faults now in force. */
static int disk_error(unsigned what)
{
	if (disk_eio & what)
		return EIO;
	if (disk_full && (what & (FAIL_WRITE | FAIL_NAMES)))
		return ENOSPC;
	return 0;
}

static void disk_delay(long us)
{
	if (us > 0) {
		struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

/* Read the control file and apply it; write what was applied to FILE.applied. */
static void control_load(void)
{
	if (!control_path)
		return;
	char text[512] = "";
	FILE *f = fopen(control_path, "r");
	if (f) {
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	int full = 0;
	unsigned eio = 0;
	long wdelay = 0, fdelay = 0;
	char copy[512];
	memcpy(copy, text, sizeof(copy));
	char *save = NULL;
	for (char *tok = strtok_r(copy, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (strcmp(tok, "full") == 0) {
			full = 1;
		} else if (strncmp(tok, "eio=", 4) == 0) {
			char *save2 = NULL;
			for (char *op = strtok_r(tok + 4, ",", &save2); op; op = strtok_r(NULL, ",", &save2)) {
				if (strcmp(op, "write") == 0)
					eio |= FAIL_WRITE;
				else if (strcmp(op, "read") == 0)
					eio |= FAIL_READ;
				else if (strcmp(op, "fsync") == 0)
					eio |= FAIL_FSYNC;
				else if (strcmp(op, "all") == 0)
					eio |= FAIL_WRITE | FAIL_READ | FAIL_FSYNC | FAIL_NAMES;
				else
					say("control: unknown operation '%s' ignored", op);
			}
		} else if (strncmp(tok, "write_delay_us=", 15) == 0) {
			wdelay = strtol(tok + 15, NULL, 10);
		} else if (strncmp(tok, "fsync_delay_us=", 15) == 0) {
			fdelay = strtol(tok + 15, NULL, 10);
		} else {
			say("control: unknown token '%s' ignored", tok);
		}
	}
	disk_full = full;
	disk_eio = eio;
	write_delay_us = wdelay < 0 ? 0 : wdelay;
	fsync_delay_us = fdelay < 0 ? 0 : fdelay;
	char applied[PATH_MAX];
	snprintf(applied, sizeof(applied), "%s.applied", control_path);
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.applied.new", control_path);
	f = fopen(tmp, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
		rename(tmp, applied);
	}
	say("disk faults now: full=%d eio=%s%s%s%s write_delay_us=%ld fsync_delay_us=%ld%s", full,
	    eio ? "" : "none", eio & FAIL_WRITE ? "write," : "", eio & FAIL_READ ? "read," : "",
	    eio & FAIL_FSYNC ? "fsync," : "", write_delay_us, fsync_delay_us,
	    lying_fsync ? " (fsync lies)" : "");
}

static struct node *node_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &root : (struct node *)(uintptr_t)ino;
}

static fuse_ino_t id_of(struct node *n)
{
	return n == &root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* "/proc/self/fd/N": reopens, chmods or links an inode held by an O_PATH descriptor. */
static void proc_path(char buf[64], int fd)
{
	snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

static ssize_t pread_full(int fd, char *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* ------------------------------------------------------------------ page map */

static char **page_slot(struct node *v, off_t idx, bool create)
{
	size_t leaf = (size_t)(idx >> LEAF_SHIFT);
	if (leaf >= v->nleaves) {
		if (!create)
			return NULL;
		size_t n = v->nleaves ? v->nleaves : 1;
		while (n <= leaf)
			n *= 2;
		char ***grown = realloc(v->leaves, n * sizeof(*grown));
		if (!grown)
			return NULL;
		memset(grown + v->nleaves, 0, (n - v->nleaves) * sizeof(*grown));
		v->leaves = grown;
		v->nleaves = n;
	}
	if (!v->leaves[leaf]) {
		if (!create)
			return NULL;
		v->leaves[leaf] = calloc(LEAF_SLOTS, sizeof(char *));
		if (!v->leaves[leaf])
			return NULL;
	}
	return &v->leaves[leaf][idx & (LEAF_SLOTS - 1)];
}

static char *page_get(struct node *v, off_t idx)
{
	char **slot = page_slot(v, idx, false);
	return slot ? *slot : NULL;
}

/* Drop every page from index `first` on (all of them for 0). */
static void pages_drop_from(struct node *v, off_t first)
{
	for (size_t leaf = (size_t)(first >> LEAF_SHIFT); leaf < v->nleaves; leaf++) {
		char **slots = v->leaves[leaf];
		if (!slots)
			continue;
		off_t j0 = ((off_t)leaf << LEAF_SHIFT) < first ? (first & (LEAF_SLOTS - 1)) : 0;
		for (off_t j = j0; j < LEAF_SLOTS; j++) {
			if (slots[j]) {
				free(slots[j]);
				slots[j] = NULL;
				v->ndirty--;
			}
		}
		if (j0 == 0) {
			free(slots);
			v->leaves[leaf] = NULL;
		}
	}
}

/* What page `idx` holds before it becomes dirty: backing bytes below `valid`, zeros above. */
static int page_fill(struct node *v, off_t idx, char *page)
{
	off_t start = idx << PG_SHIFT;
	memset(page, 0, PG_SIZE);
	if (start < v->valid) {
		off_t want = v->valid - start < PG_SIZE ? v->valid - start : PG_SIZE;
		if (pread_full(v->fd, page, (size_t)want, start) < 0)
			return -errno;
	}
	return 0;
}

/* ------------------------------------------------------------------ file data (node->mu held) */

static bool vn_dirty(const struct node *v)
{
	return v->ndirty || v->size != v->durable_size || v->valid != v->durable_size ||
	       v->times_dirty;
}

static void vn_touch(struct node *v)
{
	if (!v->dirty_since) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		v->dirty_since = now.tv_sec ? now.tv_sec : 1;
	}
	clock_gettime(CLOCK_REALTIME, &v->mtime);
	v->times_dirty = true;
}

static int vn_read(struct node *v, char *buf, size_t size, off_t off)
{
	if (off >= v->size)
		return 0;
	if ((off_t)size > v->size - off)
		size = (size_t)(v->size - off);
	off_t pos = off, end = off + (off_t)size;
	while (pos < end) {
		off_t step = PG_SIZE - (pos & PG_MASK);
		if (step > end - pos)
			step = end - pos;
		char *page = page_get(v, pos >> PG_SHIFT);
		if (page) {
			memcpy(buf + (pos - off), page + (pos & PG_MASK), (size_t)step);
			pos += step;
			continue;
		}
		/* A run of clean pages: one pread from the backing file, zeros past `valid`. */
		off_t run_end = pos + step;
		while (run_end < end && !page_get(v, run_end >> PG_SHIFT))
			run_end = run_end + PG_SIZE < end ? run_end + PG_SIZE : end;
		off_t back_end = run_end < v->valid ? run_end : v->valid;
		ssize_t got = 0;
		if (pos < back_end) {
			got = pread_full(v->fd, buf + (pos - off), (size_t)(back_end - pos), pos);
			if (got < 0)
				return -errno;
		}
		memset(buf + (pos - off) + got, 0, (size_t)(run_end - pos - got));
		pos = run_end;
	}
	return (int)size;
}

static int vn_write(struct node *v, const char *buf, size_t size, off_t off)
{
	off_t pos = off, end = off + (off_t)size;
	while (pos < end) {
		off_t step = PG_SIZE - (pos & PG_MASK);
		if (step > end - pos)
			step = end - pos;
		char **slot = page_slot(v, pos >> PG_SHIFT, true);
		if (!slot)
			return -ENOMEM;
		if (!*slot) {
			char *page = malloc(PG_SIZE);
			if (!page)
				return -ENOMEM;
			if (step < PG_SIZE) {
				int err = page_fill(v, pos >> PG_SHIFT, page);
				if (err) {
					free(page);
					return err;
				}
			}
			*slot = page;
			v->ndirty++;
		}
		memcpy(*slot + (pos & PG_MASK), buf + (pos - off), (size_t)step);
		pos += step;
	}
	if (end > v->size)
		v->size = end;
	vn_touch(v);
	return (int)size;
}

static void vn_truncate(struct node *v, off_t size)
{
	if (size < v->size) {
		pages_drop_from(v, (size + PG_MASK) >> PG_SHIFT);
		char *page = (size & PG_MASK) ? page_get(v, size >> PG_SHIFT) : NULL;
		if (page)
			memset(page + (size & PG_MASK), 0, (size_t)(PG_SIZE - (size & PG_MASK)));
		if (size < v->valid)
			v->valid = size;
	}
	v->size = size;
	vn_touch(v);
}

static int pwritev_full(int fd, struct iovec *iov, int n, off_t off)
{
	while (n > 0) {
		ssize_t done = pwritev(fd, iov, n, off);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += done;
		while (n > 0 && (size_t)done >= iov->iov_len) {
			done -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

/* Make the volatile state durable: cut, write the dirty pages in runs, set size and mtime. */
static int vn_sync(struct node *v, size_t *bytes_written)
{
	if (!vn_dirty(v))
		return 0;
	int err = 0;
	if (v->valid < v->durable_size) {
		if (ftruncate(v->fd, v->valid) < 0)
			return -errno;
		v->durable_size = v->valid;
	}
	struct iovec iov[SYNC_IOVS];
	int n = 0;
	off_t run_start = 0, run_end = 0, written_end = v->durable_size;
	for (size_t leaf = 0; leaf < v->nleaves && !err; leaf++) {
		char **slots = v->leaves[leaf];
		if (!slots)
			continue;
		for (off_t j = 0; j < LEAF_SLOTS; j++) {
			if (!slots[j])
				continue;
			off_t start = (((off_t)leaf << LEAF_SHIFT) + j) << PG_SHIFT;
			if (start >= v->size)
				continue; /* cannot happen: truncate drops them */
			off_t len = v->size - start < PG_SIZE ? v->size - start : PG_SIZE;
			if (n && (start != run_end || n == SYNC_IOVS)) {
				if ((err = pwritev_full(v->fd, iov, n, run_start)))
					break;
				*bytes_written += (size_t)(run_end - run_start);
				n = 0;
			}
			if (!n)
				run_start = run_end = start;
			iov[n].iov_base = slots[j];
			iov[n++].iov_len = (size_t)len;
			run_end += len;
		}
	}
	if (!err && n) {
		err = pwritev_full(v->fd, iov, n, run_start);
		if (!err)
			*bytes_written += (size_t)(run_end - run_start);
	}
	if (!err && run_end > written_end)
		written_end = run_end;
	if (!err && written_end != v->size && ftruncate(v->fd, v->size) < 0)
		err = -errno;
	if (!err && v->times_dirty) {
		struct timespec times[2] = {{0, UTIME_OMIT}, v->mtime};
		if (futimens(v->fd, times) < 0)
			err = -errno;
	}
	if (err) {
		/* Keep every page: a later sync writes them again. Re-learn the backing size. */
		struct stat st;
		if (fstat(v->fd, &st) == 0)
			v->durable_size = st.st_size;
		if (v->valid > v->durable_size)
			v->valid = v->durable_size;
		return err;
	}
	pages_drop_from(v, 0);
	free(v->leaves);
	v->leaves = NULL;
	v->nleaves = 0;
	v->durable_size = v->valid = v->size;
	v->times_dirty = false;
	v->dirty_since = 0;
	return 0;
}

/* ------------------------------------------------------------------ node table */

static size_t bucket(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32)) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 50) & (TABLE_BUCKETS - 1);
}

static struct node **table_find(dev_t dev, ino_t ino)
{
	struct node **p = &table[bucket(dev, ino)];
	while (*p && !((*p)->dev == dev && (*p)->ino == ino))
		p = &(*p)->next;
	return p;
}

static void table_unhash(struct node *n)
{
	struct node **p = table_find(n->dev, n->ino);
	if (*p == n) {
		*p = n->next;
		table_count--;
	}
	n->hashed = false;
}

static void node_free(struct node *n)
{
	pages_drop_from(n, 0);
	free(n->leaves);
	if (n->fd >= 0)
		close(n->fd);
	close(n->pfd);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

static bool node_linkless(const struct node *n)
{
	struct stat st;
	return fstatat(n->pfd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink == 0;
}

/* table_mu held. Unhash and return true when nothing needs the node any more: the
 * kernel forgot it, no handle or pin is left, and it holds no unsynced state of a
 * file that still has a name. (Unsynced state of a deleted file dies with it.) With no
 * lookup and no user no other thread can reach the node, so its data is read unlocked. */
static bool node_unused(struct node *n)
{
	if (n == &root || n->nlookup || n->users)
		return false;
	if (vn_dirty(n) && !node_linkless(n))
		return false;
	table_unhash(n);
	return true;
}

static void node_pin(struct node *n)
{
	pthread_mutex_lock(&table_mu);
	n->users++;
	pthread_mutex_unlock(&table_mu);
}

static void node_unpin(struct node *n)
{
	pthread_mutex_lock(&table_mu);
	n->users--;
	bool gone = node_unused(n);
	pthread_mutex_unlock(&table_mu);
	if (gone)
		node_free(n);
}

/* The node of the inode open as O_PATH `fd` (taken over, or closed if the node
 * exists), with one more lookup; NULL with errno set. */
static struct node *node_get(int fd, const struct stat *st)
{
	pthread_mutex_lock(&table_mu);
	struct node **p = table_find(st->st_dev, st->st_ino);
	struct node *n = *p;
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&table_mu);
		close(fd);
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&table_mu);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->type = st->st_mode & S_IFMT;
	n->pfd = fd;
	n->fd = -1;
	n->nlookup = 1;
	n->hashed = true;
	pthread_mutex_init(&n->mu, NULL);
	*p = n;
	table_count++;
	pthread_mutex_unlock(&table_mu);
	return n;
}

/* After an unlink or a replacing rename: forget the inode's state if its last name went. */
static void node_forget_if_unlinked(dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&table_mu);
	struct node *n = *table_find(dev, ino);
	bool gone = n && node_unused(n);
	pthread_mutex_unlock(&table_mu);
	if (gone)
		node_free(n);
}

/* n->mu held: open the data descriptor and load the size, on first use. */
static int node_data(struct node *n)
{
	if (n->fd >= 0)
		return 0;
	if (n->type != S_IFREG)
		return -EINVAL;
	char path[64];
	proc_path(path, n->pfd);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
		fd = open(path, O_RDONLY | O_CLOEXEC); /* read-only data; a sync would fail */
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return -err;
	}
	n->fd = fd;
	n->size = n->durable_size = n->valid = st.st_size;
	n->mtime = st.st_mtim;
	return 0;
}

/* Write every node's state to the backing directory (clean shutdown, SIGUSR1). */
static int flush_older(const char *why, time_t age);

static int flush_all(const char *why)
{
	return flush_older(why, 0);
}

/* Write the state of every node whose first unsynced change is at least `age` seconds old. */
static int flush_older(const char *why, time_t age)
{
	pthread_mutex_lock(&table_mu);
	size_t count = 0;
	struct node **all = malloc((table_count + 1) * sizeof(*all));
	if (!all) {
		pthread_mutex_unlock(&table_mu);
		say("flush (%s): out of memory", why);
		return -ENOMEM;
	}
	for (size_t b = 0; b < TABLE_BUCKETS; b++)
		for (struct node *n = table[b]; n; n = n->next) {
			n->users++;
			all[count++] = n;
		}
	pthread_mutex_unlock(&table_mu);
	size_t files = 0, bytes = 0, failed = 0;
	int first_err = 0;
	for (size_t i = 0; i < count; i++) {
		struct node *n = all[i];
		pthread_mutex_lock(&n->mu);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool due = age == 0 || (n->dirty_since && now.tv_sec - n->dirty_since >= age);
		if (due && vn_dirty(n)) {
			int err = vn_sync(n, &bytes);
			files++;
			if (err) {
				failed++;
				if (!first_err)
					first_err = err;
				say("flush (%s): inode %lu: %s", why, (unsigned long)n->ino, strerror(-err));
			}
		}
		pthread_mutex_unlock(&n->mu);
		node_unpin(n);
	}
	free(all);
	if (age == 0 || files)
		say("flush (%s): %zu files, %zu bytes written, %zu failed", why, files, bytes, failed);
	return first_err;
}

/* ------------------------------------------------------------------ attributes */

static int node_stat(struct node *n, struct stat *st)
{
	if (fstatat(n->pfd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (n->type == S_IFREG) {
		pthread_mutex_lock(&n->mu);
		if (n->fd >= 0) {
			st->st_size = n->size;
			if (n->times_dirty)
				st->st_mtim = st->st_ctim = n->mtime;
			if (vn_dirty(n))
				st->st_blocks = (n->size + 511) / 512;
		}
		pthread_mutex_unlock(&n->mu);
	}
	return 0;
}

/* Look `name` up in `parent`: one more kernel reference on its node. */
static int do_lookup(struct node *parent, const char *name, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->attr_timeout = e->entry_timeout = TIMEOUT;
	int fd = openat(parent->pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	struct node *n = node_get(fd, &st);
	if (!n)
		return -errno;
	int err = node_stat(n, &e->attr);
	if (err) {
		pthread_mutex_lock(&table_mu);
		n->nlookup--;
		bool gone = node_unused(n);
		pthread_mutex_unlock(&table_mu);
		if (gone)
			node_free(n);
		return err;
	}
	e->ino = id_of(n);
	return 0;
}

static void reply_entry(fuse_req_t req, struct node *parent, const char *name)
{
	struct fuse_entry_param e;
	int err = do_lookup(parent, name, &e);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

/* We run as root; a new file, directory or link belongs to whoever made it. */
static void chown_to_caller(fuse_req_t req, struct node *parent, const char *name)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	if (geteuid() == 0 && fchownat(parent->pfd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) < 0)
		say("chown %s: %s", name, strerror(errno));
}

/* ------------------------------------------------------------------ FUSE operations */
static void vfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_entry(req, node_of(parent), name);
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = node_of(ino);
	pthread_mutex_lock(&table_mu);
	n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
	bool gone = node_unused(n);
	pthread_mutex_unlock(&table_mu);
	if (gone)
		node_free(n);
}

static void vfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (ino != FUSE_ROOT_ID)
		forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void vfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		if (forgets[i].ino != FUSE_ROOT_ID)
			forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void vfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	int err = node_stat(node_of(ino), &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, TIMEOUT);
}

static int set_times(struct node *n, const struct stat *attr, int valid)
{
	struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	if (n->type == S_IFLNK)
		return -EPERM; /* no way to set a symlink's times through its O_PATH descriptor */
	char path[64];
	proc_path(path, n->pfd);
	if (utimensat(AT_FDCWD, path, tv, 0) < 0)
		return -errno;
	if (n->type == S_IFREG && tv[1].tv_nsec != UTIME_OMIT) {
		/* What was set is what the file shows - also after a later sync, whose
		 * pwrite() would otherwise give the backing file the time of the sync. */
		struct stat st;
		pthread_mutex_lock(&n->mu);
		if (n->fd >= 0 && fstat(n->fd, &st) == 0) {
			n->mtime = st.st_mtim;
			n->times_dirty = n->ndirty || n->size != n->durable_size || n->valid != n->durable_size;
		}
		pthread_mutex_unlock(&n->mu);
	}
	return 0;
}

static void vfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
			struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = node_of(ino);
	char path[64];
	int err = 0;
	if (valid & FUSE_SET_ATTR_MODE) {
		proc_path(path, n->pfd);
		if (chmod(path, attr->st_mode) < 0)
			err = -errno;
	}
	if (!err && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
		if (fchownat(n->pfd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			err = -errno;
	}
	if (!err && (valid & FUSE_SET_ATTR_SIZE) && (disk_eio & FAIL_WRITE))
		err = -EIO;
	if (!err && (valid & FUSE_SET_ATTR_SIZE)) {
		pthread_mutex_lock(&n->mu);
		err = node_data(n);
		if (!err)
			vn_truncate(n, attr->st_size);
		pthread_mutex_unlock(&n->mu);
	}
	if (!err && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
		err = set_times(n, attr, valid);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	vfs_getattr(req, ino, NULL);
}

static void vfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t len = readlinkat(node_of(ino)->pfd, "", buf, sizeof(buf) - 1);
	if (len < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

static void vfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	int ferr = disk_error(FAIL_NAMES);
	if (ferr) {
		fuse_reply_err(req, ferr);
		return;
	}
	struct node *p = node_of(parent);
	int res;
	if (S_ISREG(mode)) {
		res = openat(p->pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
		if (res >= 0)
			close(res);
	} else if (S_ISFIFO(mode)) {
		res = mkfifoat(p->pfd, name, mode);
	} else {
		res = mknodat(p->pfd, name, mode, rdev);
	}
	if (res < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	chown_to_caller(req, p, name);
	reply_entry(req, p, name);
}

static void vfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	int ferr = disk_error(FAIL_NAMES);
	if (ferr) {
		fuse_reply_err(req, ferr);
		return;
	}
	struct node *p = node_of(parent);
	if (mkdirat(p->pfd, name, mode) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	chown_to_caller(req, p, name);
	reply_entry(req, p, name);
}

static void vfs_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	int ferr = disk_error(FAIL_NAMES);
	if (ferr) {
		fuse_reply_err(req, ferr);
		return;
	}
	struct node *p = node_of(parent);
	if (symlinkat(target, p->pfd, name) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	chown_to_caller(req, p, name);
	reply_entry(req, p, name);
}

static void vfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	int ferr = disk_error(FAIL_NAMES);
	if (ferr) {
		fuse_reply_err(req, ferr);
		return;
	}
	char path[64];
	proc_path(path, node_of(ino)->pfd);
	struct node *p = node_of(newparent);
	if (linkat(AT_FDCWD, path, p->pfd, newname, AT_SYMLINK_FOLLOW) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	reply_entry(req, p, newname);
}

static void vfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (disk_eio & FAIL_NAMES) {
		fuse_reply_err(req, EIO);
		return;
	}
	struct node *p = node_of(parent);
	struct stat st;
	bool known = fstatat(p->pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (unlinkat(p->pfd, name, 0) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (known)
		node_forget_if_unlinked(st.st_dev, st.st_ino);
	fuse_reply_err(req, 0);
}

static void vfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (disk_eio & FAIL_NAMES) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_err(req, unlinkat(node_of(parent)->pfd, name, AT_REMOVEDIR) < 0 ? errno : 0);
}

static void vfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname, unsigned int flags)
{
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (disk_eio & FAIL_NAMES) {
		fuse_reply_err(req, EIO);
		return;
	}
	struct node *from = node_of(parent), *to = node_of(newparent);
	struct stat st;
	bool replaced = !(flags & RENAME_EXCHANGE) &&
			fstatat(to->pfd, newname, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (renameat2(from->pfd, name, to->pfd, newname, flags) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (replaced)
		node_forget_if_unlinked(st.st_dev, st.st_ino);
	fuse_reply_err(req, 0);
}

/* An open handle pins the node; O_TRUNC is a volatile truncate. */
static int open_node(struct node *n, struct fuse_file_info *fi)
{
	pthread_mutex_lock(&n->mu);
	int err = node_data(n);
	if (!err && (fi->flags & O_TRUNC))
		vn_truncate(n, 0);
	pthread_mutex_unlock(&n->mu);
	if (err)
		return err;
	node_pin(n);
	fi->fh = 0;
	fi->keep_cache = 1; /* every change goes through this mount: cached pages stay right */
	return 0;
}

static void vfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int err = open_node(node_of(ino), fi);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_open(req, fi);
}

static void vfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       struct fuse_file_info *fi)
{
	int ferr = disk_error(FAIL_NAMES);
	if (ferr) {
		fuse_reply_err(req, ferr);
		return;
	}
	struct node *p = node_of(parent);
	int fd = openat(p->pfd, name, O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (fi->flags & O_EXCL),
			mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	close(fd);
	chown_to_caller(req, p, name);
	struct fuse_entry_param e;
	int err = do_lookup(p, name, &e);
	if (!err) {
		err = open_node(node_of(e.ino), fi);
		if (err)
			forget_one(e.ino, 1);
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_create(req, &e, fi);
}

static void vfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	if (disk_eio & FAIL_READ) {
		fuse_reply_err(req, EIO);
		return;
	}
	struct node *n = node_of(ino);
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&n->mu);
	int res = vn_read(n, buf, size, off);
	pthread_mutex_unlock(&n->mu);
	if (res < 0)
		fuse_reply_err(req, -res);
	else
		fuse_reply_buf(req, buf, (size_t)res);
	free(buf);
}

static void vfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	(void)fi;
	disk_delay(write_delay_us);
	int ferr = disk_error(FAIL_WRITE);
	if (ferr) {
		fuse_reply_err(req, ferr);
		return;
	}
	struct node *n = node_of(ino);
	pthread_mutex_lock(&n->mu);
	int res = vn_write(n, buf, size, off);
	pthread_mutex_unlock(&n->mu);
	if (res < 0)
		fuse_reply_err(req, -res);
	else
		fuse_reply_write(req, (size_t)res);
}

static void vfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			  struct fuse_file_info *fi)
{
	(void)fi;
	if (mode & ~FALLOC_FL_KEEP_SIZE) {
		fuse_reply_err(req, EOPNOTSUPP); /* punching or zeroing ranges is not modelled */
		return;
	}
	int ferr = disk_error(FAIL_WRITE);
	if (ferr) {
		fuse_reply_err(req, ferr);
		return;
	}
	struct node *n = node_of(ino);
	pthread_mutex_lock(&n->mu);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > n->size)
		vn_truncate(n, off + len);
	pthread_mutex_unlock(&n->mu);
	fuse_reply_err(req, 0);
}

static void vfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	disk_delay(fsync_delay_us);
	if (disk_eio & FAIL_FSYNC) {
		fuse_reply_err(req, EIO); /* the dirty pages stay: a later fsync may write them */
		return;
	}
	if (lying_fsync) {
		fuse_reply_err(req, 0); /* success, and nothing written: the lying disk */
		return;
	}
	struct node *n = node_of(ino);
	size_t bytes = 0;
	pthread_mutex_lock(&n->mu);
	int res = vn_sync(n, &bytes);
	pthread_mutex_unlock(&n->mu);
	fuse_reply_err(req, -res);
}

static void vfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0); /* close() is not a sync */
}

static void vfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	node_unpin(node_of(ino));
	fuse_reply_err(req, 0);
}

static void vfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *dh = calloc(1, sizeof(*dh));
	int fd = dh ? openat(node_of(ino)->pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0 && !(dh->dir = fdopendir(fd)))
		close(fd);
	if (!dh || !dh->dir) {
		int err = dh ? errno : ENOMEM;
		free(dh);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)dh;
	fuse_reply_open(req, fi);
}

static void vfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	(void)ino;
	struct dir_handle *dh = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != dh->offset) {
		seekdir(dh->dir, off);
		dh->entry = NULL;
		dh->offset = off;
	}
	size_t used = 0;
	int err = 0;
	for (;;) {
		if (!dh->entry) {
			errno = 0;
			dh->entry = readdir(dh->dir);
			if (!dh->entry) {
				err = errno;
				break;
			}
		}
		struct stat st = {.st_ino = dh->entry->d_ino, .st_mode = (mode_t)DTTOIF(dh->entry->d_type)};
		size_t len = fuse_add_direntry(req, buf + used, size - used, dh->entry->d_name, &st,
					       dh->entry->d_off);
		if (len > size - used)
			break; /* full: this entry goes first in the next reply */
		used += len;
		dh->offset = dh->entry->d_off;
		dh->entry = NULL;
	}
	if (err && !used)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void vfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct dir_handle *dh = (struct dir_handle *)(uintptr_t)fi->fh;
	closedir(dh->dir);
	free(dh);
	fuse_reply_err(req, 0);
}

static void vfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0); /* namespace changes are durable as soon as they are made */
}

static void vfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs st;
	if (fstatvfs(statfs_fd, &st) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &st);
}

static void *flush_on_signal(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1)
			flush_all("SIGUSR1");
		else if (sig == SIGUSR2)
			control_load();
	}
	return NULL;
}

/* The lying disk's own cache writes back what has been dirty for WRITEBACK seconds, as a disk's
 * volatile cache does: a power cut loses the last seconds, not everything since the mount. */
static void *write_back(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(1);
		flush_older("lying disk writes back its cache", writeback_seconds);
	}
	return NULL;
}

static void vfs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* We are the only writer, so cached pages never go stale behind the kernel's back;
	 * with auto_inval_data a changed mtime in getattr would drop the whole page cache. */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE; /* every write() comes to us at once */
	conn->max_write = 1u << 20;
	pthread_t thread;
	if (pthread_create(&thread, NULL, flush_on_signal, NULL) == 0)
		pthread_detach(thread);
	else
		say("no SIGUSR1 flush thread: %s", strerror(errno));
	if (lying_fsync && pthread_create(&thread, NULL, write_back, NULL) == 0)
		pthread_detach(thread);
	say("mounted over backing directory %s: unsynced writes live in memory until fsync",
	    backing_path);
}

static void vfs_destroy(void *userdata)
{
	(void)userdata;
	final_flush_err = flush_all("unmount");
}

static const struct fuse_lowlevel_ops vfs_ops = {
	.init = vfs_init,
	.destroy = vfs_destroy,
	.lookup = vfs_lookup,
	.forget = vfs_forget,
	.forget_multi = vfs_forget_multi,
	.getattr = vfs_getattr,
	.setattr = vfs_setattr,
	.readlink = vfs_readlink,
	.mknod = vfs_mknod,
	.mkdir = vfs_mkdir,
	.symlink = vfs_symlink,
	.link = vfs_link,
	.unlink = vfs_unlink,
	.rmdir = vfs_rmdir,
	.rename = vfs_rename,
	.open = vfs_open,
	.create = vfs_create,
	.read = vfs_read,
	.write = vfs_write,
	.fallocate = vfs_fallocate,
	.fsync = vfs_fsync,
	.flush = vfs_flush,
	.release = vfs_release,
	.opendir = vfs_opendir,
	.readdir = vfs_readdir,
	.releasedir = vfs_releasedir,
	.fsyncdir = vfs_fsyncdir,
	.statfs = vfs_statfs,
};

/* ------------------------------------------------------------------ main */

static int take_backing_dir(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	(void)data;
	(void)outargs;
	if (key == FUSE_OPT_KEY_NONOPT && !backing_path) {
		backing_path = strdup(arg);
		return 0; /* consumed: the next non-option is the mount point, for libfuse */
	}
	return 1;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	if (fuse_opt_parse(&args, NULL, NULL, take_backing_dir) < 0 ||
	    fuse_parse_cmdline(&args, &opts) != 0)
		return 2;
	if (opts.show_help || !backing_path || !opts.mountpoint) {
		printf("usage: %s [-f] [-d] [-s] [-o options] BACKING_DIR MOUNTPOINT\n"
		       "  SIGUSR1: write all unsynced data to BACKING_DIR and stay mounted\n"
		       "  SIGUSR2: re-read the disk faults in $VOLATILEFS_CONTROL\n"
		       "  SIGTERM, SIGINT, unmount: write all unsynced data, then exit\n"
		       "  SIGKILL: unsynced data is lost (a power cut)\n",
		       argv[0]);
		fuse_lowlevel_help();
		return opts.show_help ? 0 : 2;
	}
	root.pfd = open(backing_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	statfs_fd = open(backing_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (root.pfd < 0 || statfs_fd < 0 || fstat(root.pfd, &st) < 0) {
		say("cannot open backing directory %s: %s", backing_path, strerror(errno));
		return 1;
	}
	root.dev = st.st_dev;
	root.ino = st.st_ino;
	root.type = S_IFDIR;
	root.fd = -1;
	root.nlookup = 1;
	pthread_mutex_init(&root.mu, NULL);

	/* Every known inode keeps a descriptor open (like libfuse's passthrough_ll). */
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	umask(0); /* the kernel already applied the caller's umask to every mode we get */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* only the flush thread takes SIGUSR1 and SIGUSR2 */
	control_path = getenv("VOLATILEFS_CONTROL");
	lying_fsync = getenv("VOLATILEFS_LYING_FSYNC") && strcmp(getenv("VOLATILEFS_LYING_FSYNC"), "1") == 0;
	if (getenv("VOLATILEFS_WRITEBACK_SECONDS") && atoi(getenv("VOLATILEFS_WRITEBACK_SECONDS")) > 0)
		writeback_seconds = atoi(getenv("VOLATILEFS_WRITEBACK_SECONDS"));
	if (control_path || lying_fsync)
		control_load();

	fuse_opt_add_arg(&args, geteuid() == 0
		? "-odefault_permissions,fsname=volatilefs,subtype=volatilefs,allow_other"
		: "-odefault_permissions,fsname=volatilefs,subtype=volatilefs");
	int res = -1;
	struct fuse_session *se = fuse_session_new(&args, &vfs_ops, sizeof(vfs_ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts.foreground);
	if (opts.singlethread) {
		res = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, (unsigned)opts.clone_fd);
		fuse_loop_cfg_set_max_threads(cfg, opts.max_threads);
		if (opts.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(cfg, opts.max_idle_threads);
		res = fuse_session_loop_mt(se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	fuse_session_unmount(se); /* then fuse_session_destroy calls vfs_destroy: write all */
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	/* The loop returns 0, -errno, or the signal (SIGTERM...) that ended it. */
	int status = res < 0 || final_flush_err ? 1 : 0;
	say("exit %d", status);
	return status;
}
