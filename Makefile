# pycprefix - build, test, install.
#
#   make                 build/pycprefix and build/libpycprefix.a (and the
#                        man pages, build/man/*.1, when scdoc is installed)
#   make man             the man pages from doc/*.scd (needs scdoc)
#   make check           every test suite (installs test deps on Debian, see tests/deps.sh)
#   make check-sanitize  the same suites against an ASan+UBSan build
#   make bench           benchmarks against python -m compileall
#   make install         PREFIX=/usr/local DESTDIR= (make uninstall undoes it)
#   make dist            pycprefix-VERSION.tar.gz of the tracked files
#   make distcheck       that tarball's own make && make check pass

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR  ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR  ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR   ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR  ?= $(DATADIR)/fish/vendor_completions.d
BUILD   ?= build
# The Python that runs pytest: Debian's, where apt installs pytest.
TEST_PY ?= /usr/bin/python3

WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
CSTD    = -std=c11 -D_GNU_SOURCE
CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) -Isrc/lib -Itests/unit -MMD -MP
# strcpy, sprintf and friends are compile errors in src/ (git's banned.h).
BANNED  = -include src/lib/banned.h
LDLIBS  += -lcrypto -lm -lpthread
# The command line's -x patterns (Python's re syntax): PCRE2 (Debian
# libpcre2-dev); the library does not use it.
CLI_LIBS = -lpcre2-8

LIB_SRC = $(wildcard src/lib/*.c)
CLI_SRC = $(wildcard src/cli/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# The version's one source of truth is the public header.
VERSION := $(shell sed -n 's/^\#define PYC_VERSION_STRING "\(.*\)"$$/\1/p' src/lib/pycprefix.h)
# The shared library's ABI version (its soname), bumped on an
# incompatible change of the public API, whatever the release number.
SOVERSION = 0
SONAME  = libpycprefix.so.$(SOVERSION)
SHLIB   = libpycprefix.so.$(VERSION)

# The man pages: doc/NAME.1.scd -> build/man/NAME.1 with scdoc, then
# doc/tidy.awk (drops the empty paragraphs mandoc -Tlint reports).  `make`
# builds them when scdoc is installed and skips them when it is not (the
# README's first command needs only a compiler); `make man` and `make
# check` need it.
SCDOC   ?= scdoc
MAN_SRC  = $(wildcard doc/*.scd)
MAN_PAGES = $(MAN_SRC:doc/%.scd=$(BUILD)/man/%)
HAVE_SCDOC := $(shell command -v $(SCDOC) 2>/dev/null)

all: $(BUILD)/pycprefix $(BUILD)/libpycprefix.a $(BUILD)/$(SHLIB) $(if $(HAVE_SCDOC),man)

man: $(MAN_PAGES)

# Without scdoc, one message saying so, before any page (an order-only
# prerequisite of them all: once, whatever -j), rather than the shell's
# "not found" per page; make install stops there, having installed nothing.
scdoc-check:
	@$(if $(HAVE_SCDOC),:,echo "Makefile: the man pages need scdoc, and \
	'$(SCDOC)' is not found: install it (Debian: apt-get install scdoc), \
	or name it with SCDOC=PATH" >&2; exit 1)

$(BUILD)/man/%: doc/%.scd doc/tidy.awk | scdoc-check
	@mkdir -p $(dir $@)
	@rm -f $@.roff $@.tmp
	$(SCDOC) < $< > $@.roff && awk -f doc/tidy.awk $@.roff > $@.tmp && \
		mv $@.tmp $@ || { rm -f $@.roff $@.tmp; exit 1; }
	@rm -f $@.roff

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(BANNED) -c -o $@ $<

# The library exports only what pycprefix.h marks PYC_API (for a shared
# build; tests/tools/exports.sh checks it).  Position-independent, for
# libpycprefix.so; the static library and the binary share the objects.
$(LIB_OBJ): ALL_CFLAGS += -fvisibility=hidden -fPIC

$(BUILD)/libpycprefix.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/$(SHLIB): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/pycprefix: $(CLI_OBJ) $(BUILD)/libpycprefix.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libpycprefix.a $(LDLIBS) $(CLI_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpycprefix.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libpycprefix.a $(LDLIBS) -lcmocka

# The CLI's pure helpers have a unit test too, linked with their object.
$(BUILD)/tests/test_output: tests/unit/test_output.c $(BUILD)/src/cli/output.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/test_json: tests/unit/test_json.c $(BUILD)/src/cli/json.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Saved fuzz inputs replayed as regression tests (fuzz/replay.c).
FUZZ_TARGETS = header paths proto memo
REPLAY_BIN = $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz_%)

$(BUILD)/tests/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c $(BUILD)/libpycprefix.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< fuzz/replay.c $(BUILD)/libpycprefix.a $(LDLIBS)

$(BUILD)/tests/libcheck: tests/tools/libcheck.c $(BUILD)/libpycprefix.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libpycprefix.a $(LDLIBS)

unit: $(UNIT_BIN) $(BUILD)/tests/libcheck $(REPLAY_BIN) $(BUILD)/$(SHLIB)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done
	@sh tests/tools/exports.sh $(BUILD)/tests/exports.o src/lib/pycprefix.h \
		$(LIB_OBJ)
	@sh tests/tools/exports.sh $(BUILD)/tests/exports-so src/lib/pycprefix.h \
		$(BUILD)/$(SHLIB)
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(BUILD)/tests/fuzz_$$t fuzz/seeds/$$t/*; done

# The README's test command.  tests/deps.sh installs cmocka, pytest and
# hypothesis through apt-get when they are missing (CI runs on a fresh
# Debian); then the unit tests, and the pytest suites against every
# CPython >= 3.8 found, with the normal build and, under CI or
# SANITIZE=1, again with ASan+UBSan and TSan; under CI, last, make
# distcheck (about 5 minutes: the release tarball's own make check).
check:
	@sh tests/deps.sh
	$(MAKE) all man unit
	PYCPREFIX_BUILD=$(abspath $(BUILD)) $(TEST_PY) -m pytest -q tests
	@if [ -n "$$CI" ] || [ -n "$$SANITIZE" ]; then \
		$(MAKE) check-sanitize && $(MAKE) check-tsan; fi
	@if [ -n "$$CI" ]; then $(MAKE) distcheck; fi

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all

check-sanitize:
	$(MAKE) BUILD=build/san CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" all unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	PYCPREFIX_BUILD=$(abspath build/san) $(TEST_PY) -m pytest -q tests

# The same suites against a ThreadSanitizer build (clang): the stat and
# freshness passes run on helper threads (src/lib/parallel.c).
TSAN_FLAGS = -O1 -g -fsanitize=thread -fno-omit-frame-pointer

check-tsan:
	@sh tests/deps.sh clang
	$(MAKE) BUILD=build/tsan CC=clang CFLAGS="$(TSAN_FLAGS)" LDFLAGS="$(TSAN_FLAGS)" all unit
	TSAN_OPTIONS=halt_on_error=1 \
	PYCPREFIX_BUILD=$(abspath build/tsan) $(TEST_PY) -m pytest -q tests

# The same suites under valgrind memcheck: build/vg holds wrappers that
# run the normal binaries under valgrind, one log per process, named by
# its pid and the time (a pid comes back in a long run, and a later
# process of another user could not reuse the log of an earlier one: the
# logs folder is 1777, some tests run the tool as nobody); any error or
# leak in any log fails the target.
VALGRIND = $(shell command -v valgrind)
VG_FLAGS = --quiet --error-exitcode=99 --leak-check=full \
           --show-leak-kinds=definite,indirect \
           --errors-for-leak-kinds=definite,indirect --track-fds=no

check-valgrind: all unit
	@rm -rf build/vg && mkdir -p build/vg/tests build/vg/logs && chmod 1777 build/vg/logs
	@for b in pycprefix tests/libcheck; do \
		printf '#!/bin/sh\nexec $(VALGRIND) $(VG_FLAGS) --log-file=%s/logs/$$$$-$$(date +%%s%%N).log %s "$$@"\n' \
			"$(abspath build/vg)" "$(abspath $(BUILD))/$$b" > build/vg/$$b; \
		chmod +x build/vg/$$b; done
	@set -e; for t in $(UNIT_BIN); do \
		valgrind $(VG_FLAGS) $$t >/dev/null 2>build/vg/unit.log || \
		{ cat build/vg/unit.log; exit 1; }; done; \
	for t in $(FUZZ_TARGETS); do \
		valgrind $(VG_FLAGS) $(BUILD)/tests/fuzz_$$t fuzz/seeds/$$t/* \
			>/dev/null 2>build/vg/unit.log || \
		{ cat build/vg/unit.log; exit 1; }; done
	@echo "valgrind: unit tests and fuzz replays clean"
	PYCPREFIX_BUILD=$(abspath build/vg) $(TEST_PY) -m pytest -q $(VG_PYTEST_ARGS) tests
	@bad=$$(find build/vg/logs -type f -size +0); \
	if [ -n "$$bad" ]; then cat $$bad; echo "valgrind found errors"; exit 1; fi
	@echo "valgrind: no error, no leak in $$(ls build/vg/logs | wc -l) logs"

# Benchmarks against python -m compileall: ratios measured side by side.
bench: all
	$(TEST_PY) bench/run.py $(BENCH_ARGS)

# libFuzzer targets (clang): each runs FUZZ_SECONDS from fuzz/seeds plus
# what earlier runs found (fuzz/corpus, not committed).  An input that
# crashes is written to fuzz/seeds/TARGET/ (crash-*) and the run fails:
# fix the bug and commit the input, which `make unit` then replays.
FUZZ_SECONDS ?= 30
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Isrc/lib \
             $(BANNED)

fuzz:
	@sh tests/deps.sh fuzz
	@mkdir -p $(BUILD)/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		clang $(FUZZ_FLAGS) -o $(BUILD)/fuzz/$$t fuzz/fuzz_$$t.c $(LIB_SRC) -lcrypto -lm -lpthread; \
		mkdir -p fuzz/corpus/$$t; \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=fuzz/seeds/$$t/ fuzz/corpus/$$t fuzz/seeds/$$t \
			> $(BUILD)/fuzz/$$t.log 2>&1 || { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' $(BUILD)/fuzz/$$t.log; \
	done

# Completions present in the tree: source and where each shell looks.
COMPLETIONS = completions/pycprefix.bash $(BASHCOMPDIR)/pycprefix \
              completions/_pycprefix $(ZSHCOMPDIR)/_pycprefix \
              completions/pycprefix.fish $(FISHCOMPDIR)/pycprefix.fish

# pycprefix.pc: libdir and includedir relative to ${prefix} where they
# are below it, so that pkg-config --define-prefix can relocate them.
PC_SUBST = -e 's|@PREFIX@|$(PREFIX)|' \
           -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
           -e 's|@INCDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCDIR))|' \
           -e 's|@VERSION@|$(VERSION)|'

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) \
		$(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(BUILD)/pycprefix $(DESTDIR)$(BINDIR)/pycprefix
	install -m 644 $(BUILD)/libpycprefix.a $(DESTDIR)$(LIBDIR)/libpycprefix.a
	install -m 644 $(BUILD)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SHLIB)
	ln -sf $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpycprefix.so
	install -m 644 src/lib/pycprefix.h $(DESTDIR)$(INCDIR)/pycprefix.h
	sed $(PC_SUBST) pycprefix.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/pycprefix.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/pycprefix.pc
	@set -e; for f in $(MAN_PAGES); do \
		install -d $(DESTDIR)$(MANDIR)/man1; \
		echo "install -m 644 $$f $(DESTDIR)$(MANDIR)/man1/"; \
		install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man1/; done
	@set -e; set -- $(COMPLETIONS); while [ $$# -gt 0 ]; do \
		if [ -f "$$1" ]; then install -d "$(DESTDIR)$$(dirname "$$2")"; \
			echo "install -m 644 $$1 $(DESTDIR)$$2"; \
			install -m 644 "$$1" "$(DESTDIR)$$2"; fi; shift 2; done

# Exactly what install put, whatever else is there (directories stay:
# they may hold other packages' files).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pycprefix $(DESTDIR)$(LIBDIR)/libpycprefix.a \
		$(DESTDIR)$(LIBDIR)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME) \
		$(DESTDIR)$(LIBDIR)/libpycprefix.so $(DESTDIR)$(INCDIR)/pycprefix.h \
		$(DESTDIR)$(PKGCONFIGDIR)/pycprefix.pc
	@set -e; for f in $(notdir $(MAN_PAGES)); do \
		echo "rm -f $(DESTDIR)$(MANDIR)/man1/$$f"; \
		rm -f "$(DESTDIR)$(MANDIR)/man1/$$f"; done
	@set -e; set -- $(COMPLETIONS); while [ $$# -gt 0 ]; do \
		if [ -f "$$1" ]; then echo "rm -f $(DESTDIR)$$2"; \
			rm -f "$(DESTDIR)$$2"; fi; shift 2; done

# The release tarball: the tracked files (tools/dist.sh), reproducible.
DIST    = pycprefix-$(VERSION)
DISTDIR ?= .

dist:
	sh tools/dist.sh $(DIST) $(DISTDIR)/$(DIST).tar.gz

# The tarball's own `make && make check`, in a scratch directory, with
# CI and SANITIZE unset: the normal build only, no recursion.  (Two
# commands under set -e, not `make && make check`: set -e lets a failure
# on the left of && go.)
distcheck: dist
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	tar -xzf $(DISTDIR)/$(DIST).tar.gz -C "$$tmp"; \
	cd "$$tmp/$(DIST)"; \
	env -u CI -u SANITIZE $(MAKE); env -u CI -u SANITIZE $(MAKE) check; \
	echo "distcheck: $(DIST).tar.gz builds and passes make check"

clean:
	rm -rf $(BUILD)

.PHONY: all unit check check-sanitize check-tsan check-valgrind bench fuzz \
	man scdoc-check install uninstall dist distcheck clean

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
