"""Build glue for the wheel (pyproject.toml holds the metadata).

The wheel carries the C binary built by the project's own Makefile as
the `pycprefix` command: setuptools' `scripts`, with a build_scripts that
runs make and copies the ELF verbatim (the stock one would read it as
text to look for a #! line to rewrite), so pip installs it into the
scheme's scripts directory as it is: no Python shim on the path.  The
wheel is tagged py3-none-PLATFORM: the binary is native code but does not
link libpython, so any Python 3 of the platform can install it.  The
version is read from src/lib/pycprefix.h, its one source of truth.
"""
import os
import re
import subprocess
import sys

import setuptools
from setuptools import setup

# The metadata is pyproject.toml's [project] table, which setuptools
# reads from 61 on.  An older one, which pip --no-build-isolation does
# not replace (pyenv's 3.8 and 3.9 venvs have 56 and 58), ignores it and
# builds a distribution named UNKNOWN without the pycprefix package:
# refused here, before anything is built.
SETUPTOOLS_MIN = 61
if int(setuptools.__version__.split('.')[0]) < SETUPTOOLS_MIN:
    sys.exit('pycprefix: building needs setuptools %d or later (it reads '
             "pyproject.toml's [project] table); this Python has setuptools "
             '%s: upgrade it (pip install "setuptools>=%d"), or build the '
             'wheel with another Python (python3 -m build --wheel '
             '--no-isolation) and pip install that wheel'
             % (SETUPTOOLS_MIN, setuptools.__version__, SETUPTOOLS_MIN))

try:  # setuptools' own command where it has one, else its distutils.
    from setuptools.command.build_scripts import build_scripts
except ImportError:
    from distutils.command.build_scripts import build_scripts

try:  # setuptools >= 70.1 carries bdist_wheel; before, the wheel package.
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
# The Makefile's build directory for the wheel's binary: a build of its
# own, with the Makefile's default flags, whatever is in build/.
MAKE_BUILD = 'build/wheel'
BINARY = MAKE_BUILD + '/pycprefix'


def header_version():
    path = os.path.join(HERE, 'src', 'lib', 'pycprefix.h')
    with open(path, encoding='utf-8') as f:
        m = re.search(r'^#define PYC_VERSION_STRING "([^"]+)"', f.read(),
                      re.MULTILINE)
    if not m:
        raise RuntimeError('no PYC_VERSION_STRING in %s' % path)
    return m.group(1)


class make_binary(build_scripts):
    """Run make, then copy the binary as it is into the scripts build dir."""

    def copy_scripts(self):
        make = os.environ.get('MAKE', 'make')
        subprocess.run([make, '-C', HERE, 'BUILD=' + MAKE_BUILD, BINARY],
                       check=True)
        self.mkpath(self.build_dir)
        src = os.path.join(HERE, BINARY)
        out = os.path.join(self.build_dir, 'pycprefix')
        self.copy_file(src, out, preserve_mode=True)
        return [out], [out]

    def get_source_files(self):
        return []  # the C sources reach an sdist through MANIFEST.in


class platform_wheel(bdist_wheel):
    """Not pure (a native binary), but for any Python 3: py3-none-PLAT."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        return ('py3', 'none', super().get_tag()[2])


setup(
    version=header_version(),
    scripts=[BINARY],
    cmdclass={'build_scripts': make_binary, 'bdist_wheel': platform_wheel},
    options={'build': {'build_base': 'build/py'}},
)
