/*
 * Unit tests of fileio.c: opening pycs without recording an access,
 * reading whole files (also those whose size stat() does not tell),
 * reading in full from a pipe, and mkdir -p.
 */
#include "unit.h"
#include "scratch.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>


static int setup(void **state)
{
	(void)state;
	return scratch_make("fileio", 0755);
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static void put(const char *rel, const void *data, size_t len)
{
	char p[PATH_MAX];
	FILE *f = fopen(at(p, rel), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Set the access time of base/rel a day before its modification time:
 * under relatime (or strictatime) the next plain read updates it. */
static void age_atime(const char *path)
{
	struct stat st;
	struct timespec ts[2];

	assert_int_equal(stat(path, &st), 0);
	ts[0] = PYC_ST_MTIM(&st);
	ts[0].tv_sec -= 86400;
	ts[1] = PYC_ST_MTIM(&st);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int64_t atime_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (int64_t)st.st_atime;
}

static void read_through(int fd)
{
	char b[16];

	assert_true(fd >= 0);
	assert_true(read(fd, b, sizeof(b)) > 0);
	assert_int_equal(close(fd), 0);
}

/* pyc_open_pyc(): read-only, close-on-exec, and a read through it is
 * no access (prune takes the access time for the last use); a plain
 * read of the same file is one (the control: the file system records
 * accesses at all). */
static void test_open_pyc_leaves_atime(void **state)
{
	char p[PATH_MAX];
	int64_t before;
	int fd;

	(void)state;
	put("m.cpython-312.pyc", "0123456789abcdefcode", 20);
	at(p, "m.cpython-312.pyc");

	age_atime(p);
	before = atime_of(p);
	fd = pyc_open_pyc(p);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(write(fd, "x", 1) < 0);
	read_through(fd);
	assert_int_equal(atime_of(p), before);

	read_through(open(p, O_RDONLY));
	assert_true(atime_of(p) > before);

	errno = 0;
	assert_int_equal(pyc_open_pyc(at(p, "absent.pyc")), -1);
	assert_int_equal(errno, ENOENT);
}

/* Another user's pyc: O_NOATIME is refused (EPERM), and the file is
 * opened all the same. */
static void test_open_pyc_of_another_user(void **state)
{
	char p[PATH_MAX];
	bool root_user = geteuid() == 0;
	int fd;

	(void)state;
	put("m.cpython-312.pyc", "0123456789abcdefcode", 20);
	at(p, "m.cpython-312.pyc");
	assert_int_equal(chmod(p, 0644), 0);
	if (root_user) {
		assert_int_equal(seteuid(65534), 0);
		/* the refusal this is about */
		errno = 0;
		assert_int_equal(open(p, O_RDONLY | O_NOATIME), -1);
		assert_int_equal(errno, EPERM);
	}
	fd = pyc__open_noatime(AT_FDCWD, p, 0);
	if (root_user)
		assert_int_equal(seteuid(0), 0);
	read_through(fd);
}

/* pyc__open_noatime() relative to a directory descriptor, with extra
 * flags (O_NOFOLLOW refuses a symlink). */
static void test_open_noatime_at(void **state)
{
	char p[PATH_MAX];
	int dfd;

	(void)state;
	put("a.pyc", "abc", 3);
	assert_int_equal(symlink("a.pyc", at(p, "l.pyc")), 0);
	assert_true((dfd = open(base, O_RDONLY | O_DIRECTORY)) >= 0);
	read_through(pyc__open_noatime(dfd, "a.pyc", 0));
	read_through(pyc__open_noatime(dfd, "l.pyc", 0));
	errno = 0;
	assert_int_equal(pyc__open_noatime(dfd, "l.pyc", O_NOFOLLOW), -1);
	assert_int_equal(errno, ELOOP);
	close(dfd);
}

/* The whole file, NUL-terminated, with NUL bytes inside; an empty one;
 * one larger than the first guess; one whose stat() size is 0 while it
 * has content (/proc); a missing one (NULL, errno). */
static void test_read_file(void **state)
{
	char p[PATH_MAX], *data;
	struct stat st;
	size_t len = 99;

	(void)state;
	put("nul", "a\0b", 3);
	assert_non_null(data = pyc__read_file(at(p, "nul"), &len));
	assert_int_equal(len, 3);
	assert_memory_equal(data, "a\0b", 4);
	free(data);

	put("empty", "", 0);
	assert_non_null(data = pyc__read_file_stat(at(p, "empty"), &len, &st));
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	assert_int_equal(st.st_size, 0);
	assert_true(S_ISREG(st.st_mode));
	free(data);

	size_t big = 300000;
	char *blob = malloc(big);
	assert_non_null(blob);
	for (size_t i = 0; i < big; i++)
		blob[i] = (char)(i * 7 + 1);
	put("big", blob, big);
	assert_non_null(data = pyc__read_file_stat(at(p, "big"), &len, &st));
	assert_int_equal(len, big);
	assert_int_equal(st.st_size, big);
	assert_memory_equal(data, blob, big);
	assert_int_equal(data[big], '\0');
	free(data);
	free(blob);

	/* stat() says 0; the content is longer than the first 4096 bytes
	 * the reader tries. */
	assert_non_null(data = pyc__read_file("/proc/self/maps", &len));
	assert_true(len > 0);
	assert_int_equal(strlen(data), len);
	assert_non_null(strstr(data, "test_fileio"));
	free(data);

	errno = 0;
	assert_null(pyc__read_file(at(p, "absent"), &len));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	/* Only regular files are read (a FIFO would block): a directory
	 * is refused as one. */
	assert_null(pyc__read_file(base, &len));
	assert_int_equal(errno, PYC_ENOTREG);
}

/* pyc__read_full() reads until `cap` or EOF across short reads. */
struct writer {
	int fd;
	size_t total;
};

static void *write_slowly(void *arg)
{
	struct writer *w = arg;
	char chunk[1000];

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)('a' + i % 26);
	for (size_t done = 0; done < w->total; done += sizeof(chunk)) {
		assert_int_equal(write(w->fd, chunk, sizeof(chunk)),
				 (ssize_t)sizeof(chunk));
		usleep(1000);
	}
	close(w->fd);
	return NULL;
}

static void test_read_full(void **state)
{
	int fds[2];
	pthread_t th;
	struct writer w = { .total = 10000 };
	char buf[20000];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	w.fd = fds[1];
	assert_int_equal(pthread_create(&th, NULL, write_slowly, &w), 0);
	/* More than the pipe gets in one write: several reads. */
	assert_int_equal(pyc__read_full(fds[0], buf, 5500), 5500);
	assert_int_equal(buf[5499], (char)('a' + 499 % 26));
	/* Up to EOF: what is left. */
	assert_int_equal(pyc__read_full(fds[0], buf, sizeof(buf)), 4500);
	assert_int_equal(pyc__read_full(fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(fds[0]);
	errno = 0;
	assert_int_equal(pyc__read_full(fds[0], buf, 1), -1);
	assert_int_equal(errno, EBADF);
}

/* mkdir -p: every missing component, existing ones accepted, mode
 * applied (under the umask); a file on the way is ENOTDIR. */
static void test_mkdir_p(void **state)
{
	char p[PATH_MAX];
	struct stat st;
	mode_t old = umask(022);

	(void)state;
	assert_int_equal(pyc__mkdir_p(at(p, "a/b/c"), 0777), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(pyc__mkdir_p(at(p, "a/b/c"), 0700), 0);
	assert_int_equal(pyc__mkdir_p(at(p, "a/b/d/"), 0700), 0);
	assert_int_equal(stat(at(p, "a/b/d"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	put("a/file", "x", 1);
	errno = 0;
	assert_int_equal(pyc__mkdir_p(at(p, "a/file/sub"), 0755), -1);
	assert_int_equal(errno, ENOTDIR);
	umask(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_pyc_leaves_atime,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_pyc_of_another_user,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_noatime_at, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
