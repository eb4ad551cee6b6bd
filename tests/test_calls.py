"""Every operation through both runners, from its call spec, against NumPy.

A BLAS/LAPACK operation declares its scipy call once, as data (``cls.call``);
schedulers/calls.py derives from it both the interpretive kernel and the
generated line (so does an operation whose routine is a NumPy kernel of
calls.py with a spec, such as DIAGMM_ROOT).  So: every routine has
a spec and no hand-written kernel or emitter; each spec fits its operation; and every operation of the vocabulary
(discovered from the classes, so a new one is covered without a list to
edit), on random instances of every flag combination (tests/matrix_cases.py)
in float64 and float32, with and without permission to overwrite, gives
through the interpreter and through generated source what NumPy gives.
"""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol

from computations.inplace import TokenComputation, TokenProgram, inplace_compile
from computations.matrices import (OPERATIONS, POSV, POTRS, TRTRI, LofCholesky,
                                   MatrixComputation)
from computations.matrices.ops.core import Call
from computations.schedulers import prepare_inputs
from computations.schedulers.calls import KERNELS
from computations.schedulers.codegen import generate
from computations.schedulers.emitters import emit
from computations.schedulers.kernels import kernel, run
from matrix_cases import op_case
from test_matrices_numeric import assert_matches_numpy, cast

names = [cls.__name__ for cls in OPERATIONS]
ROUTINES = [cls for cls in OPERATIONS if cls.library in ('blas', 'lapack')
            or cls.library == 'numpy' and cls.routine in KERNELS]


def test_every_routine_has_a_spec_and_no_hand_written_kernel_or_emitter():
    assert len(ROUTINES) >= 18                 # (the 18 of this writing, and any added)
    for cls in OPERATIONS:
        if cls in ROUTINES:
            assert isinstance(cls.call, Call), cls
            assert kernel.dispatch(cls) is kernel.dispatch(MatrixComputation), cls
            assert emit.dispatch(cls) is emit.dispatch(MatrixComputation), cls
        else:
            assert cls.call is None, cls


@pytest.mark.parametrize('cls', ROUTINES, ids=[cls.__name__ for cls in ROUTINES])
@given(data=st.data())
@settings(max_examples=10, deadline=None)
def test_the_spec_fits_the_operation(cls, data):
    """Arguments the op has; an overwrite flag for each argument an output is written into;
    each output returned once; fix-ups on outputs that exist."""
    op, _ = data.draw(op_case(cls))
    spec = op.call
    named = [*spec.arguments, *spec.keywords.values()]
    assert set(named) <= set(op.arguments) and len(set(named)) == len(named)
    assert set(spec.overwrite) == set(op.overwrites.values())
    assert set(spec.optional) | set(spec.optional.values()) <= set(spec.arguments)
    assert set(spec.vectors) <= set(named)
    returned = [r for r in spec.returns if isinstance(r, int)]
    assert sorted(returned) == list(range(len(op.outputs)))
    assert set(spec.clears) | set(op.symmetric_outputs) <= set(returned)
    assert spec.diagonal is None or spec.diagonal in op.triangles
    assert set(spec.flag_values(op).values()) <= {0, 1}


def _program(op, donate):
    """The token program running ``op`` alone (COPY: into a second buffer)."""
    if op.output_is_input:
        return TokenProgram(TokenComputation(op, ['X'], ['X_2']))
    return inplace_compile(op, donate=donate)


@pytest.mark.parametrize('cls', OPERATIONS, ids=names)
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]), donate=st.booleans())
@settings(max_examples=12, deadline=None)
def test_interpreter_and_generated_source_match_numpy(cls, data, dtype, donate):
    op, values = data.draw(op_case(cls))
    prepared = prepare_inputs(op.inputs, cast(values, op.inputs, dtype))

    def arrays():                      # fresh Fortran-ordered copies, to be destroyed or not
        return [np.array(prepared[v], order='F', copy=True)
                if isinstance(prepared[v], np.ndarray) else prepared[v] for v in op.inputs]

    allowed = set(op.inplace.values()) if donate else set()
    given_ = arrays()
    interpreted = run(op, given_, allowed)
    assert_matches_numpy(op, interpreted, values, dtype)

    program = _program(op, op.inputs if donate else ())
    generated = generate(program, parameters=list(op.inputs), results=op.outputs, dtype=dtype)
    given_ = arrays()
    produced = generated(*given_)
    assert_matches_numpy(op, produced, values, dtype)
    for got, want in zip(produced, interpreted):
        if isinstance(want, np.ndarray) and want.dtype.kind == 'i':
            np.testing.assert_array_equal(got, want)               # the same pivots
    if not donate:
        for variable, after in zip(op.inputs, given_):
            assert np.array_equal(after, prepared[variable]), f'{variable} was modified'


# ------------------------------------------------------------------- stale triangles, decided once

A, B, C = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 2), MatrixSymbol('C', 3, 1)
SPD = np.array([[4., 1., 0.], [1., 3., 1.], [0., 1., 2.]], order='F')


def test_posv_clears_its_factor_unless_every_reader_reads_the_lower_triangle():
    """A -> [POSV] -> chol(A) -> [POTRS] -> A.I*C: POTRS reads one triangle; a returned
    factor is cleared.  The interpreter clears unless told (``one_triangle``)."""
    b = np.ones((3, 2), order='F')
    for one_triangle, cleared in (((), True), ({1}, False)):
        _, factor = run(POSV(A, B), [np.array(SPD, order='F'), b], one_triangle=one_triangle)
        assert np.array_equal(np.triu(factor, 1) == 0, np.ones((3, 3), bool)) == cleared
    read = generate(inplace_compile(POSV(A, B) + POTRS(A, C)), results=[A.I * B, A.I * C])
    assert 'zero_upper' not in read.source
    returned = generate(inplace_compile(POSV(A, B)), results=[A.I * B, LofCholesky(A)])
    assert 'zero_upper(' in returned.source
    _, factor = returned(SPD, b)
    np.testing.assert_allclose(factor, np.linalg.cholesky(SPD))


def test_generated_source_calls_the_routine_with_the_spec_flags():
    source = generate(inplace_compile(TRTRI(A, lower=False, unit_diagonal=True)),
                      results=[A.I]).source
    assert 'dtrtri(A, unitdiag=1)' in source and 'zero_lower(' in source, source
    assert 'if info: fail(TRTRI, info)' in source
    assert sympy.srepr(TRTRI.call.flag_values(TRTRI(A))) == "{'lower': 1, 'unitdiag': 0}"
