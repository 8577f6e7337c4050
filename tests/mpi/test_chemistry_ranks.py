"""FCIDUMP chemistry on 1, 2 and 3 ranks: water/STO-3G with ORBSYM (a constrained basis split over
ranks) equals PySCF's FCI, and <S^2> of the roots assembled on the ranks is PySCF's spin_square."""
import numpy as np
import pytest
from test_pipeline import all_ok

import fockmpi
import fockmpi.runtime

fockmpi.runtime.import_h5py()  # before PySCF imports h5py (Debian's MPI build)
pyscf = pytest.importorskip("pyscf")


def test_water_on_ranks(comm, mpi_tmp_path):
    from fockmpi.models.chemistry import fcidump
    from fockmpi.observables import expectation_values
    import os
    path, ref = os.path.join(mpi_tmp_path, "water.fcidump"), None
    if comm.rank == 0:  # PySCF writes the file and solves it (serial, no MPI inside)
        from pyscf import ao2mo, fci, gto, scf, symm
        from pyscf.tools import fcidump as writer
        mol = gto.M(atom="O 0 0 0; H 0 0.757 0.587; H 0 -0.757 0.587", basis="sto-3g", verbose=0, symmetry=True)
        mf = scf.RHF(mol).run()
        writer.from_scf(mf, path, molpro_orbsym=True)
        orbsym = symm.label_orb_symm(mol, mol.irrep_id, mol.symm_orb, mf.mo_coeff)
        solver = fci.direct_spin1_symm.FCI(mol)
        solver.wfnsym = 0
        e, v = solver.kernel(mf.mo_coeff.T @ mf.get_hcore() @ mf.mo_coeff, ao2mo.kernel(mol, mf.mo_coeff), 7, (5, 5),
                             ecore=mol.energy_nuc(), orbsym=orbsym, nroots=2)
        ref = (list(e), [fci.spin_op.spin_square(x, 7, (5, 5))[0] for x in v])
    ref = comm.bcast(ref)
    rt = fockmpi.Runtime.start("real")
    model = fcidump(path)
    found = fockmpi.solve(model, model.default_sector, nev=2, quiet=True, runtime=rt)
    all_ok(comm, found.basis.dim == 133, "A1 determinants")
    all_ok(comm, np.allclose(found.eigenvalues[:2], ref[0], atol=1e-9), f"energies {found.eigenvalues} {ref[0]}")
    s2 = expectation_values(model.observables["S2"], model.space, ["N_dn", "N_up"], found.basis, found.vectors[:2],
                            comm, rt.PETSc)
    all_ok(comm, np.allclose(s2, ref[1], atol=1e-8), f"<S^2> {s2} {ref[1]}")
