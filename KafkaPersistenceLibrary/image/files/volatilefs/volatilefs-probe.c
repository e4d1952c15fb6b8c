/*
 * volatilefs-probe - write and check known bytes, with and without fsync/msync, to see
 * by hand (and in our tests) what survives a power cut of a volatilefs mount.
 *
 *   volatilefs-probe write FILE OFFSET LENGTH SEED [fsync]  pwrite the pattern (O_CREAT)
 *   volatilefs-probe mmap  FILE OFFSET LENGTH SEED [msync|hold]
 *           store the pattern through a shared writable mapping of an existing file;
 *           msync: msync(MS_SYNC) before munmap; hold: keep the dirty mapping, sleep
 *   volatilefs-probe check FILE OFFSET LENGTH SEED          exit 0 iff the bytes match
 *
 * The pattern is a hash of (SEED, absolute offset): a range checks alone, and ranges
 * written with different seeds tell which write survived.
 *
 * Build: gcc -O2 -Wall -o volatilefs-probe volatilefs-probe.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char pattern(uint32_t seed, uint64_t off)
{
	uint64_t h = (off + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)seed * 0xC2B2AE3D27D4EB4Full;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return (unsigned char)(h >> 56);
}

static int fail(const char *what, const char *file)
{
	fprintf(stderr, "volatilefs-probe: %s %s: %s\n", what, file, strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s write|mmap|check FILE OFFSET LENGTH SEED [fsync|msync|hold]\n",
			argv[0]);
		return 2;
	}
	const char *cmd = argv[1], *file = argv[2], *opt = argc > 6 ? argv[6] : "";
	off_t off = strtoll(argv[3], NULL, 0);
	size_t len = strtoull(argv[4], NULL, 0);
	uint32_t seed = (uint32_t)strtoul(argv[5], NULL, 0);
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf)
		return fail("malloc", "");
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(seed, (uint64_t)off + i);

	if (!strcmp(cmd, "write")) {
		int fd = open(file, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			return fail("open", file);
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, buf + done, len - done, off + (off_t)done);
			if (n < 0)
				return fail("pwrite", file);
			done += (size_t)n;
		}
		if (!strcmp(opt, "fsync") && fsync(fd) < 0)
			return fail("fsync", file);
		return close(fd) < 0 ? fail("close", file) : 0;
	}
	if (!strcmp(cmd, "mmap")) {
		int fd = open(file, O_RDWR);
		if (fd < 0)
			return fail("open", file);
		struct stat st;
		if (fstat(fd, &st) < 0)
			return fail("stat", file);
		if (st.st_size < off + (off_t)len) {
			fprintf(stderr, "volatilefs-probe: %s has %lld bytes, the range ends at %lld\n", file,
				(long long)st.st_size, (long long)(off + (off_t)len));
			return 2;
		}
		size_t map_len = (size_t)off + len;
		unsigned char *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return fail("mmap", file);
		close(fd); /* like Kafka's index files: the mapping outlives the descriptor */
		memcpy(map + off, buf, len);
		if (!strcmp(opt, "msync") && msync(map, map_len, MS_SYNC) < 0)
			return fail("msync", file);
		if (!strcmp(opt, "hold")) {
			printf("holding %zu dirty bytes mapped\n", len);
			fflush(stdout);
			for (;;)
				pause();
		}
		return munmap(map, map_len) < 0 ? fail("munmap", file) : 0;
	}
	if (!strcmp(cmd, "check")) {
		int fd = open(file, O_RDONLY);
		if (fd < 0)
			return fail("open", file);
		unsigned char *got = malloc(len ? len : 1);
		if (!got)
			return fail("malloc", "");
		ssize_t n = pread(fd, got, len, off);
		if (n < 0)
			return fail("pread", file);
		if ((size_t)n < len) {
			printf("short: %zd of %zu bytes at %lld\n", n, len, (long long)off);
			return 1;
		}
		for (size_t i = 0; i < len; i++)
			if (got[i] != buf[i]) {
				printf("differs at byte %lld\n", (long long)(off + (off_t)i));
				return 1;
			}
		printf("ok\n");
		return 0;
	}
	fprintf(stderr, "volatilefs-probe: unknown command %s\n", cmd);
	return 2;
}
