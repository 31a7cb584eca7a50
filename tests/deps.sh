#!/bin/sh
# Install what the build and the tests need on Debian, through apt-get,
# when missing: PCRE2 (the build: compile -x), libcrypto (the store's
# SHA-256), cmocka (C unit tests),
# pytest and hypothesis (driven by Debian's python3), zsh, fish and
# bash-completion (the completion tests), scdoc (the man pages: make
# check builds them) and mandoc (their lint); for the packaging
# tests (tests/packaging) python3-build, setuptools and wheel (the
# wheel's build), venv and pip with Debian's wheels of pip, setuptools and
# wheel (offline installs), pipx, pkg-config and git (make dist); the
# recipes' tools (pre-commit, PyYAML);
# with the argument 'build', only what `make` needs (the README's first
# set-up command); with 'fuzz', clang and its libFuzzer runtime too; with
# 'clang', clang and its sanitizer runtimes (make check-tsan).
# Does nothing when all are present; says what to install elsewhere.
set -e
need=""
[ -f /usr/include/pcre2.h ] || need="$need libpcre2-dev"
[ -f /usr/include/openssl/evp.h ] || need="$need libssl-dev"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
if [ "$1" != build ]; then
	[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
	/usr/bin/python3 -c 'import pytest' 2>/dev/null || need="$need python3-pytest"
	/usr/bin/python3 -c 'import hypothesis' 2>/dev/null || need="$need python3-hypothesis"
	# tests/cli/test_completions.py asks the real shells.
	command -v zsh >/dev/null 2>&1 || need="$need zsh"
	command -v fish >/dev/null 2>&1 || need="$need fish"
	[ -f /usr/share/bash-completion/bash_completion ] || need="$need bash-completion"
	command -v scdoc >/dev/null 2>&1 || need="$need scdoc"
	command -v mandoc >/dev/null 2>&1 || need="$need mandoc"
	/usr/bin/python3 -c 'import build' 2>/dev/null || need="$need python3-build"
	/usr/bin/python3 -c 'import setuptools' 2>/dev/null || need="$need python3-setuptools"
	/usr/bin/python3 -c 'import wheel' 2>/dev/null || need="$need python3-wheel"
	/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need="$need python3-venv"
	/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need="$need python3-pip"
	ls /usr/share/python-wheels/pip-*.whl >/dev/null 2>&1 || need="$need python3-pip-whl"
	ls /usr/share/python-wheels/setuptools-*.whl >/dev/null 2>&1 || need="$need python3-setuptools-whl"
	ls /usr/share/python-wheels/wheel-*.whl >/dev/null 2>&1 || need="$need python3-wheel-whl"
	command -v pipx >/dev/null 2>&1 || need="$need pipx"
	command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
	command -v git >/dev/null 2>&1 || need="$need git"
	# tests/recipes: the pre-commit hooks, PyYAML (the CI recipe).
	command -v pre-commit >/dev/null 2>&1 || need="$need pre-commit"
	/usr/bin/python3 -c 'import yaml' 2>/dev/null || need="$need python3-yaml"
fi
# make fuzz: clang with its libFuzzer runtime.
if [ "$1" = fuzz ] || [ "$1" = clang ]; then
	command -v clang >/dev/null 2>&1 || need="$need clang"
	ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
		/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.tsan-x86_64.a \
		>/dev/null 2>&1 || need="$need libclang-rt-dev"
fi
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "tests/deps.sh: please install:$need" >&2
	exit 1
fi
echo "tests/deps.sh: installing$need" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
