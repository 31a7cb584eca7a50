"""The man pages (doc/*.scd, built by make into BUILD/man/*.1 with scdoc):
one per command and pycprefix(1); each lists in OPTIONS every option its
command's --help lists, with the same argument, and nothing --help does
not list; each has the sections a man page has; mandoc -Tlint finds
nothing in any; make builds them when scdoc is there and, without it,
builds the rest (make man then fails)."""
import os
import re
import subprocess

import pytest

from conftest import BUILD, ROOT, run_tool

DOC = os.path.join(ROOT, 'doc')
SECTIONS = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXIT STATUS',
            'FILES', 'EXAMPLES', 'SEE ALSO']


def commands(env):
    text = run_tool(['--help'], env, check=0).stdout.decode()
    block = text.split('\nCommands:\n', 1)[1].split('\n\n', 1)[0]
    return [l.split()[0] for l in block.splitlines() if l.strip()]


def page_names():
    return sorted(f[:-len('.1.scd')] for f in os.listdir(DOC)
                  if f.endswith('.1.scd'))


def command_pages(env):
    return [p[len('pycprefix-'):] for p in page_names()
            if p.startswith('pycprefix-')]


# ---- what --help lists

METAVAR = re.compile(r'[A-Z][A-Z0-9_]*$|\{[^}]*\}$')


def option_line(line):
    """The options an option line of --help (or a term line of a page,
    with the markup removed) names, and the arguments they take:
    ([names], {uppercase metavars}).  An option line starts with a few
    spaces and a dash; its options and their arguments come first, then
    the description (after two spaces, or a word that is neither)."""
    names, args = [], set()
    for tok in line.split():
        tok = tok.rstrip(',')
        m = re.match(r'(--?[A-Za-z0-9][\w-]*)(\[?=([^\]]+)\]?)?$', tok)
        if m:
            name = m.group(1)
            # -vv is -v given twice.
            if re.fullmatch(r'-(\w)\1+', name):
                name = name[:2]
            names.append(name)
            if m.group(3) and METAVAR.match(m.group(3)):
                args.add(m.group(3))
        elif METAVAR.match(tok):
            args.add(tok)
        else:
            break
    return names, args


def help_options(text):
    """{option: {metavars}} of every option line in a --help text:
    lines starting with up to 8 spaces then -x or --long (deeper ones
    continue a description)."""
    found = {}
    for line in text.splitlines():
        m = re.match(r'( +)-', line)
        if not m or len(m.group(1)) > 8:
            continue
        names, args = option_line(line.strip())
        for n in names:
            found.setdefault(n, set()).update(args)
    return found


def page_section(name, title):
    with open(os.path.join(DOC, name + '.1.scd')) as f:
        text = f.read()
    parts = re.split(r'^# (.+)$', text, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2]))
    return sections.get(title)


def page_options(name):
    """{option: {metavars}} of the term lines of a page's OPTIONS section
    (its subsections too): lines, not indented, that start with *-."""
    found = {}
    for line in page_section(name, 'OPTIONS').splitlines():
        if not line.startswith('*-'):
            continue
        plain = line.replace('*', '').replace('\\', '')
        plain = re.sub(r'_([A-Z][A-Z0-9_]*)_', r'\1', plain)
        names, args = option_line(plain)
        for n in names:
            found.setdefault(n, set()).update(args)
    return found


def test_parsers():
    """The parsers on the shapes --help and the pages use, argparse's
    (the compileall command's --help) among them."""
    text = ("usage: x\n\nOptions:\n"
            "  -j, --jobs N       worker processes per interpreter, 1 to\n"
            "                     --not-an-option in a description\n"
            "      --tags=LIST    also pycs\n"
            "      --tags         also\n"
            "      --follow-symlinks descend into symlinked directories\n"
            "  --python all       every interpreter\n"
            "  -vv                also each pyc found fresh\n"
            "  -j, --workers WORKERS\n"
            "                        Run compileall concurrently\n"
            "  --invalidation-mode {checked-hash,timestamp,unchecked-hash}\n"
            "  -q                    output only error messages; -qq will\n"
            "  0                  all good\n")
    assert help_options(text) == {
        '-j': {'N', 'WORKERS'}, '--jobs': {'N'}, '--workers': {'WORKERS'},
        '--tags': {'LIST'}, '--follow-symlinks': set(), '--python': set(),
        '-v': set(), '--invalidation-mode': {
            '{checked-hash,timestamp,unchecked-hash}'}, '-q': set()}
    names, args = option_line('-j, --jobs N')
    assert (names, args) == (['-j', '--jobs'], {'N'})


# ---- the pages against the commands

@pytest.fixture(scope='module')
def env():
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(('PYTHON', 'PYCPREFIX'))}
    e['PYTHONDONTWRITEBYTECODE'] = '1'
    return e


def test_a_page_per_command(env):
    cmds = commands(env)
    assert 'compile' in cmds and 'run' in cmds
    pages = set(command_pages(env))
    assert set(cmds) - pages == set(), 'commands without a page'
    assert pages - set(cmds) == set(), 'pages of no command'
    assert 'pycprefix' in page_names()


def checked_commands():
    e = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    e.pop('PYTHONPYCACHEPREFIX', None)
    return commands(e)


@pytest.mark.parametrize('cmd', checked_commands())
def test_options_match_help(env, cmd, tmp_path):
    res = run_tool([cmd, '--help'], env, cwd=str(tmp_path), check=0)
    listed = help_options(res.stdout.decode())
    assert '--help' in listed and len(listed) > 2, listed
    paged = page_options('pycprefix-' + cmd)
    assert sorted(set(listed) - set(paged)) == [], \
        'in --help, not in the page'
    assert sorted(set(paged) - set(listed)) == [], \
        'in the page, not in --help'
    for opt, args in listed.items():
        assert paged[opt] == args, (opt, 'its argument')


def test_global_options_match_help(env):
    listed = help_options(run_tool(['--help'], env, check=0).stdout.decode())
    assert {'--prefix', '--version', '-V', '--in-tree'} <= set(listed)
    paged = page_options('pycprefix')
    assert sorted(set(listed) - set(paged)) == []
    assert sorted(set(paged) - set(listed)) == []
    for opt, args in listed.items():
        assert paged[opt] == args, (opt, 'its argument')


def test_top_page_lists_every_command(env):
    listed = re.findall(r'^\*([a-z]+)\*$', page_section('pycprefix',
                                                         'COMMANDS'), re.M)
    assert set(commands(env)) == set(listed)


@pytest.mark.parametrize('name', page_names())
def test_page_structure(name):
    with open(os.path.join(DOC, name + '.1.scd')) as f:
        text = f.read()
    assert text.startswith(name.upper() + '(1)\n')
    titles = re.findall(r'^# (.+)$', text, re.M)
    assert [t for t in titles if t in SECTIONS] == SECTIONS, titles
    assert re.search(r'^%s - \S' % re.escape(name),
                     page_section(name, 'NAME'), re.M)
    see = page_section(name, 'SEE ALSO')
    refs = set(re.findall(r'\*([\w-]+)\*\(1\)', see))
    others = set(page_names()) - {name}
    assert 'python' in refs
    assert others <= refs, others - refs
    exits = page_section(name, 'EXIT STATUS')
    assert re.search(r'\*0\*|_COMMAND_', exits)


# ---- building and linting

@pytest.fixture(scope='module')
def built():
    """The pages as `make man` builds them, in the build under test."""
    res = subprocess.run(['make', '--no-print-directory', '-s',
                          'BUILD=' + BUILD, 'man'], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return os.path.join(BUILD, 'man')


@pytest.mark.parametrize('name', page_names())
def test_mandoc_lint_is_clean(built, name):
    path = os.path.join(built, name + '.1')
    res = subprocess.run(['mandoc', '-Tlint', path], capture_output=True,
                         text=True)
    assert (res.returncode, res.stdout + res.stderr) == (0, '')


@pytest.mark.parametrize('name', page_names())
def test_page_renders(built, name):
    res = subprocess.run(['mandoc', '-Tascii', os.path.join(built,
                                                            name + '.1')],
                         capture_output=True, check=True)
    out = re.sub(rb'.\x08', b'', res.stdout).decode()
    assert out.startswith(name.upper() + '(1)')
    assert '\nNAME\n       %s - ' % name in out
    for title in SECTIONS:
        assert '\n%s\n' % title in out, title


def test_make_without_scdoc(tmp_path):
    """The README's first command works without scdoc: `make` then
    builds no page; `make man` fails."""
    build = str(tmp_path / 'b')
    base = ['make', '--no-print-directory', 'BUILD=' + build]
    res = subprocess.run(base + ['-n', 'SCDOC=/nonexistent/scdoc', 'all'],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'pycprefix' in res.stdout and 'doc/tidy.awk' not in res.stdout
    res = subprocess.run(base + ['-n', 'all'], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'doc/pycprefix.1.scd' in res.stdout
    res = subprocess.run(base + ['SCDOC=/nonexistent/scdoc', 'man'],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode != 0
    assert "the man pages need scdoc, and '/nonexistent/scdoc'" in res.stderr
    man = os.path.join(build, 'man')
    assert not os.path.exists(man) or os.listdir(man) == []


DUNDER = re.compile(r'__\w+__')
# scdoc's emphasis left as text: a metavariable still between
# underscores, a word still between asterisks.
LEAK = re.compile(r'_[A-Z][A-Z0-9.]*_(?!\w)|\*[A-Za-z][\w-]*\*')


@pytest.mark.parametrize('name', page_names())
def test_no_markup_leaks_into_the_text(built, name):
    """What a reader sees is what the source says: every __name__ of the
    source (__pycache__) is shown whole, and no emphasis scdoc left
    unparsed shows as underscores or asterisks (NAME said 'pycache__',
    du(1) 'lib/python_X.Y_')."""
    with open(os.path.join(DOC, name + '.1.scd'), encoding='utf-8') as f:
        source = f.read().replace('\\_', '_')
    res = subprocess.run(['mandoc', '-Tascii', os.path.join(built,
                                                            name + '.1')],
                         capture_output=True, check=True)
    out = re.sub(rb'.\x08', b'', res.stdout).decode()
    for word in set(DUNDER.findall(source)):
        assert out.count(word) == source.count(word), word
    assert LEAK.findall(out) == []
