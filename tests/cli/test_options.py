"""Every command takes the options its --help lists and refuses the others;
the top-level help names the global options, the environment and the exit
codes; -v and -vv mean the same everywhere; --python 3 (issue 11, item
23)."""
import json
import os
import re
import string

import pytest

from conftest import INTERPRETERS, run_tool

NEWEST = INTERPRETERS[-1]

COMMANDS = ['compile', 'status', 'prune', 'clean', 'migrate', 'du', 'doctor',
            'path', 'show', 'pythons', 'env', 'run']

# Every option some command shares with others (util.c's common set).
COMMON = ['--prefix', '--in-tree', '--python', '--json', '-q', '--quiet',
          '-v', '--verbose']

# A valid value for each option that takes one, by option then metavar.
VALUES = {'--invalidation-mode': 'timestamp',
          '--check-hash-based-pycs': 'default', '--shell': 'sh',
          '--python': NEWEST.exe}
METAVARS = {'N': '1', 'LEVEL': '0', 'SEC': '10', 'SIZE': '1M', 'AGE': '1d',
            'REGEX': 'x', 'GLOB': 'x', 'DIR': '/tmp/pycprefix-opt-test',
            'PY': NEWEST.exe, 'SHELL': 'sh', 'MODE': 'default',
            'FILE': '/dev/null'}

# "  -j, --jobs N   ..." / "      --tags[=LIST]  ..." at the start of a line
OPTION_LINE = re.compile(r'^  (?:(-\w)(?:, )?)?\s*(--[\w-]+)?(\[=\w+\])?'
                         r'(?: ([A-Z]+))?(?:\s|$)')


def listed(help_text):
    """(short, long, optional-arg, metavar) of each option line."""
    out = {}
    for line in help_text.splitlines():
        m = OPTION_LINE.match(line)
        if m and (m.group(1) or m.group(2)):
            key = m.group(2) or m.group(1)
            # A second line about one option ("--python all") adds no
            # option; the one naming its value is the one to use.
            if key not in out or not out[key][3]:
                out[key] = m.groups()
    return list(out.values())


def help_of(cmd, env):
    res = run_tool([cmd, '--help'], env, check=0)
    return res.stdout.decode()


def value_for(long, metavar):
    if long in VALUES:
        return VALUES[long]
    return METAVARS[metavar]


@pytest.mark.parametrize('cmd', COMMANDS)
def test_listed_options_are_taken(cmd, clean_env, tmp_path):
    opts = listed(help_of(cmd, clean_env))
    assert opts
    for short, long, optarg, metavar in opts:
        for spelling in filter(None, (short, long)):
            args = [cmd, spelling]
            if optarg:
                args = [cmd, spelling if spelling.startswith('-') and
                        len(spelling) == 2 else '%s=cpython-38' % spelling]
            elif metavar:
                args.append(value_for(long, metavar))
            res = run_tool(args + ['--help'], clean_env, cwd=str(tmp_path))
            assert res.returncode == 0, (args, res.stderr)
            assert res.stdout.decode().startswith('usage: pycprefix %s '
                                                  % cmd), args


@pytest.mark.parametrize('cmd', COMMANDS)
def test_unlisted_options_are_refused(cmd, clean_env, tmp_path):
    text = help_of(cmd, clean_env)
    names = {n for opt in listed(text) for n in opt[:2] if n}
    refused = [o for o in COMMON if o not in names] + ['--bogus', '-Z']
    for opt in refused:
        args = [opt] + (['x'] if opt in ('--prefix', '--python') else [])
        for where in ([cmd] + args + ['--help'], args + [cmd, '--help']):
            res = run_tool(where, clean_env, cwd=str(tmp_path))
            assert res.returncode == 2, (where, res.stdout, res.stderr)
            assert b'usage' not in res.stdout, where
            err = res.stderr.decode()
            assert ('unknown option' in err or 'does not take' in err), \
                (where, err)


@pytest.mark.parametrize('cmd', COMMANDS)
def test_unlisted_short_options_are_refused(cmd, clean_env, tmp_path):
    shorts = {opt[0] for opt in listed(help_of(cmd, clean_env)) if opt[0]}
    for c in string.ascii_letters + string.digits:
        if '-' + c in shorts:
            continue
        # A value in case it takes one, that would pass a check of it.
        for value in ('sh', '1'):
            res = run_tool([cmd, '-' + c, value, '--help'], clean_env,
                           cwd=str(tmp_path))
            assert res.returncode == 2, (cmd, c, res.stdout)


def test_top_level_help(clean_env):
    text = run_tool(['--help'], clean_env, check=0).stdout.decode()
    for opt in ('--prefix DIR', '--in-tree', '--python PY', '--json',
                '--quiet', '--verbose', '--version', '--help'):
        assert opt in text, opt
    for var in ('PYTHONPYCACHEPREFIX', 'XDG_CACHE_HOME', 'SOURCE_DATE_EPOCH',
                'NO_COLOR', 'PYCPREFIX_PROBE_CACHE', 'PYENV_ROOT'):
        assert var in text, var
    exits = text.split('Exit status:')[1]
    for code in ('0', '1', '2'):
        assert re.search(r'^\s+%s\s+\S' % code, exits, re.M), code
    # Top-level options are accepted before the command and at top level.
    assert run_tool(['--prefix', '/tmp/x', '--python', NEWEST.exe, '-q',
                     '--help'], clean_env, check=0).stdout == \
        run_tool(['--help'], clean_env, check=0).stdout


def test_verbose_means_the_same_everywhere(clean_env):
    lines = {}
    for cmd in COMMANDS:
        text = help_of(cmd, clean_env)
        got = [l for l in text.splitlines()
               if l.startswith(('  -v, --verbose', '                     '
                                'with -vv'))]
        if got:
            lines[cmd] = got
    assert {'compile', 'status', 'prune', 'clean', 'migrate'} <= set(lines)
    assert len({tuple(v) for v in lines.values()}) == 1, lines


def test_verbose_levels_list_what_they_say(clean_env, tmp_path):
    proj = tmp_path / 'proj'
    proj.mkdir()
    for n in ('a', 'b'):
        (proj / (n + '.py')).write_text('X = 1\n')
    base = ['--prefix', str(tmp_path / 'pfx'), '--python', NEWEST.exe]
    run_tool(base + ['compile', str(proj / 'a.py')], clean_env, check=0)
    res = run_tool(base + ['compile', '-v', str(proj)], clean_env, check=0)
    listed = res.stdout.decode() + res.stderr.decode()
    assert str(proj / 'b.py') in listed          # compiled: -v
    assert str(proj / 'a.py') not in listed      # fresh: only -vv
    res = run_tool(base + ['compile', '-vv', str(proj)], clean_env, check=0)
    listed = res.stdout.decode() + res.stderr.decode()
    assert str(proj / 'a.py') in listed and str(proj / 'b.py') in listed
    res = run_tool(base + ['status', str(proj)], clean_env, check=0)
    assert str(proj / 'a.py') not in res.stdout.decode()
    res = run_tool(base + ['status', '-vv', str(proj)], clean_env, check=0)
    assert str(proj / 'a.py') in res.stdout.decode()
    pyc = b'b.%s.pyc' % NEWEST.tag.encode()
    for verbose, shown in (([], False), (['-v'], True)):
        (proj / 'b.py').write_text('X = 2\n')
        run_tool(base + ['compile', str(proj)], clean_env, check=0)
        os.unlink(proj / 'b.py')
        res = run_tool(base[:2] + ['prune'] + verbose + [str(proj)],
                       clean_env, check=0)
        assert (pyc in res.stdout) == shown, res


def test_python_3_is_newest_3x(clean_env, tmp_path):
    found = json.loads(run_tool(['pythons', '--json'], clean_env,
                                check=0).stdout)
    newest = [p for p in found if p['usable']
              and p['version'].startswith('3.')][0]
    res = run_tool(['--in-tree', '--python', '3', 'path', '--json', 'x.py'],
                   clean_env, cwd=str(tmp_path), check=0)
    assert json.loads(res.stdout)[0]['python'] == newest['tag']


# Options that mean nothing to a command (the audit of issue 11): refused.
MEANINGLESS = {
    'clean': ['--prefix', '--in-tree', '--python'],
    'du': ['--python', '--in-tree', '-q', '-v'],
    'doctor': ['--in-tree', '-v'],
    'path': ['-q', '-v'],
    'show': ['-q', '-v'],
    'pythons': ['--prefix', '--in-tree', '--python', '-v'],
    'env': ['--python', '-v'],
    'run': ['--python', '--json', '-v'],
    'prune': ['--in-tree'],
    'migrate': ['--in-tree'],
}


@pytest.mark.parametrize('cmd', sorted(MEANINGLESS))
def test_meaningless_options_refused(cmd, clean_env, tmp_path):
    names = {n for opt in listed(help_of(cmd, clean_env)) for n in opt[:2]}
    for opt in MEANINGLESS[cmd]:
        assert opt not in names, (cmd, opt)
        args = [opt] + (['x'] if opt in ('--prefix', '--python') else [])
        res = run_tool([cmd] + args + ['--help'], clean_env,
                       cwd=str(tmp_path))
        assert res.returncode == 2, (cmd, opt, res.stdout)
