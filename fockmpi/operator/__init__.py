"""Distributed operators: an Operator compiled for the kernels (compile), stored PETSc matrices
(assemble), the matrix-free product (shell), and matrices between two sectors (between)."""
