"""--json output when the C library cannot give a memory stream: the JSON
document still comes, whole (it used to be human output from doctor, and
compile's failures went missing)."""
import json

import pytest

from conftest import preload_shim, run_tool

SHIM = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
FILE *open_memstream(char **p, size_t *n)
{
	(void)p;
	(void)n;
	errno = ENOMEM;
	return NULL;
}
"""


@pytest.fixture
def no_memstream(tmp_path, clean_env):
    """clean_env with every open_memstream() failing (ENOMEM)."""
    return preload_shim(tmp_path, clean_env, SHIM)


def test_doctor_json_without_memstream(tmp_path, no_memstream, interp):
    prefix = tmp_path / "pfx"
    res = run_tool(["doctor", "--json", "--prefix", str(prefix),
                    "--python", interp.exe], no_memstream)
    assert res.returncode in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    assert doc["prefix"] == str(prefix)
    checks = [c["check"] for c in doc["checks"]]
    assert "prefix.where" in checks


def test_compile_json_failures_without_memstream(tmp_path, no_memstream,
                                                 interp):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "good.py").write_text("x = 1\n")
    (tree / "bad.py").write_text("def (:\n")
    res = run_tool(["compile", "--json", "--prefix", str(tmp_path / "pfx"),
                    "--python", interp.exe, str(tree)], no_memstream)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["compiled"] == 1
    assert [f["source"] for f in doc["failures"]] == [str(tree / "bad.py")]
