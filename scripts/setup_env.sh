#!/usr/bin/env bash
# Sets up everything fockmpi needs on a fresh Debian/Ubuntu machine, then a virtual environment
# in .venv (or $VENV) that sees Debian's PETSc/SLEPc/mpi4py/h5py and has fockmpi installed.
# Idempotent: a second run only checks.  On a cluster, use your own PETSc instead (README).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PKGS="openmpi-bin python3-mpi4py python3-h5py-mpi python3-scipy python3-venv python3-pip
      python3-petsc4py python3-slepc4py python3-petsc4py-real python3-slepc4py-real
      python3-petsc4py-complex python3-slepc4py-complex"
REAL=/usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real/lib/python3/dist-packages/petsc4py
SREAL=/usr/lib/slepcdir/slepc3.18/x86_64-linux-gnu-real/lib/python3/dist-packages/slepc4py
CPLX=/usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-complex/lib/python3/dist-packages/petsc4py

missing=0
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing=1; done
if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: Debian packages missing and cannot install them (need root and apt-get):" >&2
    echo "  $PKGS" >&2
    exit 1
  fi
  echo "setup: installing Debian packages (PETSc/SLEPc 3.18, Open MPI, parallel h5py) ..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
fi
for d in "$REAL" "$SREAL" "$CPLX"; do
  [ -d "$d" ] || { echo "setup: expected $d after installing the packages" >&2; exit 1; }
done

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV (Debian python3 with system site packages)"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
# numpy must stay at Debian's version: Debian's petsc4py/h5py are compiled against it, so pip
# may never install another numpy into the venv (e.g. as a dependency of matplotlib).
echo "numpy==$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')" > "$VENV/constraints.txt"
if "$VENV/bin/python" -m pip show numpy 2>/dev/null | grep -q "^Location: $(cd "$VENV" && pwd)"; then
  echo "setup: removing a numpy that pip put into $VENV (Debian's must be used)"
  "$VENV/bin/pip" uninstall -q -y numpy
fi
if ! "$VENV/bin/python" -c "import fockmpi, numba, pytest, hypothesis" >/dev/null 2>&1 \
   || [ setup.cfg -nt "$VENV/.installed" ]; then
  echo "setup: installing fockmpi (editable) with numba, pytest, hypothesis"
  "$VENV/bin/pip" install -q --disable-pip-version-check -c "$VENV/constraints.txt" -e ".[test]"
  touch "$VENV/.installed"
fi
# PySCF is the tests' independent reference for quantum chemistry (a test-only extra).  Without
# its dependencies: they are Debian's numpy, scipy and h5py, and pip would otherwise put a serial
# h5py wheel into the venv over Debian's parallel one (Debian names its h5py differently).
if ! "$VENV/bin/python" -c "import pyscf" >/dev/null 2>&1; then
  echo "setup: installing pyscf (test reference, no dependencies)"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -c "$VENV/constraints.txt" "pyscf>=2.3" \
    || echo "setup: pyscf could not be installed; the chemistry tests against it will be skipped" >&2
fi
"$VENV/bin/python" -c "import fockmpi.runtime as r; r.check_stack()"
