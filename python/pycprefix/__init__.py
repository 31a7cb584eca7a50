"""pycprefix: the C command line, installed beside this package.

The wheel installs the binary itself as the `pycprefix` command in the
scheme's scripts directory; `python -m pycprefix ARGS` replaces the Python
process with it (os.execv), so its exit status and signals are the
binary's own.
"""
import os
import sys

__all__ = ['binary', 'main']


def _record_binary(pkg_dir):
    """The `pycprefix` the installer recorded for this package's
    distribution (its dist-info beside the package), or None."""
    site = os.path.dirname(pkg_dir)
    try:
        names = os.listdir(site)
    except OSError:
        return None
    for name in sorted(names):
        if not (name.startswith('pycprefix-') and name.endswith('.dist-info')):
            continue
        try:
            with open(os.path.join(site, name, 'RECORD'),
                      encoding='utf-8') as f:
                rows = [line.split(',', 1)[0] for line in f]
        except OSError:
            continue
        for row in rows:
            parts = row.split('/')
            # The binary lives outside the package, in the scripts
            # directory: ../../../bin/pycprefix in a venv.
            if parts[-1] == 'pycprefix' and parts[0] == '..':
                path = os.path.normpath(os.path.join(site, row))
                if os.access(path, os.X_OK):
                    return path
    return None


def binary():
    """The path of the pycprefix binary this package was installed with."""
    pkg_dir = os.path.dirname(os.path.abspath(__file__))
    found = _record_binary(pkg_dir)
    if found is None:
        # An installer that keeps no RECORD: the scheme's scripts directory.
        import sysconfig
        for scheme in sysconfig.get_scheme_names():
            paths = sysconfig.get_paths(scheme)
            if os.path.dirname(pkg_dir) in (paths.get('purelib'),
                                            paths.get('platlib')):
                path = os.path.join(paths['scripts'], 'pycprefix')
                if os.access(path, os.X_OK):
                    return path
    return found


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
