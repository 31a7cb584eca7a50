"""python -m pycprefix ARGS: runs the installed binary with ARGS."""
import sys

from pycprefix import main

sys.exit(main())
