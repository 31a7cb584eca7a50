"""A worker whose "K" reply carries fewer code objects than the levels
asked (issue 12): the source is reported failed, no pyc of a header alone
is written (CPython would fail to import it with EOFError instead of
recompiling), and the run exits 1."""
import os
import stat

from conftest import INTERPRETERS, run_tool

IT = INTERPRETERS[-1]

# The probe goes to the real interpreter; the worker is the real one too,
# its code changed to send the first code object only.
FAKE = '''#!/usr/bin/python3
import os, sys
REAL = %r
args = sys.argv[1:]
if '-c' in args and args[:3] == ['-s', '-S', '-B']:
    i = args.index('-c') + 1
    old = "out += [b'K', p32(len(codes))]"
    if old not in args[i]:
        sys.exit('the worker code changed: update this test')
    args[i] = args[i].replace(old, 'codes = codes[:1]\\n        ' + old)
os.execv(REAL, [REAL] + args)
'''


def test_short_code_reply_fails_the_file(clean_env, tmp_path):
    fake = tmp_path / 'python-short'
    fake.write_text(FAKE % IT.exe)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'a.py').write_text('a = 1\n')
    prefix = tmp_path / 'p'
    res = run_tool(['compile', '--python', str(fake), '-O', '0', '-O', '1',
                    '--prefix', str(prefix), str(src)], clean_env, check=1)
    err = res.stderr.decode()
    assert 'the worker answered 1 code object for 2 levels' in err, err
    assert not prefix.exists() or not list(prefix.rglob('*.pyc'))
    # The same with the real worker writes both.
    run_tool(['compile', '--python', IT.exe, '-O', '0', '-O', '1',
              '--prefix', str(prefix), str(src)], clean_env, check=0)
    assert len(list(prefix.rglob('*.pyc'))) == 2
