"""The compiler refuses git's banned functions in pycprefix's sources
(src/lib/banned.h, included into every object under src/ by the
Makefile)."""
import os
import shlex
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def syntax_check(tmp_path, obj, body):
    """Compile a function made of `body` with the command `make` runs for
    the object `obj` under src/: the completed process."""
    out = subprocess.run(
        ["make", "-n", "-B", "BUILD=" + str(tmp_path), str(tmp_path / obj)],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [l for l in out.splitlines() if " -c " in l]
    assert lines, out
    argv, skip = [], False
    for a in shlex.split(lines[-1]):
        if skip or a == "-o":
            skip = a == "-o"
            continue
        if a not in ("-c", "-MMD", "-MP") and not a.endswith(".c"):
            argv.append(a)
    src = tmp_path / "use.c"
    src.write_text("#include <string.h>\n#include <stdio.h>\n"
                   "void f(char *d, const char *s);\n"
                   "void f(char *d, const char *s) { %s; }\n" % body)
    return subprocess.run(argv + ["-fsyntax-only", str(src)], cwd=ROOT,
                          capture_output=True, text=True)


@pytest.mark.parametrize("obj", ["src/cli/main.o", "src/lib/buf.o"])
@pytest.mark.parametrize("call", [
    "strcpy(d, s)", "strcat(d, s)", "sprintf(d, \"%s\", s)",
    "strtok(d, s)", "strncpy(d, s, 4)",
])
def test_banned_call_does_not_compile(tmp_path, obj, call):
    r = syntax_check(tmp_path, obj, "(void)" + call)
    assert r.returncode != 0, "compiled: " + call
    assert "banned_function" in r.stderr, r.stderr


def test_allowed_call_compiles(tmp_path):
    r = syntax_check(tmp_path, "src/cli/main.o", 'snprintf(d, 8, "%s", s)')
    assert r.returncode == 0, r.stderr
