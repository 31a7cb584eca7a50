"""pycprefix: the C command line, installed beside this package.

The wheel installs the binary itself as the `pycprefix` command in the
scheme's scripts directory; `python -m pycprefix ARGS` replaces the Python
process with it (os.execv), so its exit status and signals are the
binary's own.
"""
import json
import os
import sys
from urllib.parse import unquote, urlparse

__all__ = ['binary', 'main']


def _recorded(site):
    """(path, size) of the pycprefix binary in the RECORD of this
    package's distribution (its dist-info beside the package): the path
    relative to site, ../../../bin/pycprefix in a venv."""
    try:
        names = sorted(os.listdir(site))
    except OSError:
        return None
    for name in names:
        if not (name.startswith('pycprefix-') and name.endswith('.dist-info')):
            continue
        try:
            with open(os.path.join(site, name, 'RECORD'),
                      encoding='utf-8') as f:
                rows = [line.rstrip('\n').split(',') for line in f]
        except OSError:
            continue
        for row in rows:
            if (len(row) == 3 and row[0].startswith('../')
                    and row[0].rsplit('/', 1)[-1] == 'pycprefix'
                    and row[2].isdigit()):
                return row[0], int(row[2])
    return None


def _editable_site(root):
    """The sys.path directory holding the dist-info of an editable
    install (pip install -e) of the source tree root, or None.  Such an
    install imports this package from the tree, while its dist-info,
    RECORD included, stays in site-packages: it is the one whose
    direct_url.json names root as the editable project."""
    for entry in sys.path:
        where = entry or os.curdir
        try:
            names = sorted(os.listdir(where))
        except OSError:
            continue
        for name in names:
            if not (name.startswith('pycprefix-')
                    and name.endswith('.dist-info')):
                continue
            try:
                with open(os.path.join(where, name, 'direct_url.json'),
                          encoding='utf-8') as f:
                    url = json.load(f)
                editable = url.get('dir_info', {}).get('editable')
                parts = urlparse(url.get('url', ''))
                if (editable and parts.scheme == 'file'
                        and os.path.samefile(unquote(parts.path), root)):
                    return where
            except (OSError, ValueError, AttributeError):
                continue
    return None


def binary():
    """The path of the pycprefix binary this package was installed with,
    or None.  Where the installer recorded it; else, for pip install
    --target (whose RECORD names the scripts directory it had before it
    moved the files), bin/ beside the package; for an editable install,
    where its dist-info says; each checked against the size recorded,
    so that another pycprefix is never taken for it."""
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rec = _recorded(site)
    if rec is None:
        site = _editable_site(os.path.dirname(site))
        rec = site and _recorded(site)
    if not rec:
        return None
    path, size = rec
    for cand in (os.path.normpath(os.path.join(site, path)),
                 os.path.join(site, 'bin', 'pycprefix')):
        try:
            if os.path.getsize(cand) == size and os.access(cand, os.X_OK):
                return cand
        except OSError:
            continue
    return None


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    exe = binary()
    if exe is None:
        sys.stderr.write("pycprefix: cannot find the 'pycprefix' binary "
                         "installed with this package\n")
        return 2
    try:
        os.execv(exe, [exe] + args)
    except OSError as e:
        sys.stderr.write("pycprefix: cannot run '%s': %s\n"
                         % (exe, e.strerror))
    return 2
