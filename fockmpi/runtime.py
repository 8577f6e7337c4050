"""The one place that chooses, imports and initializes PETSc and SLEPc, and the :class:`Runtime`
that holds them with the communicator.

PETSc is compiled for one scalar type (real or complex) and one index width (32 or 64 bit).
fockmpi decides what it needs from the model *before* importing petsc4py:

* Debian/Ubuntu packages install several builds side by side under ``/usr/lib/petscdir``
  (``...-real``, ``...-complex``, ``...-64-real``, ...).  There the right one is put on
  ``sys.path`` automatically: complex when the Hamiltonian is complex, 64-bit indices when the
  dimension needs them (if that build is installed).
* Anywhere else (conda-forge, spack, modules, pip) the petsc4py found on ``sys.path`` is used
  as it is, and a mismatch gives a clear :class:`~fockmpi.errors.StackError`.
"""
import glob
import os
import sys

from .errors import CapacityError, StackError


DEBIAN_PETSC = "/usr/lib/petscdir"

DEBIAN_SLEPC = "/usr/lib/slepcdir"

_chosen = None


def _debian_dir(root, scalar, index_bits):
    flavor = ("64-" if index_bits == 64 else "") + scalar
    hits = sorted(glob.glob(os.path.join(root, "*", f"*-linux-gnu-{flavor}")))
    return hits[-1] if hits else None


def _user_petsc_dir():
    d = os.environ.get("PETSC_DIR", "")
    return d and not d.startswith(DEBIAN_PETSC)


def select(scalar="real", index_bits=32):
    """Make the PETSc build for ``scalar`` ('real'/'complex') and index width importable.

    Must run before the first import of petsc4py; later calls only check.  Not collective
    (every rank makes the same choice from the same job).
    """
    global _chosen
    if "petsc4py" in sys.modules or _user_petsc_dir():
        _chosen = _chosen or (scalar, index_bits)
        return
    pdir = _debian_dir(DEBIAN_PETSC, scalar, index_bits)
    sdir = _debian_dir(DEBIAN_SLEPC, scalar, index_bits)
    if pdir is None or sdir is None:
        return  # not a Debian layout: use whatever petsc4py is installed
    sys.path[:] = [p for p in sys.path if not p.startswith((DEBIAN_PETSC, DEBIAN_SLEPC))]
    sys.path.append(os.path.join(pdir, "lib", "python3", "dist-packages"))
    sys.path.append(os.path.join(sdir, "lib", "python3", "dist-packages"))
    os.environ["PETSC_DIR"] = pdir
    os.environ["SLEPC_DIR"] = sdir
    _chosen = (scalar, index_bits)


def has_64bit_build():
    """True if a 64-bit-index Debian build is installed (so it can be selected)."""
    return _debian_dir(DEBIAN_PETSC, "real", 64) is not None


INDEX_HINT = ("use a PETSc configured --with-64-bit-indices (Debian: python3-petsc4py-64-real and "
              "python3-slepc4py-64-real, picked automatically; conda-forge: a petsc build with int64; "
              "spack: ^petsc+int64), or fix more quantum numbers in [sector]")


def index_limit():
    """The largest dimension the PETSc build that :func:`init` would pick can index, or None
    when that cannot be told without initializing PETSc.  Not collective; imports nothing
    heavy, so ``fockmpi info`` and the checks before the basis build can ask."""
    if "petsc4py" in sys.modules:
        import numpy as np
        from petsc4py import PETSc
        return int(np.iinfo(PETSc.IntType).max)
    if not _user_petsc_dir() and _debian_dir(DEBIAN_PETSC, "real", 32) is not None:
        return 2 ** 63 - 1 if has_64bit_build() else 2 ** 31 - 1
    try:
        import petsc4py
        conf = petsc4py.get_config()
        header = os.path.join(conf["PETSC_DIR"], conf.get("PETSC_ARCH", ""), "include", "petscconf.h")
        with open(header) as f:
            return 2 ** 63 - 1 if "PETSC_USE_64BIT_INDICES" in f.read() else 2 ** 31 - 1
    except (ImportError, OSError, KeyError, AttributeError):
        return None


def capacity_error(dimension, limit):
    """The :class:`CapacityError` for a dimension beyond the build's indices."""
    return CapacityError(f"the sector dimension {dimension} exceeds the {'32' if limit < 2 ** 32 else '64'}-bit "
                         f"indices of this PETSc build ({limit}): {INDEX_HINT}")


def check_index_width(dimension):
    """Raise :func:`capacity_error` if the PETSc build cannot index ``dimension`` (nothing when
    that cannot be told yet: :func:`init` checks again).  Not collective."""
    limit = index_limit()
    if limit is not None and dimension > limit:
        raise capacity_error(dimension, limit)


def init(scalar="real", dimension=0):
    """Import and initialize petsc4py and slepc4py; return ``(PETSc, SLEPc)``.

    Collective on COMM_WORLD (PetscInitialize).  Raises :class:`StackError` if the build
    cannot hold a ``scalar`` problem and :class:`CapacityError` if its indices are too narrow
    for ``dimension``.
    """
    index_bits = 64 if dimension > 2 ** 31 - 1 and has_64bit_build() else 32
    already = "petsc4py" in sys.modules
    select(scalar, index_bits)
    try:
        import petsc4py
        # no PETSc signal handlers: Python's own handle SIGINT/SIGTERM/SIGUSR1 (RunGuard), and
        # PETSc's turned a closed pipe (`fockmpi info JOB | head`) into an MPI_Abort
        petsc4py.init(sys.argv[:1] + ["-no_signal_handler"])
        import slepc4py
        slepc4py.init(sys.argv[:1])
        from petsc4py import PETSc
        from slepc4py import SLEPc
    except ImportError as e:
        raise StackError(f"cannot import petsc4py/slepc4py ({e}). On Debian/Ubuntu run 'make setup'; "
                         "on a cluster load or install PETSc and SLEPc with their Python bindings "
                         "(see README: conda-forge, spack, pip)") from None
    import numpy as np
    if scalar == "complex" and not np.issubdtype(PETSc.ScalarType, np.complexfloating):
        if already:
            raise StackError("this Hamiltonian has complex matrix elements, but this process has already "
                             "loaded a real PETSc build; run it in a new process (e.g. 'fockmpi run')")
        raise StackError("this Hamiltonian has complex matrix elements, but the PETSc build in use is "
                         "real: install a complex build (Debian: python3-petsc4py-complex and "
                         "python3-slepc4py-complex; conda-forge: 'petsc=*=complex*' 'slepc=*=complex*') "
                         "or unset PETSC_DIR so fockmpi can pick one")
    if dimension > np.iinfo(PETSc.IntType).max:
        raise capacity_error(dimension, int(np.iinfo(PETSc.IntType).max))
    return PETSc, SLEPc


def import_h5py():
    """Import h5py, asking Debian's h5py for its MPI build even outside mpirun (e.g. srun)."""
    os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")
    import h5py
    return h5py


def versions():
    """Versions of the stack in use (petsc4py must be initialized)."""
    out = {}
    import mpi4py
    from mpi4py import MPI
    out["mpi4py"] = mpi4py.__version__
    out["mpi_library"] = MPI.Get_library_version().splitlines()[0].strip()
    if "petsc4py" in sys.modules:
        from petsc4py import PETSc
        out["petsc"] = ".".join(map(str, PETSc.Sys.getVersion()))
        out["petsc_scalar"] = PETSc.ScalarType.__name__
        out["petsc_int"] = PETSc.IntType.__name__
        out["petsc_dir"] = os.environ.get("PETSC_DIR", "")
    if "slepc4py" in sys.modules:
        from slepc4py import SLEPc
        out["slepc"] = ".".join(map(str, SLEPc.Sys.getVersion()))
    try:
        h5py = import_h5py()
        out["h5py"] = h5py.__version__
        out["hdf5"] = h5py.version.hdf5_version
    except ImportError:
        pass
    import numba
    import numpy
    out["numpy"] = numpy.__version__
    out["numba"] = numba.__version__
    return out


def check_stack():
    """Print the stack and fail loudly if a part is missing (used by ``make setup``)."""
    init("real")
    v = versions()
    h5py = import_h5py()
    if not h5py.get_config().mpi:
        raise StackError("h5py is not built with MPI (parallel HDF5); install python3-h5py-mpi")
    print("stack: PETSc {petsc} ({petsc_scalar}, {petsc_int}), SLEPc {slepc}, mpi4py {mpi4py}, "
          "h5py {h5py} (HDF5 {hdf5}, MPI), numpy {numpy}, numba {numba}".format(**v))


class Runtime:
    """What the distributed stages need of this process: the communicator, the initialized
    petsc4py and slepc4py modules, and PETSc's scalar type.  Collective on ``comm`` to start.

    ``Runtime.start()`` is COMM_WORLD with a real PETSc; ``Runtime.start("complex")`` picks a
    complex build (Debian: automatically; it must be the first PETSc this process loads).  The
    stages take ``rt.comm`` and ``rt.PETSc`` as petsc4py does; :func:`fockmpi.solve` takes the
    runtime itself, or starts one.
    """

    def __init__(self, comm, PETSc, SLEPc):
        import numpy as np
        self.comm, self.PETSc, self.SLEPc = comm, PETSc, SLEPc
        self.scalar = np.dtype(PETSc.ScalarType)
        self.is_complex = bool(np.issubdtype(self.scalar, np.complexfloating))

    @classmethod
    def start(cls, scalar="real", dimension=0, comm=None):
        """Initialize PETSc/SLEPc for ``scalar`` ("real" or "complex") and indices wide enough for
        ``dimension`` (see :func:`init`) on ``comm`` (default COMM_WORLD).  Collective."""
        if scalar not in ("real", "complex"):
            raise ValueError(f"scalar: expected \"real\" or \"complex\", found {scalar!r}")
        from .parallel import world
        comm = world() if comm is None else comm
        PETSc, SLEPc = init(scalar, dimension)
        return cls(comm, PETSc, SLEPc)

    def __repr__(self):
        import numpy as np
        bits = np.dtype(self.PETSc.IntType).itemsize * 8
        return f"Runtime({self.comm.size} rank(s), PETSc {self.scalar.name}, {bits}-bit indices)"
