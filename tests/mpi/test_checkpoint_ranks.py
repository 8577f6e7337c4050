"""Checkpoints across rank counts: a solve stopped on all ranks of this run writes its Ritz
vectors; the same problem on fewer ranks (a sub-communicator) resumes from them and reaches the
eigenvalues of an uninterrupted run on all ranks to 1e-10; and the reverse (written on fewer,
resumed on all)."""
import os

import numpy as np
import pytest
from checkpoint_cases import run
from test_pipeline import all_ok

import fockmpi


@pytest.mark.parametrize("method", ["krylovschur", "davidson"])
def test_resume_on_another_number_of_ranks(comm, mpi_tmp_path, method):
    rt = fockmpi.Runtime.start("real")
    reference, _, _ = run(comm, rt.PETSc, rt.SLEPc, "/nonexistent", method)
    fewer = comm.Split(0 if comm.rank < max(1, comm.size - 1) else 1, comm.rank)
    in_fewer = comm.rank < max(1, comm.size - 1)
    for k, (written_on, resumed_on) in enumerate(((comm, fewer), (fewer, comm))):
        path = os.path.join(mpi_tmp_path, f"{method}-{k}.h5")  # (the same name on every rank)
        if written_on is comm or in_fewer:
            stopped, _, _ = run(written_on, rt.PETSc, rt.SLEPc, path, method, stop_at=3)
            assert stopped is None
        comm.Barrier()
        ok = True
        if resumed_on is comm or in_fewer:
            found, _, _ = run(resumed_on, rt.PETSc, rt.SLEPc, path, method, resume=True)
            ok = np.allclose(found[:3], reference[:3], atol=1e-10)
        all_ok(comm, ok, f"written on {written_on.size} ranks, resumed on {resumed_on.size}")
    fewer.Free()


def test_a_stored_symmetric_basis_is_the_searched_one_on_any_ranks(comm, mpi_tmp_path):
    """The representatives a checkpoint keeps, written on all ranks and read on fewer (and the
    reverse), make the basis the search makes there: the same states, norms and fingerprint."""
    from fockmpi.basis.make import make_basis
    from fockmpi.basis.sector import Sector
    from fockmpi.io.checkpoint import problem_identity, read_checkpoint_basis, write_checkpoint
    from fockmpi.app.solve import sector_groups
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [16]), J2=0.3)
    sector = Sector(model.space, {"Sz": 0})
    group = sector_groups(model.lattice, model.space, model.hamiltonian, sector,
                          fockmpi.symmetry_sectors(model.lattice, momentum=0, spin_flip=1))[0]
    fewer = comm.Split(0 if comm.rank < max(1, comm.size - 1) else 1, comm.rank)
    in_fewer = comm.rank < max(1, comm.size - 1)
    for k, (written_on, read_on) in enumerate(((comm, fewer), (fewer, comm))):
        path = os.path.join(mpi_tmp_path, f"basis-{k}.h5")
        if written_on is comm or in_fewer:
            basis = make_basis(sector, group, written_on)
            write_checkpoint(path, written_on, basis, problem_identity("x"), [], [], [], with_basis=True)
        comm.Barrier()
        ok = True
        if read_on is comm or in_fewer:
            searched = make_basis(sector, group, read_on)
            stored = make_basis(sector, group, read_on, stored=read_checkpoint_basis(path, read_on))
            ok = (stored.fingerprint() == searched.fingerprint() and stored.start == searched.start
                  and np.array_equal(stored.states, searched.states) and np.array_equal(stored.norms, searched.norms)
                  and np.array_equal(stored.bounds, searched.bounds))
        all_ok(comm, ok, f"basis written on {written_on.size} ranks, read on {read_on.size}")
    fewer.Free()
