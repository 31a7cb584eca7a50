/*
 * spawn_check.h - catch a descriptor the library leaves inheritable.
 *
 * Included by one test file per binary: it defines posix_spawn(), which
 * the library's calls then reach, and before passing the call on counts
 * the descriptors open in this process that are not close-on-exec and
 * were not so when the test began.  Any such descriptor, open in a
 * thread while another spawns, is inherited by that other child (a
 * probe whose write end a concurrent child holds waits for its time-out).
 */
#ifndef PYC_SPAWN_CHECK_H
#define PYC_SPAWN_CHECK_H

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#define SPAWN_CHECK_FDS 1024

static bool inheritable_at_start[SPAWN_CHECK_FDS];
/* Inheritable descriptors seen at a spawn. */
static atomic_int spawn_leaks;

static bool inheritable(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl >= 0 && !(fl & FD_CLOEXEC);
}

/* Call first: what the test process inherited does not count. */
static void spawn_check_start(void)
{
	for (int fd = 3; fd < SPAWN_CHECK_FDS; fd++)
		inheritable_at_start[fd] = inheritable(fd);
	spawn_leaks = 0;
}

int posix_spawn(pid_t *pid, const char *path,
		const posix_spawn_file_actions_t *fa,
		const posix_spawnattr_t *attr, char *const argv[],
		char *const envp[])
{
	typedef int spawn_fn(pid_t *, const char *,
			     const posix_spawn_file_actions_t *,
			     const posix_spawnattr_t *, char *const[],
			     char *const[]);
	spawn_fn *real = (spawn_fn *)dlsym(RTLD_NEXT, "posix_spawn");

	for (int fd = 3; fd < SPAWN_CHECK_FDS; fd++)
		if (!inheritable_at_start[fd] && inheritable(fd))
			spawn_leaks++;
	return real(pid, path, fa, attr, argv, envp);
}

#endif
