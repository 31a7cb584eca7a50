"""The completions of completions/, asked of the real shells.

bash (with Debian's bash-completion loaded and without it) and zsh run
interactively on a pseudo-terminal: the test types a line and a Tab, and
the shell's own completion machinery (readline's word splitting, zsh's
compsys and _arguments) calls the completion function; a wrapper installed
around it writes what it offered to a file (bash: COMPREPLY; zsh: the words
given to compadd).  fish is asked with `complete -C LINE`.

The options offered for each command are checked against that command's
own --help, for every command `pycprefix --help` lists: an option added
without its completion fails here.  A missing shell is a failure, never a
skip (tests/deps.sh installs them).
"""
import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import fcntl

import pytest

from conftest import BINARY, BUILD, INTERPRETERS, ROOT, run_tool

COMPLETIONS = os.path.join(ROOT, 'completions')
BASH_COMPLETION = '/usr/share/bash-completion/bash_completion'
SHELLS = ['bash', 'bash-completion', 'zsh', 'fish']


# ---- what the binary says ----

def help_text(*args):
    res = subprocess.run([BINARY, *args, '--help'], capture_output=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.decode()


def sections(text):
    """The help's sections: each from its heading (lines at the margin)
    to the next heading."""
    out = []
    for line in text.splitlines():
        if line and not line[0].isspace():
            if out and len(out[-1]) == 1:
                out[-1][0] += ' ' + line
            else:
                out.append([line])
        elif out:
            out[-1].append(line)
    return out


OPTION_LINE = re.compile(r'^ {2,6}-')
OPTION_NAME = re.compile(r'^(--?[A-Za-z0-9][-A-Za-z0-9]*)')


def options_in(lines):
    """The option names on the option lines of a help section: each
    '-x' and '--long' before the description ('-j, --jobs N',
    '--tags=LIST', '--shell SHELL')."""
    names = set()
    for line in lines:
        if not OPTION_LINE.match(line):
            continue
        spec = line.strip().split('  ')[0]
        for piece in spec.split(', '):
            m = OPTION_NAME.match(piece)
            if m:
                names.add(m.group(1))
    return names


def help_options(cmd=None):
    """The options `pycprefix CMD --help` lists (no CMD: the global ones
    of `pycprefix --help`)."""
    text = help_text(cmd) if cmd else help_text()
    names = set()
    for sec in sections(text):
        if 'ptions' in sec[0]:
            names |= options_in(sec)
    assert names, text
    return names


def help_commands():
    for sec in sections(help_text()):
        if sec[0] == 'Commands:':
            return {line.split()[0] for line in sec[1:] if line.strip()}
    raise AssertionError('no Commands: in pycprefix --help')


# ---- the shells ----

class PtyShell:
    """An interactive shell on a pseudo-terminal, its output drained."""

    def __init__(self, argv, env, cwd, capture, setup):
        self.capture = capture
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack('HHHH', 200, 250, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave,
                                     stderr=slave, env=env, cwd=cwd,
                                     start_new_session=True)
        os.close(slave)
        self.master = master
        self.out = bytearray()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.n = 0
        for line in setup:
            self.type(line + '\n')
        self.sync()

    def _drain(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.out += data

    def type(self, s):
        os.write(self.master, s.encode())

    def wait(self, cond, what):
        # Not a timed assertion: a bound on a hang, far above need.
        deadline = time.monotonic() + 60
        while not cond():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError('no %s; the terminal showed:\n%s' % (
                    what, self.out.decode(errors='replace')[-4000:]))
            time.sleep(0.01)

    def sync(self):
        """Wait until the shell has run all that was typed."""
        self.n += 1
        self.type('echo $((%d * 7))-ready\n' % self.n)
        token = ('%d-ready' % (self.n * 7)).encode()
        self.wait(lambda: token in self.out, 'prompt after the set-up')

    def complete(self, line):
        if os.path.exists(self.capture):
            os.unlink(self.capture)
        self.type(line + '\t')
        self.wait(lambda: os.path.exists(self.capture),
                  'completion of %r' % line)
        with open(self.capture) as f:
            words = [w for w in f.read().split('\n') if w]
        self.type('\x15')  # ^U: the line is gone
        return words

    def close(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.close(self.master)
        # The set-up must have run without a complaint.
        return self.out.decode(errors='replace')


def bash_setup(with_bc):
    setup = ['PS1="$ "', 'bind "set bell-style none"']
    if with_bc:
        assert os.path.exists(BASH_COMPLETION), \
            'bash-completion is not installed (tests/deps.sh)'
        setup.append('source %s' % BASH_COMPLETION)
    setup += [
        'source %s/pycprefix.bash' % COMPLETIONS,
        # The spec as the file made it, with a recorder around it.
        '_cap() { _pycprefix "$@"; printf "%s\\n" "${COMPREPLY[@]}" '
        '> "$CAPTURE.tmp"; mv -f "$CAPTURE.tmp" "$CAPTURE"; }',
        'eval "$(complete -p pycprefix | '
        'sed "s/-F _pycprefix /-F _cap /")"',
        "complete -W '--colour --count' fakecmd",
    ]
    return setup


ZSH_SETUP = [
    'PS1="$ "; unsetopt AUTO_LIST LIST_BEEP BEEP; bindkey -e',
    'fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D' % COMPLETIONS,
    # Record the words of every compadd that adds matches (those with
    # -O, -A or -D only compute), as the shell matched them.
    'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then '
    'builtin compadd "$@"; return; fi; local -a _h; '
    'builtin compadd -O _h "$@"; _cap_hits+=($_h); builtin compadd "$@"; }',
    '_cap() { _cap_hits=(); _pycprefix "$@"; '
    'print -rl -- $_cap_hits >| $CAPTURE.tmp; mv -f $CAPTURE.tmp $CAPTURE; }',
    'compdef _cap pycprefix',
    "_fakecmd() { _arguments '--colour' '--count' }; compdef _fakecmd fakecmd",
]


class Fish:
    def __init__(self, env, cwd):
        self.env, self.cwd = env, cwd

    def complete(self, line):
        script = ('source %s/pycprefix.fish; '
                  'complete -c fakecmd -l colour; complete -c fakecmd -l count; '
                  'complete -C $argv[1]' % COMPLETIONS)
        res = subprocess.run(['fish', '--no-config', '-c', script, line],
                             capture_output=True, env=self.env, cwd=self.cwd,
                             timeout=60)
        assert res.returncode == 0 and not res.stderr, res.stderr
        return [w.split('\t')[0] for w in res.stdout.decode().splitlines()]

    def close(self):
        return ''


# ---- the world the shells complete in ----

class World:
    pass


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    for sh in ('bash', 'zsh', 'fish'):
        assert shutil.which(sh), '%s is not installed (tests/deps.sh)' % sh
    w = World()
    top = tmp_path_factory.mktemp('completions')
    w.top = str(top)
    # Interpreters on PATH that pyenv would not show: pythons must list
    # them, and completion must offer them.
    w.interps = INTERPRETERS[:1] + INTERPRETERS[-1:]
    if w.interps[0] is w.interps[-1]:
        w.interps = w.interps[:1]
    bindir = top / 'bin'
    bindir.mkdir()
    for it in w.interps:
        (bindir / ('python%d.%d' % it.version[:2])).symlink_to(it.exe)
    fake = bindir / 'fakecmd'
    fake.write_text('#!/bin/sh\n')
    fake.chmod(0o755)
    (top / 'home').mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PYTHON', 'PYCPREFIX', 'XDG_', 'BASH',
                                'ZDOTDIR', 'fish'))}
    env.update(PATH='%s:%s:/usr/bin:/bin' % (bindir, BUILD),
               HOME=str(top / 'home'), PYENV_ROOT=str(top / 'nopyenv'),
               XDG_CACHE_HOME=str(top / 'xdg-cache'),
               XDG_CONFIG_HOME=str(top / 'xdg-config'),
               XDG_DATA_HOME=str(top / 'xdg-data'),
               PYTHONDONTWRITEBYTECODE='1', TERM='dumb', INPUTRC='/dev/null',
               CAPTURE=str(top / 'capture'), LC_ALL='C.UTF-8')
    env.pop('NO_COLOR', None)
    env.pop('SHELL', None)
    w.env = env
    # A tree compiled by two interpreters into a prefix.
    src = top / 'work' / 'src'
    src.mkdir(parents=True)
    (src / 'mod.py').write_text('x = 1\n')
    (top / 'work' / 'somedir').mkdir()
    (top / 'work' / 'some.py').write_text('y = 2\n')
    w.cwd = str(top / 'work')
    w.prefix = str(top / 'prefix')
    args = ['--prefix', w.prefix, 'compile']
    for it in w.interps:
        args += ['--python', it.exe]
    run_tool(args + [str(src)], env, check=0)
    w.tags = sorted({it.tag for it in w.interps})
    res = run_tool(['pythons', '--json'], env, check=0)
    w.pythons = [p for p in json.loads(res.stdout) if p['usable']]
    w.shells = {}
    yield w
    for sh in w.shells.values():
        sh.close()


def shell_session(world, name):
    if name not in world.shells:
        capture = world.env['CAPTURE'] + '-' + name
        env = dict(world.env, CAPTURE=capture)
        if name == 'fish':
            sh = Fish(env, world.cwd)
        elif name == 'zsh':
            sh = PtyShell(['zsh', '-f', '-i'], env, world.cwd, capture,
                          ZSH_SETUP)
        else:
            sh = PtyShell(['bash', '--norc', '--noprofile', '-i'], env,
                          world.cwd, capture,
                          bash_setup(name == 'bash-completion'))
        world.shells[name] = sh
    sh = world.shells[name]
    sh.name = name
    return sh


@pytest.fixture(params=SHELLS)
def shell(request, world):
    return shell_session(world, request.param)


def offered(shell, line):
    return shell.complete(line)


def option_set(words):
    """Option names among completions (fish and zsh may also offer the
    '--opt=' spelling; '-' and '--' alone are no options)."""
    return {w.rstrip('=') for w in words
            if w.startswith('-') and w not in ('-', '--')}


def values(words, opt=None):
    """Completed values, without an '--opt=' fish repeats, nor the list
    already typed before a comma, nor a directory's slash."""
    out = set()
    for w in words:
        if opt and w.startswith(opt + '='):
            w = w[len(opt) + 1:]
        out.add(w.rsplit(',', 1)[-1].rstrip('/'))
    return out


# ---- commands and options, against --help ----

def test_command_names_are_the_commands_help_lists(shell):
    listed = help_commands()
    assert 'compile' in listed and 'run' in listed
    assert set(offered(shell, 'pycprefix ')) == listed | {'help'}
    assert set(offered(shell, 'pycprefix help ')) >= listed


def test_command_prefix_narrows(shell):
    assert set(offered(shell, 'pycprefix comp')) == {'compile',
                                                     'compileall'}


def test_global_options_are_the_ones_help_lists(shell):
    want = help_options()
    assert {'--prefix', '--python', '-V', '--version'} <= want
    assert option_set(offered(shell, 'pycprefix -')) == want


@pytest.mark.parametrize('cmd', sorted(help_commands()))
def test_each_commands_options_are_the_ones_its_help_lists(shell, cmd):
    want = help_options(cmd)
    assert '--help' in want
    got = option_set(offered(shell, 'pycprefix %s -' % cmd))
    assert got == want, (
        "%s completes %s's options unlike its --help: missing %s, extra %s"
        " (completions/pycprefix.bash, _pycprefix, pycprefix.fish)" % (
            shell.name, cmd, sorted(want - got), sorted(got - want)))


def test_the_options_of_compile(shell):
    got = option_set(offered(shell, 'pycprefix compile -'))
    assert {'-j', '--jobs', '-O', '--invalidation-mode', '--prefix',
            '--python', '--sys-path'} <= got
    assert '--check-hash-based-pycs' not in got


def test_the_options_of_compileall_are_compileall_s(shell):
    got = option_set(offered(shell, 'pycprefix compileall -'))
    assert got == {'-l', '-r', '-f', '-q', '-b', '-d', '-s', '-p', '-x',
                   '-i', '-e', '-j', '--workers', '-o',
                   '--invalidation-mode', '--hardlink-dupes', '-h',
                   '--help', '--python', '--python-flag'}


# ---- option values ----

def test_python_offers_all_and_what_pythons_lists(shell, world):
    want = {'all'}
    for p in world.pythons:
        want |= {p['version'], p['tag']}
    for it in world.interps:
        assert '%d.%d.%d' % it.version in want and it.tag in want
    assert set(offered(shell, 'pycprefix --python ')) == want
    assert set(offered(shell, 'pycprefix status --python ')) == want
    assert set(offered(shell, 'pycprefix compileall --python ')) == want
    tag = world.interps[0].tag
    assert values(offered(shell, 'pycprefix --python=%s' % tag[:-1]),
                  '--python') == {w for w in want if w.startswith(tag[:-1])}


@pytest.mark.parametrize('cmd', ['compile', 'compileall'])
def test_invalidation_mode_values(shell, cmd):
    assert set(offered(shell, 'pycprefix %s --invalidation-mode ' % cmd)) \
        == {'timestamp', 'checked-hash', 'unchecked-hash'}
    line = 'pycprefix %s --invalidation-mode=un' % cmd
    assert values(offered(shell, line), '--invalidation-mode') == {
        'unchecked-hash'}


@pytest.mark.parametrize('cmd', ['status', 'show'])
def test_check_hash_based_pycs_values(shell, cmd):
    line = 'pycprefix %s --check-hash-based-pycs ' % cmd
    assert set(offered(shell, line)) == {'default', 'always', 'never'}


@pytest.mark.parametrize('line', ['pycprefix compile -O ',
                                  'pycprefix status -O ',
                                  'pycprefix path -O ',
                                  'pycprefix compileall -o '])
def test_levels(shell, line):
    assert set(offered(shell, line)) == {'0', '1', '2'}


def test_env_shell_values(shell):
    assert set(offered(shell, 'pycprefix env --shell ')) == {
        'sh', 'bash', 'zsh', 'fish', 'csh'}


def tree_state(path):
    state = {}
    for d, dirs, files in os.walk(path):
        for n in dirs + files:
            st = os.lstat(os.path.join(d, n))
            state[os.path.join(d, n)] = (st.st_mode, st.st_size,
                                         st.st_mtime_ns)
    return state


def test_tags_are_those_in_the_prefix_and_nothing_is_written(shell, world):
    before = tree_state(world.prefix)
    assert len(before) > 2
    for spelling in ('--prefix %s', '--prefix=%s'):
        line = 'pycprefix %s prune --tags=' % (spelling % world.prefix)
        assert values(offered(shell, line), '--tags') == set(world.tags)
        # A tag once listed is not offered again.
        line += world.tags[0] + ','
        assert values(offered(shell, line), '--tags') == \
            set(world.tags[1:])
    # After the command, and without --prefix: the default prefix, which
    # does not exist, holds no tag and is not made.
    line = 'pycprefix prune --prefix %s --tags=' % world.prefix
    assert values(offered(shell, line), '--tags') == set(world.tags)
    assert offered(shell, 'pycprefix prune --tags=') == []
    assert not os.path.exists(os.path.join(world.env['XDG_CACHE_HOME'],
                                           'pycprefix'))
    assert tree_state(world.prefix) == before


def test_tags_takes_its_list_only_after_equals(shell):
    # 'prune --tags x': x is a PATH, so paths are offered.
    assert values(offered(shell, 'pycprefix prune --tags so')) == {
        'somedir', 'some.py'}


# ---- paths, help, run ----

def test_paths(shell):
    assert values(offered(shell, 'pycprefix compile so')) == {
        'somedir', 'some.py'}
    assert values(offered(shell, 'pycprefix --prefix so')) == {'somedir'}
    assert values(offered(shell, 'pycprefix compile --prefix so')) == {
        'somedir'}
    assert values(offered(shell, 'pycprefix compileall -d so')) == {
        'somedir'}


def test_help_offers_commands(shell):
    assert set(offered(shell, 'pycprefix help st')) == {'status'}


def test_run_completes_a_command_then_its_arguments(shell):
    assert 'fakecmd' in offered(shell, 'pycprefix run fake')
    assert 'fakecmd' in offered(shell, 'pycprefix run --prefix /tmp fake')
    assert option_set(offered(shell, 'pycprefix run -')) == \
        help_options('run')
    if shell.name == 'bash':
        # Without bash-completion, bash cannot ask another command's
        # completion: COMMAND's arguments are paths.
        assert values(offered(shell, 'pycprefix run fakecmd so')) == {
            'somedir', 'some.py'}
    else:
        # COMMAND's options, none of pycprefix's.
        assert option_set(offered(shell, 'pycprefix run fakecmd -')) == {
            '--colour', '--count'}
        assert option_set(offered(shell, 'pycprefix run -q -- fakecmd -')) \
            == {'--colour', '--count'}


@pytest.mark.parametrize('cmd', ['du', 'pythons', 'env'])
def test_no_operands_where_none_are_taken(shell, cmd):
    # Only options (zsh offers them when nothing else fits).
    assert [w for w in offered(shell, 'pycprefix %s ' % cmd)
            if not w.startswith('-')] == []


@pytest.mark.parametrize('name', ['bash', 'bash-completion'])
def test_bash_runs_with_and_without_bash_completion(world, name):
    sh = shell_session(world, name)
    mode = world.env['CAPTURE'] + '-mode'
    sh.type('{ declare -F _init_completion >/dev/null && echo with || '
            'echo without; } > %s\n' % mode)
    sh.sync()
    with open(mode) as f:
        assert f.read().strip() == ('with' if name == 'bash-completion'
                                    else 'without')


def test_fish_without_pycprefix_on_path_is_quiet(world):
    env = dict(world.env, PATH='/usr/bin:/bin')
    assert shutil.which('pycprefix', path=env['PATH']) is None
    fish = Fish(env, world.cwd)  # its complete() checks stderr is empty
    assert fish.complete('pycprefix --python ') == ['all']
    assert fish.complete('pycprefix --prefix %s prune --tags=' %
                         world.prefix) == []


def test_tags_of_the_prefix_pythonpycacheprefix_names(world):
    # The prefix as pycprefix resolves it: here from the environment.
    fish = Fish(dict(world.env, PYTHONPYCACHEPREFIX=world.prefix),
                world.cwd)
    assert values(fish.complete('pycprefix prune --tags='), '--tags') == \
        set(world.tags)
