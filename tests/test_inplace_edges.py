"""Edge cases of the inplace pass, the checker and execute (found in review)."""
import numpy as np
import pytest
import sympy
from sympy import MatrixSymbol

from computations import CompositeComputation, Identity
from computations.matrices import AXPY, GEMM, POSV, POTRF, SCAL, TRMM
from computations.inplace import (Copy, DonateError, TokenComputation as T, TokenProgram,
                                  UnsafeInplaceError, check, inplace_compile, safe_order,
                                  token_name)
from computations.testing import Mix
from computations.schedulers import execute

A, B, X, Y = (MatrixSymbol(s, 2, 2) for s in 'ABXY')


def spd():
    return np.asfortranarray([[4.0, 1.0], [1.0, 3.0]])


def test_a_donated_read_only_array_is_copied_not_written(tmp_path):
    """A@A -> [POTRF] => LofCholesky(A)@A, with A donated but not writeable"""
    path = tmp_path / 'a.bin'
    spd().T.tofile(path)                                      # Fortran order on disk
    m = np.memmap(path, dtype='float64', mode='r', shape=(2, 2), order='F')
    out = execute(POTRF(A), {A: m}, donate=[A])               # must not crash in Fortran
    np.testing.assert_allclose(out[POTRF(A).outputs[0]], np.linalg.cholesky(spd()))
    a = spd()
    a.setflags(write=False)
    execute(POSV(A, B), {A: a, B: np.ones((2, 2))}, donate=[A, B])
    assert np.array_equal(a, spd())


def test_the_pass_reads_names_as_the_runners_do():
    """``donate=['A', 'B']`` is ``donate=[A, B]`` in the inplace pass and its checker, as in
    ``execute``, ``lower`` and ``function`` (the pass read a name as a value no input is,
    and donated nothing: every input it could overwrite was copied)."""
    by_name, by_variable = (inplace_compile(POSV(A, B), donate=d) for d in (['A', 'B'], [A, B]))
    assert by_name == by_variable and not any(isinstance(node.comp, Copy) for node in by_name)
    check(by_name, donate=['A', 'B'])
    assert safe_order(by_name, donate=['A', 'B']) == safe_order(by_name, donate=[A, B])
    with pytest.raises(UnsafeInplaceError, match="the caller's input"):
        check(by_name, donate=['B'])


def test_a_misspelt_name_is_refused_and_a_value_of_another_computation_donates_nothing():
    """A name can only mean an input of the computation: one that is none raises DonateError
    naming it (in the pass, the checker and ``execute``).  A value that is not an input --
    one donate list serving the parts of a program, as the kernel tests and notebook 03 do
    -- and a scalar donate nothing there."""
    for call in (lambda: inplace_compile(POSV(A, B), donate=['A', 'x']),
                 lambda: check(inplace_compile(POSV(A, B)), donate=['x']),
                 lambda: execute(POSV(A, B), {A: spd(), B: np.ones((2, 2))}, donate=['x'])):
        with pytest.raises(DonateError, match=r'donate: x is not an input of the computation '
                                              r'\(inputs: A, B\)'):
            call()
    other = [MatrixSymbol('x', 2, 1), sympy.Symbol('c'), sympy.Integer(2)]
    assert inplace_compile(POSV(A, B), donate=other) == inplace_compile(POSV(A, B))
    assert inplace_compile(POSV(A, B), donate=other + [B]) == inplace_compile(POSV(A, B),
                                                                              donate=[B])


def test_one_array_for_a_donated_and_a_kept_input():
    """B, X@x -> [AXPY] => X + B@x (donated) ;  Y -> [GEMM] -> Y*Y, where X and Y are one array"""
    a = np.asfortranarray([[1.0, 2.0], [3.0, 4.0]])
    out = execute(AXPY(1, B, X) + GEMM(1, Y, Y), {B: np.eye(2), X: a, Y: a}, donate=[X])
    np.testing.assert_allclose(out[Y * Y], [[7, 10], [15, 22]])
    assert a.tolist() == [[1, 2], [3, 4]]


def test_one_value_in_two_input_tokens_is_rejected():
    """X@a -> [SCAL] => 2*X@a ;  X@b -> [GEMM]: one value cannot start in two buffers"""
    program = TokenProgram(T(SCAL(2, X), ['a'], ['a']), T(GEMM(1, X, X), ['b', 'b'], ['c']))
    with pytest.raises(UnsafeInplaceError, match='input X starts in two tokens'):
        check(program, donate=[X])


def test_a_hand_made_token_program_with_donation_runs():
    """X@X -> [SCAL] => 2*X@X, as a plain composite"""
    program = CompositeComputation(T(SCAL(2, X), ['X'], ['X']))
    out = execute(program, {X: np.ones((2, 2))}, donate=[X])
    assert out[2 * X].tolist() == [[2, 2], [2, 2]]
    assert execute(program, {X: np.ones((2, 2))}, donate=[X], inplace=False)[2 * X][0, 0] == 2


def test_identity_keeps_its_token():
    with pytest.raises(ValueError, match="passes X through: its output token must be its input"):
        T(Identity(X), ['a'], ['b'])


def test_identity_of_a_repeated_variable():
    c = GEMM(1, A, B) + Identity(A * B, A * B)
    out = execute(c, {A: np.eye(2), B: 2 * np.eye(2)})
    assert out[A * B].tolist() == [[2, 0], [0, 2]]


def test_inplace_maps_must_fit_the_operation():
    with pytest.raises(ValueError, match=r'declares the inplace map \{0: 0, 1: 0\}'):
        inplace_compile(Mix(['x'], ['y', 'z'], [(0, 0), (1, 0)]))


def test_constant_inputs_are_made_not_asked_for():
    """A, B, I -> [GEMM] -> A*B + I  (I is built from the bound dimensions)"""
    n = sympy.Symbol('n')
    An, Bn = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    comp = GEMM(1, An, Bn, 1, sympy.Identity(n))
    out = execute(comp, {An: np.eye(3), Bn: 2 * np.eye(3)})
    assert out[comp.outputs[0]].tolist() == (3 * np.eye(3)).tolist()


def test_outputs_that_are_inputs_are_rejected_when_built():
    with pytest.raises(ValueError, match='computes X, which is already one of its inputs'):
        SCAL(1, X)
    with pytest.raises(ValueError, match='already one of its inputs'):
        TRMM(1, sympy.Identity(2), B)


def test_tokens_of_unusual_names_are_identifiers():
    assert token_name(MatrixSymbol('A²', 2, 2)).isidentifier()
    program = inplace_compile(SCAL(2, MatrixSymbol('A²', 2, 2)))
    check(program)


def test_a_passed_through_input_is_returned_as_a_copy():
    x = np.ones((2, 2))
    out = execute(SCAL(2, X) + Identity(X), {X: x})
    assert out[X] is not x and np.array_equal(out[X], x)


def test_donation_copies_nothing_it_need_not():
    """The Kalman program with every input donated writes its results into the caller's
    arrays and allocates only its two n-by-k temporaries."""
    from computations.matrices.examples import kalman, kalman_program
    (mu, Sigma, H, R, data), (newmu, newSigma), _ = kalman()
    variables = [mu, Sigma, H, R, data]
    rng = np.random.default_rng(0)
    s, q = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))
    values = [rng.standard_normal((6, 1)), s @ s.T + 6 * np.eye(6), rng.standard_normal((3, 6)),
              q @ q.T + 3 * np.eye(3), rng.standard_normal((3, 1))]
    # Equal but not identical SymPy objects as keys, as a user would build them.
    keys = [MatrixSymbol(v.name, *v.shape) for v in variables]
    stats = {}
    arrays = [np.asfortranarray(v) for v in values]
    out = execute(kalman_program(), dict(zip(keys, arrays)), donate=keys, stats=stats)
    assert stats['allocated_bytes'] == 2 * 6 * 3 * 8         # Sigma*H.T and H*Sigma
    assert out[newSigma] is arrays[1] and np.shares_memory(out[newmu], arrays[0])


# The order of a program whose buffers are reused; one shape per buffer (found in review)

def _reused_program():
    """``A**2`` written into a buffer that ``B*C`` takes over once ``C*A**2`` has read it:
    the order is part of the program (nothing in the data says ``B*C`` comes later)."""
    from computations.schedulers.pipeline import lower
    n = 40
    A, B, C = (MatrixSymbol(s, n, n) for s in 'ABC')
    program = lower(GEMM(1, A, A) + GEMM(1, A**2, A) + GEMM(1, C, A**2) + GEMM(1, B, C)).program
    tokens = [value.token for node in program for value in node.outputs]
    assert len(tokens) > len(set(tokens)), 'the example must reuse a buffer'
    rng = np.random.default_rng(0)
    values = {name: np.asfortranarray(rng.standard_normal((n, n))) for name in 'ABC'}
    return program, (A, B, C), values


def test_a_reused_program_keeps_its_order_through_pickling():
    import pickle
    from computations.schedulers import interpret
    from computations.schedulers.codegen import generate
    program, (A, B, C), values = _reused_program()
    again = pickle.loads(pickle.dumps(program))
    assert again.toposort() == program.toposort()
    want = values['C'] @ values['A'] @ values['A']

    def error(got):
        return np.abs(got - want).max() / np.abs(want).max()
    for p in (program, again):
        assert error({v.expr: r for v, r in interpret(p, values).items()}[C * A**2]) <= 1e-13
        source = generate(p, parameters=[A, B, C], results=[C * A**2])
        assert error(source(values['A'], values['B'], values['C'])[0]) <= 1e-13


@pytest.mark.parametrize('rebuild', [lambda p: TokenProgram(*p.computations),
                                     lambda p: CompositeComputation(p)])
def test_a_reused_program_rebuilt_from_its_nodes_refuses_to_guess_its_order(rebuild):
    """Rebuilt from its node set, the program has no order: it ran ``B*C`` into the buffer
    before ``C*A**2`` read ``A**2`` from it (an error of 194, silently)."""
    from computations.inplace import AmbiguousOrderError, execution_order
    from computations.schedulers import interpret
    program, _, values = _reused_program()
    rebuilt = rebuild(program)
    with pytest.raises(AmbiguousOrderError, match="share buffer 'pow_A'"):
        execution_order(rebuilt)
    with pytest.raises(AmbiguousOrderError):
        interpret(rebuilt, values)


def test_two_values_of_one_buffer_are_ordered_by_the_data():
    """Without an order given, a buffer reused for a value computed from the one it held
    (``X`` read by GEMM, then the buffer takes ``2*(X*X)``): the readers of the first run
    before the second is written."""
    first, square = T(SCAL(3, X), ['X'], ['t']), T(GEMM(1, 3 * X, 3 * X), ['t', 't'], ['u'])
    last = T(SCAL(2, (3 * X)**2), ['u'], ['t'])
    program = TokenProgram(last, square, first)
    assert program.toposort() == (first, square, last)
    assert check(program, donate=[X]) == (first, square, last)


def test_a_buffer_holds_values_of_one_shape():
    """``x.T`` (1 x 3) written into the 3 x 3 buffer of a dead ``A*B``: the generated source
    broadcast it into a 3 x 3 array."""
    from computations.matrices import TRANSPOSE
    A3, B3, x = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3), MatrixSymbol('x', 3, 1)
    program = TokenProgram(T(GEMM(1, A3, B3), ['A', 'B'], ['t']),
                           T(GEMM(1, A3 * B3, x), ['t', 'x'], ['y']),
                           T(TRANSPOSE(x), ['x'], ['t']))
    with pytest.raises(UnsafeInplaceError, match=r"token 't' holds A\*B \(shape \(3, 3\)\) "
                                                 r"and x.T \(shape \(1, 3\)\)"):
        check(program)
    n = sympy.Symbol('n')
    An, xn = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    steps = (T(GEMM(1, An, An), ['A', 'A'], ['t']), T(GEMM(1, An * An, xn), ['t', 'x'], ['y']),
             T(TRANSPOSE(xn), ['x'], ['t']))
    symbolic = TokenProgram(*steps)
    check(symbolic, steps)                           # n = 1 would fit: the sizes decide
    with pytest.raises(UnsafeInplaceError, match='one shape'):
        check(symbolic, steps, shapes=lambda e: tuple(int(d.subs(n, 3)) for d in e.shape))
