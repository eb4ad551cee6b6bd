"""The execution layer: in what order, and on what, a program runs.

It imports ``computations`` and ``inplace``; neither imports it.

>>> import sympy
>>> from computations.matrices import GEMM
>>> A = sympy.MatrixSymbol('A', 1, 1)
>>> execute(GEMM(3, A, A), {A: [[2.0]]})[3 * A * A]
array([[12.]])
"""
from .execute import compile_program, execute, prepare_inputs, run_program
from .interpret import interpret
from .kernels import kernel
from .pipeline import Lowered, lower
from . import blocked  # noqa: F401  (registers how blocked programs run)

__all__ = ['execute', 'compile_program', 'run_program', 'prepare_inputs', 'interpret', 'kernel',
           'lower', 'Lowered']
