"""Every BLAS/LAPACK operation against NumPy, and its declared inplace map against the routine.

Hypothesis draws shapes (1 to 60, non-square, vectors), transposes, sides,
triangles, unit diagonals and scalars (tests/matrix_cases.py); the reference
is a plain NumPy evaluation of the operation's SymPy outputs
(tests/reference.py), never this library's code.
"""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy.matrices.expressions.factorizations import Factorization

from computations.matrices import GESV, GETRF, LU, OPERATIONS, LofCholesky, LUPivots
from matrix_cases import op_case
from computations.testing import evaluate, relative_error
from computations.schedulers import prepare_inputs
from computations.schedulers.kernels import run

TOLERANCE = {np.float64: 1e-10, np.float32: 1e-4}
names = [cls.__name__ for cls in OPERATIONS]


def cast(values, variables, dtype):
    """The op's inputs, matrices cast to ``dtype`` (integer pivots left alone)."""
    return {v: values[v].astype(dtype) if isinstance(values[v], np.ndarray)
            and values[v].dtype.kind == 'f' else values[v] for v in variables}


def unpack_lu(lu, piv):
    """P, L, U with P @ A == L @ U, from LAPACK's packed factors and 0-based pivots."""
    n = lu.shape[0]
    perm = np.arange(n)
    for i, p in enumerate(piv):
        perm[[i, p]] = perm[[p, i]]
    return np.eye(n)[perm], np.tril(lu, -1) + np.eye(n), np.triu(lu)


def assert_matches_numpy(op, outputs, values, dtype):
    """Each of ``outputs`` (``op``'s, computed in ``dtype``) against a NumPy evaluation of
    its expression on ``values``: LU factors through their product, pivots by type."""
    for expr, got in zip(op.outputs, outputs):
        if getattr(expr, 'element_type', None) == 'int32':      # pivots (LU's, LDL's)
            assert got.dtype == np.int32
            continue
        if not isinstance(expr, sympy.MatrixExpr):   # a scalar: float, np.float32 in float32
            assert type(got) is (float if dtype == np.float64 else np.float32)
            expected = evaluate(expr, values)        # log-determinants may be near 0
            assert abs(got - expected) <= TOLERANCE[dtype] * max(abs(expected), 1.0)
            continue
        assert got.dtype == dtype and got.shape == tuple(map(int, expr.shape))
        if isinstance(expr, Factorization) and not isinstance(expr, (LU, LofCholesky)):
            continue                # packed factors without a NumPy counterpart (SYSV's LDL)
        if isinstance(expr, LU):
            P, L, U = unpack_lu(got, outputs[op.outputs.index(LUPivots(expr.arg))])
            a = values[expr.arg]
            assert relative_error(L @ U, P @ a) <= TOLERANCE[dtype]
        else:
            assert relative_error(got, evaluate(expr, values)) <= TOLERANCE[dtype], expr


@pytest.mark.parametrize('cls', OPERATIONS, ids=names)
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_operation_matches_numpy(cls, data, dtype):
    op, values = data.draw(op_case(cls))
    prepared = prepare_inputs(op.inputs, cast(values, op.inputs, dtype))
    assert_matches_numpy(op, run(op, [prepared[v] for v in op.inputs]), values, dtype)


@pytest.mark.parametrize('cls', OPERATIONS, ids=names)
@given(data=st.data())
@settings(max_examples=40)
def test_inplace_map_is_what_the_routine_overwrites(cls, data):
    """Allowed to overwrite exactly what ``op.inplace`` declares, on Fortran-ordered copies:
    each declared output lands in its input's buffer; every other input is untouched;
    every other output is a new buffer."""
    op, values = data.draw(op_case(cls))
    prepared = prepare_inputs(op.inputs, cast(values, op.inputs, np.float64))
    args = [np.array(prepared[v], order='F', copy=True) if isinstance(prepared[v], np.ndarray)
            else prepared[v] for v in op.inputs]
    before = [np.copy(a) for a in args]
    destroyed = set(op.inplace.values())
    outputs = run(op, args, overwrite=destroyed)
    for out, inp in op.inplace.items():
        assert np.shares_memory(outputs[out], args[inp]), (out, inp)
    for i, (arg, old) in enumerate(zip(args, before)):
        if i not in destroyed:
            assert np.array_equal(arg, old), f'input {i} ({op.inputs[i]}) was modified'
    for j, out in enumerate(outputs):
        if j not in op.inplace:
            assert not any(isinstance(a, np.ndarray) and np.shares_memory(out, a) for a in args)


@pytest.mark.parametrize('cls', OPERATIONS, ids=names)
@given(data=st.data())
@settings(max_examples=40)
def test_without_permission_nothing_is_overwritten(cls, data):
    op, values = data.draw(op_case(cls))
    prepared = prepare_inputs(op.inputs, cast(values, op.inputs, np.float64))
    args = [prepared[v] for v in op.inputs]
    before = [np.copy(a) for a in args]
    outputs = run(op, args)
    for arg, old in zip(args, before):
        assert np.array_equal(arg, old)
    for out in outputs:
        assert not any(isinstance(a, np.ndarray) and np.shares_memory(out, a) for a in args)


def test_getrf_and_gesv_are_in_the_sweep():
    # LU outputs are checked by reconstruction above, not by the evaluator.
    assert GETRF in OPERATIONS and GESV in OPERATIONS
