"""Programs of BLAS/LAPACK operations built by hand, for the demo, docs and tests."""
from computations.matrices.examples.kalman import kalman, kalman_numpy, kalman_program

__all__ = ['kalman', 'kalman_numpy', 'kalman_program']
