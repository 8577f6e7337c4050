"""Small dense references shared by the command-line tests (no fockmpi inside)."""
import numpy as np
from dense_reference import DenseSystem
from scipy import sparse


def dense_heisenberg_chain_spectrum(L, J2=0.0, Sz=0.0):
    """Spectrum of the J1-J2 Heisenberg ring in one Sz sector (dense, Kronecker products)."""
    D = DenseSystem(["spin"] * L)
    M = 0
    for d, J in ((1, 1.0), (2, J2)):
        for i in range(L):
            if J:
                M = M + J * sum(sparse.csr_matrix(D.spin(i, a)) @ sparse.csr_matrix(D.spin((i + d) % L, a))
                                for a in "xyz")
    return D.sector_eigvals(np.real(M.toarray()), Sz=Sz)
