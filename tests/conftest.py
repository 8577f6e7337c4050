import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
# one h5py for the whole session: Debian's loads its MPI build only under mpirun (or with this set),
# and a serial h5py imported first (a test reading a results file) cannot write in-process results
os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")


COMPLEX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "complex")


def pytest_ignore_collect(collection_path, config):
    """tests/complex runs in a process of its own (the complex PETSc build; tests/complex/conftest.py):
    collected only when asked for by path."""
    if str(collection_path).startswith(COMPLEX):
        asked = [os.path.abspath(str(a).split("::")[0]) for a in config.args]
        return not any(a.startswith(COMPLEX) for a in asked)
    return None


@pytest.fixture(scope="session")
def comm():
    from fockmpi.parallel import world
    return world()


@pytest.fixture
def mpi_tmp_path(comm, tmp_path_factory):
    """A temporary directory shared by all ranks (rank 0 creates it and broadcasts)."""
    path = str(tmp_path_factory.mktemp("mpi")) if comm.rank == 0 else None
    return comm.bcast(path, root=0)
