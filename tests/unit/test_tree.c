/* Unit tests of tree.c, the one walker, and of pyc_tree_links(). */
#include "unit.h"
#include "scratch.h"
#include "internal.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>


static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	assert_int_equal(pyc__mkdir_p(at(p, rel), 0755), 0);
}

static void put(const char *rel)
{
	char p[PATH_MAX];
	FILE *f = fopen(at(p, rel), "w");

	assert_non_null(f);
	fputs(rel, f);
	assert_int_equal(fclose(f), 0);
}

static void link_to(const char *target_rel, const char *rel)
{
	char t[PATH_MAX], p[PATH_MAX];

	assert_int_equal(symlink(at(t, target_rel), at(p, rel)), 0);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	return lstat(at(p, rel), &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	return scratch_make("tree", 0);
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

/* What a walk saw: "F rel" for files, "E rel" for entries, "X rel errno"
 * for errors, "D rel" for removed directories, one string. */
struct log {
	struct pyc__tree tree;
	char text[8192];
	size_t len;
	bool remove;              /* file: unlinkat it */
	void (*hook)(struct log *l, const char *rel, const struct stat *st);
};

static void note(struct log *l, char kind, const char *path, int errnum)
{
	const char *rel = path + strlen(base) + (path[strlen(base)] == '/');
	int n = errnum ? snprintf(l->text + l->len, sizeof(l->text) - l->len,
				  "%c %s %d\n", kind, rel, errnum)
		       : snprintf(l->text + l->len, sizeof(l->text) - l->len,
				  "%c %s\n", kind, rel);

	assert_true(n > 0 && (size_t)n < sizeof(l->text) - l->len);
	l->len += (size_t)n;
}

static void on_file(struct pyc__tree *t, int dfd, const char *name,
		    const char *path, const struct stat *st)
{
	struct log *l = pyc__container_of(t, struct log, tree);

	(void)st;
	note(l, 'F', path, 0);
	if (l->remove) {
		assert_int_equal(unlinkat(dfd, name, 0), 0);
		pyc__tree_removed(t);
	}
}

static void on_entry(struct pyc__tree *t, const char *path,
		     const struct stat *st)
{
	struct log *l = pyc__container_of(t, struct log, tree);

	if (S_ISLNK(st->st_mode))
		note(l, 'L', path, 0);
	if (l->hook)
		l->hook(l, path + strlen(base) + 1, st);
}

static void on_error(struct pyc__tree *t, const char *path, int errnum)
{
	note(pyc__container_of(t, struct log, tree), 'X', path, errnum);
}

static void on_dir_gone(struct pyc__tree *t, const char *path)
{
	note(pyc__container_of(t, struct log, tree), 'D', path, 0);
}

static const struct pyc__tree_ops ops = {
	.file = on_file, .entry = on_entry, .error = on_error,
	.dir_gone = on_dir_gone,
};

static void walk(struct log *l, const char *rel, unsigned flags)
{
	char p[PATH_MAX];

	pyc__tree_init(&l->tree, &ops, flags);
	assert_int_equal(pyc__tree_walk(&l->tree, at(p, rel)), 0);
}

/* Files and entries in sorted order; symlinks seen, never followed,
 * whether they name a directory or a file. */
static void test_walk_never_follows_links(void **state)
{
	struct log l = { 0 };

	(void)state;
	mkdirs("t/b");
	mkdirs("t/a");
	mkdirs("out/deep");
	put("t/b/2");
	put("t/b/1");
	put("t/a/x");
	put("out/deep/secret");
	put("out/file");
	link_to("out", "t/a/dirlink");
	link_to("out/file", "t/filelink");
	link_to("t", "t/b/loop");
	walk(&l, "t", 0);
	assert_string_equal(l.text, "L t/a/dirlink\n"
				    "F t/a/x\n"
				    "F t/b/1\n"
				    "F t/b/2\n"
				    "L t/b/loop\n"
				    "L t/filelink\n");
	pyc__tree_release(&l.tree);
}

static void test_root_that_cannot_be_opened_is_reported(void **state)
{
	struct log l = { 0 };

	(void)state;
	walk(&l, "missing", 0);
	char want[64];
	snprintf(want, sizeof(want), "X missing %d\n", ENOENT);
	assert_string_equal(l.text, want);
	pyc__tree_release(&l.tree);
}

/* Removals in the examined directory; emptied directories go as walked,
 * the root stays; a dry run reports the same and removes nothing. */
static void test_removal_and_emptied_directories(void **state)
{
	struct log dry = { .remove = false }, real = { .remove = true };

	(void)state;
	mkdirs("t/a/b");
	mkdirs("t/c");
	put("t/a/b/f");
	put("t/a/g");
	put("t/c/h");
	walk(&real, "t", PYC__TREE_RMDIR);
	assert_string_equal(real.text, "F t/a/b/f\n"
				       "D t/a/b\n"
				       "F t/a/g\n"
				       "D t/a\n"
				       "F t/c/h\n"
				       "D t/c\n");
	assert_false(exists("t/a"));
	assert_false(exists("t/c"));
	assert_true(exists("t"));
	pyc__tree_release(&real.tree);

	/* The dry run counts a file as gone only when told so. */
	mkdirs("u/a");
	put("u/a/f");
	walk(&dry, "u", PYC__TREE_RMDIR | PYC__TREE_DRY_RUN);
	assert_string_equal(dry.text, "F u/a/f\n");
	assert_true(exists("u/a/f"));
	pyc__tree_release(&dry.tree);
}

/* Only __pycache__ folders go with PYC__TREE_RMDIR_PYCACHE. */
static void test_only_pycache_emptied(void **state)
{
	struct log l = { .remove = true };

	(void)state;
	mkdirs("t/pkg/__pycache__");
	put("t/pkg/__pycache__/m.pyc");
	walk(&l, "t", PYC__TREE_RMDIR_PYCACHE);
	assert_string_equal(l.text, "F t/pkg/__pycache__/m.pyc\n"
				    "D t/pkg/__pycache__\n");
	assert_true(exists("t/pkg"));
	pyc__tree_release(&l.tree);
}

/* Between the look at "b" (a directory) and its opening, b becomes a
 * symlink to where it went: the walk does not enter it, and says why. */
static void swap_b(struct log *l, const char *rel, const struct stat *st)
{
	char from[PATH_MAX], to[PATH_MAX];

	(void)l;
	if (strcmp(rel, "t/b") != 0 || !S_ISDIR(st->st_mode))
		return;
	assert_int_equal(rename(at(from, "t/b"), at(to, "moved")), 0);
	link_to("moved", "t/b");
}

static void test_directory_replaced_by_a_link_mid_walk(void **state)
{
	struct log l = { .remove = true, .hook = swap_b };
	char want[128];

	(void)state;
	mkdirs("t/b");
	put("t/b/precious");
	put("t/c");
	walk(&l, "t", PYC__TREE_RMDIR);
	/* O_NOFOLLOW | O_DIRECTORY on a symlink: ENOTDIR (Linux) or ELOOP */
	snprintf(want, sizeof(want), "X t/b %d\nF t/c\n", ENOTDIR);
	if (strcmp(l.text, want) != 0)
		snprintf(want, sizeof(want), "X t/b %d\nF t/c\n", ELOOP);
	assert_string_equal(l.text, want);
	assert_true(exists("moved/precious"));
	pyc__tree_release(&l.tree);
}

static bool skip_c(struct pyc__tree *t, const char *name)
{
	(void)t;
	return strcmp(name, "c") != 0;
}

static void test_descend_decides(void **state)
{
	static const struct pyc__tree_ops some = { .file = on_file,
						   .descend = skip_c };
	struct log l = { 0 };
	char p[PATH_MAX];

	(void)state;
	mkdirs("t/b");
	mkdirs("t/c");
	put("t/b/f");
	put("t/c/f");
	pyc__tree_init(&l.tree, &some, 0);
	assert_int_equal(pyc__tree_walk(&l.tree, at(p, "t")), 0);
	assert_string_equal(l.text, "F t/b/f\n");
	pyc__tree_release(&l.tree);
}

/* After the walk a node is reached again through the no-follow chain,
 * and only while each directory on it is the one walked. */
static void test_open_node_again(void **state)
{
	struct log l = { 0 };
	char a[PATH_MAX], b[PATH_MAX];
	size_t deep = PYC__NO_NODE;
	struct stat st;
	int fd;

	(void)state;
	mkdirs("t/a/b");
	put("t/a/b/f");
	walk(&l, "t", PYC__TREE_DEFER);
	for (size_t k = 0; k < l.tree.nnodes; k++)
		if (l.tree.nodes[k].name && !strcmp(l.tree.nodes[k].name, "b"))
			deep = k;
	assert_true(deep != PYC__NO_NODE);
	assert_true((fd = pyc__tree_open_node(&l.tree, deep)) >= 0);
	assert_int_equal(fstatat(fd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	close(fd);
	/* t/a swapped for a symlink to it: refused */
	assert_int_equal(rename(at(a, "t/a"), at(b, "a2")), 0);
	link_to("a2", "t/a");
	assert_int_equal(pyc__tree_open_node(&l.tree, deep), -1);
	assert_true(errno == ENOTDIR || errno == ELOOP);
	/* t/a another directory: refused */
	assert_int_equal(unlink(at(a, "t/a")), 0);
	mkdirs("t/a/b");
	assert_int_equal(pyc__tree_open_node(&l.tree, deep), -1);
	assert_int_equal(errno, ESTALE);
	pyc__tree_release(&l.tree);
}

/* Deferred: emptied directories go at the end, in their parent, and
 * only if still the directory walked. */
static void test_deferred_removal(void **state)
{
	struct log l = { .remove = true };
	char a[PATH_MAX], b[PATH_MAX];

	(void)state;
	mkdirs("t/a/b");
	mkdirs("t/c");
	put("t/a/b/f");
	put("t/c/g");
	walk(&l, "t", PYC__TREE_RMDIR | PYC__TREE_DEFER);
	assert_true(exists("t/a/b"));
	/* c is replaced by another (empty) directory before the end */
	assert_int_equal(rename(at(a, "t/c"), at(b, "c-old")), 0);
	mkdirs("t/c");
	pyc__tree_finish(&l.tree);
	assert_string_equal(l.text, "F t/a/b/f\n"
				    "F t/c/g\n"
				    "D t/a/b\n"
				    "D t/a\n");
	assert_false(exists("t/a"));
	assert_true(exists("t/c"));
	pyc__tree_release(&l.tree);
}

static void test_unlink_same(void **state)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct stat was;
	int dfd;

	(void)state;
	mkdirs("d");
	put("d/f");
	assert_true((dfd = open(at(p, "d"), O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(stat(at(p, "d/f"), &was), 0);
	/* a dry run only checks */
	assert_int_equal(pyc__unlink_same(dfd, "f", &was, true), 0);
	assert_true(exists("d/f"));
	/* grown since: left */
	FILE *f = fopen(p, "a");
	fputs("more", f);
	fclose(f);
	assert_int_equal(pyc__unlink_same(dfd, "f", &was, false), 1);
	assert_true(exists("d/f"));
	/* replaced by another file: left */
	assert_int_equal(stat(p, &was), 0);
	put("d/g");
	assert_int_equal(rename(at(q, "d/g"), p), 0);
	assert_int_equal(pyc__unlink_same(dfd, "f", &was, false), 1);
	/* the same file: removed */
	assert_int_equal(stat(p, &was), 0);
	assert_int_equal(pyc__unlink_same(dfd, "f", &was, false), 0);
	assert_false(exists("d/f"));
	assert_int_equal(pyc__unlink_same(dfd, "f", &was, false), -1);
	assert_int_equal(errno, ENOENT);
	/* a symlink to it is not it */
	put("d/h");
	assert_int_equal(stat(at(p, "d/h"), &was), 0);
	link_to("d/h", "d/l");
	assert_int_equal(pyc__unlink_same(dfd, "l", &was, false), 1);
	assert_true(exists("d/l"));
	close(dfd);
}

/* ---- pyc_tree_links ---- */

struct found {
	size_t n;
	char text[1024];
	size_t len;
};

static void on_link(const char *path, void *arg)
{
	struct found *f = arg;
	const char *rel = path + strlen(base) + 1;
	int n = snprintf(f->text + f->len, sizeof(f->text) - f->len, "%s\n",
			 rel);

	assert_true(n > 0 && (size_t)n < sizeof(f->text) - f->len);
	f->len += (size_t)n;
	f->n++;
}

static void test_links_back_into_the_tree(void **state)
{
	struct found f = { 0 };
	char p[PATH_MAX];

	(void)state;
	mkdirs("t/pkg/sub");
	mkdirs("out");
	put("t/pkg/m.py");
	put("t/pkg/data.txt");
	put("out/o.py");
	link_to("t/pkg", "t/again");          /* a directory inside: yes */
	link_to("t/pkg/m.py", "t/pkg/sub/m2.py"); /* a source inside: yes */
	link_to("t/pkg/data.txt", "t/d.txt"); /* not a source: no */
	link_to("out", "t/outdir");           /* outside: no */
	link_to("out/o.py", "t/o.py");        /* outside: no */
	link_to("t/nothing", "t/dangling.py");/* dangling: no */
	assert_int_equal(pyc_tree_links(at(p, "t"), on_link, &f), 0);
	assert_string_equal(f.text, "t/again\nt/pkg/sub/m2.py\n");
	errno = 0;
	assert_int_equal(pyc_tree_links(at(p, "gone"), on_link, &f), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_walk_never_follows_links),
		T(test_root_that_cannot_be_opened_is_reported),
		T(test_removal_and_emptied_directories),
		T(test_only_pycache_emptied),
		T(test_directory_replaced_by_a_link_mid_walk),
		T(test_descend_decides),
		T(test_open_node_again),
		T(test_deferred_removal),
		T(test_unlink_same),
		T(test_links_back_into_the_tree),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
