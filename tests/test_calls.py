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
from computations.matrices import (AXPY, OPERATIONS, POSV, POTRF, POTRI, POTRS, SYRK, TRMM,
                                   TRSM, TRTRI, LofCholesky, MatrixComputation)
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
    assert set(spec.inherits) <= set(spec.clears) and set(spec.elementwise) <= set(named)
    # a diagonal checked is of a triangular argument or of packed LU factors (U's)
    assert spec.diagonal is None or spec.diagonal in op.triangles or spec.diagonal == 'LU'
    assert spec.diagonal is None or op.failure is not None
    assert set(spec.scratch) <= set(named)
    assert set(spec.flag_values(op).values()) <= {0, 1}


TRANSPOSABLE = [cls for cls in ROUTINES if cls.call.transposable]


def test_the_level_3_products_take_c_ordered_operands():
    assert {'GEMM', 'SYMM', 'SYRK', 'GEMV', 'TRMM', 'TRSM'} <= {c.__name__ for c in TRANSPOSABLE}


@pytest.mark.parametrize('cls', TRANSPOSABLE, ids=[cls.__name__ for cls in TRANSPOSABLE])
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
@settings(max_examples=15, deadline=None)
def test_a_c_ordered_operand_is_passed_as_its_transpose(cls, data, dtype):
    """A C-ordered array for a ``transposable`` argument gives NumPy's result, reading the
    entries it read Fortran-ordered (NaN in the others: a triangle the routine does not
    read, a unit diagonal), reaches the routine Fortran-ordered (f2py copies nothing) and
    is left as it was."""
    from computations.schedulers import calls
    op, values = data.draw(op_case(cls))
    prepared = prepare_inputs(op.inputs, cast(values, op.inputs, dtype))
    given_ = [np.array(prepared[v], order='F', copy=True) if isinstance(prepared[v], np.ndarray)
              else prepared[v] for v in op.inputs]
    c_ordered = {i for i, name in enumerate(op.input_arguments)
                 if name in op.call.transposable and given_[i].shape[0] > 1
                 and given_[i].shape[1] > 1}
    for i in c_ordered:                   # NaN where the routine must not read
        given_[i][_unread(op, op.input_arguments[i], given_[i].shape)] = np.nan
        given_[i] = np.ascontiguousarray(given_[i])
    before = [np.copy(x) if isinstance(x, np.ndarray) else x for x in given_]
    seen, routine = [], calls.routine

    def recording(op_, *arrays):
        wrapper = routine(op_, *arrays)

        def call(*args, **kwargs):
            seen.extend(a for a in (*args, *kwargs.values())
                        if isinstance(a, np.ndarray) and a.ndim == 2)
            return wrapper(*args, **kwargs)
        return call
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(calls, 'routine', recording)
        got = run(op, given_, set())
    assert_matches_numpy(op, got, values, dtype)
    assert all(a.flags.f_contiguous for a in seen)
    for i in c_ordered:
        assert given_[i].flags.c_contiguous
        assert np.array_equal(given_[i], before[i], equal_nan=True)


def _unread(op, name, shape):
    """Where routine ``op`` reads nothing of its argument ``name`` (of ``shape``): the
    other triangle of a triangular or symmetric argument (a symmetric one's read triangle
    is the ``lower`` flag's), and a unit diagonal."""
    triangle = op.triangles.get(name)
    if triangle is None and op.requires.get(name) == sympy.Q.symmetric:
        triangle = op.call.written(op)
    rows, columns = np.indices(shape)
    unread = np.zeros(shape, dtype=bool)
    if triangle in ('lower', 'upper'):
        unread = rows < columns if triangle == 'lower' else rows > columns
        if getattr(op, 'unit_diagonal', False):
            unread |= rows == columns
    return unread


def test_a_call_spec_refuses_a_transposable_argument_it_writes():
    with pytest.raises(ValueError, match="transposable argument 'C'"):
        Call(('A', 'C'), (0,), overwrite={'C': 'overwrite_c'}, transposable={'C': ('trans',)})


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
    # by position (dtrtri(c, lower, unitdiag, overwrite_c): lower's default 0 fills its
    # place), the flags named in a comment
    assert 'dtrtri(A, 0, 1)  # unitdiag=1' in source, source
    assert 'if info: fail(TRTRI, info)' in source
    assert sympy.srepr(TRTRI.call.flag_values(TRTRI(A))) == "{'lower': 1, 'unitdiag': 0}"
    # a constant flag is passed even when 0: scipy's POTRF cleans by default
    assert 'dpotrf(A, 1, 0)  # lower=1, clean=0' in generate(inplace_compile(POTRF(A)),
                                                            results=[LofCholesky(A)]).source


def test_every_routine_is_called_by_position():
    # The generated calls pass every argument by position (keywords cost f2py 0.1 us
    # each): every name a spec passes must be a parameter of both typed wrappers, and
    # every parameter a call skips gets a value the wrapper takes (its numeric default,
    # or None).  What the calls compute is checked against NumPy for every op by
    # test_matrices_numeric, which runs the generated source.
    from scipy.linalg import blas, lapack
    from computations.schedulers.calls import by_position, wrapper_defaults, wrapper_parameters
    for cls in ROUTINES:
        if cls.library == 'numpy':
            continue
        spec = cls.call
        names = {*spec.flags, *spec.keywords, *spec.workspace, *spec.overwrite.values()}
        names.discard(None)
        for prefix in 'sd':
            wrapper = getattr(blas if cls.library == 'blas' else lapack, prefix + cls.routine)
            parameters = wrapper_parameters(wrapper)
            assert parameters[:len(spec.arguments)] and names <= set(parameters), \
                (cls.__name__, names - set(parameters))
            given, comment = by_position(wrapper, ['x'] * len(spec.arguments),
                                         {name: 1 for name in names})
            assert not any('=' in g for g in given), (cls.__name__, given)
            skipped = [p for p, g in zip(parameters, given) if g not in ('x', '1')]
            assert all(p.startswith('overwrite_') <= (p in wrapper_defaults(wrapper))
                       for p in skipped), (cls.__name__, skipped)


def test_potrf_leaves_the_upper_triangle_to_readers_of_the_lower_one():
    """A -> [POTRF] -> chol(A) -> [TRSM, POTRS, TRMM, POTRI]: each reads the lower
    triangle, so the factor is not cleared (``clean=0``; scipy's default clears it at
    O(n^2)); returned, it is cleared, by ``zero_upper``."""
    L = LofCholesky(A)
    readers = POTRF(A) + TRSM(1, L, B) + POTRS(A, C) + TRMM(1, L, B.T, side='R') + POTRI(A)
    results = [L.I * B, A.I * C, B.T * L, A.I]
    read = generate(inplace_compile(readers), parameters=[A, B, C, B.T], results=results)
    assert 'clean=0' in read.source and 'zero_upper' not in read.source, read.source
    b, c = np.arange(6.).reshape(3, 2, order='F'), np.ones((3, 1), order='F')
    chol, inverse = np.linalg.cholesky(SPD), np.linalg.inv(SPD)
    for got, want in zip(read(SPD, b, c, b.T.copy(order='F')),
                         [np.linalg.solve(chol, b), inverse @ c, b.T @ chol, inverse]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    returned = generate(inplace_compile(POTRF(A)), results=[L])
    assert 'zero_upper(' in returned.source
    np.testing.assert_array_equal(returned(SPD)[0], np.linalg.cholesky(SPD))
    for one_triangle, cleared in (((), True), ({0}, False)):       # the interpreter
        factor, = run(POTRF(A), [np.array(SPD, order='F')], one_triangle=one_triangle)
        assert (np.triu(factor, 1) == 0).all() == cleared


def test_trtri_clears_only_a_stale_triangle():
    """TRTRI keeps the other triangle of its argument: zero for a triangular matrix the
    caller gives (not cleared again), A's old values for POSV's factor (cleared when the
    inverse is returned)."""
    for lower, clear in ((True, 'zero_upper('), (False, 'zero_lower(')):
        given = generate(inplace_compile(TRTRI(A, lower=lower)), results=[A.I])
        assert 'zero_' not in given.source, given.source
        T = np.tril(SPD) if lower else np.triu(SPD)
        np.testing.assert_allclose(given(np.array(T, order='F'))[0], np.linalg.inv(T),
                                   rtol=1e-12)
    L = LofCholesky(A)
    stale = generate(inplace_compile(POSV(A, C) + TRTRI(L)), results=[A.I * C, L.I])
    assert 'zero_upper(' in stale.source, stale.source
    _, inverse = stale(SPD, np.ones((3, 1), order='F'))
    np.testing.assert_allclose(inverse, np.linalg.inv(np.linalg.cholesky(SPD)), atol=1e-12)


def test_an_elementwise_reader_reads_the_triangle_its_output_is_read_in():
    """X -> [SYRK] -> X.T*X (lower) -> [AXPY with S] -> S + X.T*X -> [POSV]: AXPY reads entry
    by entry, POSV the lower triangle, so SYRK's result is not completed; returned (or
    read whole), the sum is, and so is SYRK's result before it."""
    X, S, b = MatrixSymbol('X', 4, 3), MatrixSymbol('S', 3, 3), MatrixSymbol('b', 3, 1)
    G = X.T * X
    ops = SYRK(1, X, trans=True) + AXPY(1, S, G)
    total = AXPY(1, S, G).outputs[0]
    x, s = np.arange(1., 13.).reshape(4, 3, order='F'), np.array(SPD, order='F')
    solved = generate(inplace_compile(ops + POSV(total, b)), parameters=[X, S, b],
                      results=[total.I * b])
    assert 'symmetrize' not in solved.source, solved.source
    np.testing.assert_allclose(solved(x, s, np.ones((3, 1), order='F'))[0],
                               np.linalg.solve(s + x.T @ x, np.ones((3, 1))), rtol=1e-10)
    returned = generate(inplace_compile(ops), parameters=[X, S], results=[total])
    assert 'symmetrize(' in returned.source, returned.source
    np.testing.assert_allclose(returned(x, s)[0], s + x.T @ x, rtol=1e-12)
