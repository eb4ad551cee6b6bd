"""computations.function: the callable, its attributes, its errors, and the command line.

Numbers are compared with NumPy written independently (``np.linalg.solve``
and friends), never with the library's own output.
"""
import inspect
import pickle
import threading

import numpy as np
import pytest
import sympy
from sympy import MatrixSymbol, Q, Symbol

import computations
from computations.front_door.cli import main
from computations.matrices import POSV, NotPositiveDefiniteError, SingularMatrixError
from computations.schedulers import execute
from computations.matrices.examples.kalman import kalman_numpy
from computations.matrices.examples.problems import PROBLEMS, random_inputs

n, k, p = (Symbol(s, integer=True, positive=True) for s in 'nkp')
S, A = MatrixSymbol('S', n, n), MatrixSymbol('A', n, n)
x = MatrixSymbol('x', n, 1)
alpha = Symbol('alpha')


def rel(got, want):
    return np.linalg.norm(got - want) / np.linalg.norm(want)


def spd(rng, size):
    X = rng.standard_normal((size, size))
    return X @ X.T / size + np.eye(size)


@pytest.fixture
def rng():
    return np.random.default_rng(42)


# Bundled problems against NumPy ------------------------------------------------

def numpy_reference(name, values):
    if name == 'kalman':
        return kalman_numpy(*values)
    if name == 'least_squares':
        X, y = values
        return (np.linalg.lstsq(X, y, rcond=None)[0],)
    X, Omega, y = values
    Oi_X, Oi_y = np.linalg.solve(Omega, X), np.linalg.solve(Omega, y)
    return (np.linalg.solve(X.T @ Oi_X, X.T @ Oi_y),)


@pytest.mark.parametrize('name', sorted(PROBLEMS))
def test_bundled_problems_match_numpy_and_leave_inputs_alone(name):
    problem = PROBLEMS[name]()
    sizes = {'n': 60, 'k': 25, 'p': 7}
    values = random_inputs(problem, sizes, seed=1)
    before = [v.copy() for v in values]
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    results = f(*values)
    assert isinstance(results, tuple) and len(results) == len(problem.outputs)
    for got, want in zip(results, numpy_reference(name, values)):
        assert got.shape == want.shape
        assert rel(got, want) <= 1e-8
    for old, new in zip(before, values):
        assert np.array_equal(old, new)


def test_attributes(rng):
    f = computations.function([S, x], [S.I * x], [Q.positive_definite(S)],
                              sizes={'n': 50})
    assert f.inputs == (S, x) and f.outputs == (S.I * x,)
    assert [type(op).__name__ for op in f.computation.toposort()][0] == 'POSV'
    assert f.flops == pytest.approx(50**3 / 3 + 2 * 50**2)
    assert f.dot().source.startswith('digraph')
    assert 'POSV' in f.pseudocode()
    assert any(type(node.comp).__name__ == 'POSV' for node in f.program.toposort())


def test_one_compile_per_shape_signature(rng):
    f = computations.function([S, x], [S.I * x], [Q.positive_definite(S)])
    first = f.specialize(np.eye(3), np.ones(3))
    assert f.specialize((3, 3), (3, 1)) is first
    assert f.specialize((4, 4), (4, 1)) is not first
    assert first.dims == {n: 3}
    for size in (3, 4, 3):
        Sv, xv = spd(rng, size), rng.standard_normal((size, 1))
        (got,) = f(Sv, xv)
        assert rel(got, np.linalg.solve(Sv, xv)) <= 1e-10


def test_accepts_lists_views_read_only_and_float32(rng):
    f = computations.function([S, x, alpha], [alpha * S.I * x + x], [Q.positive_definite(S)])
    Sv, xv = spd(rng, 4), rng.standard_normal((4, 1))
    want = 2.5 * np.linalg.solve(Sv, xv) + xv
    big = np.zeros((8, 8))
    big[::2, ::2] = Sv
    view = big[::2, ::2]                                 # not contiguous
    frozen = xv.copy()
    frozen.flags.writeable = False
    for args in [(Sv.tolist(), xv.ravel().tolist(), 2.5), (view, frozen, np.float64(2.5)),
                 (Sv, xv, 5 / 2)]:
        (got,) = f(*args)
        assert got.shape == np.shape(args[1])            # 1-D in (the list), 1-D out
        assert rel(got, want.reshape(got.shape)) <= 1e-10
    assert np.array_equal(big[::2, ::2], Sv)
    (got,) = f(Sv.astype(np.float32), xv.astype(np.float32), 2.5)
    assert got.dtype == np.float32 and rel(got, want) <= 1e-4


@pytest.mark.parametrize('runner', ['source', 'interpret'])
@pytest.mark.parametrize('scheduler', [None, 'sync'])
def test_scalar_results_have_the_programs_dtype(rng, runner, scheduler):
    """Every scalar result of a float32 program is np.float32 (traces, determinants, and a
    scalar of the scalar inputs alike); of a float64 program, a Python float."""
    f = computations.function([S, alpha], [sympy.Trace(S) * alpha,
                                            sympy.log(sympy.Determinant(S)), 2 * alpha],
                              [Q.positive_definite(S)], runner=runner)
    Sv = spd(rng, 4)
    want = [np.trace(Sv) * 1.5, np.linalg.slogdet(Sv)[1], 3.0]
    for dtype, kinds in ((np.float32, (np.float32, np.float32, np.float32)),
                         (np.float64, (float, float, float))):
        got = f(Sv.astype(dtype), 1.5, scheduler=scheduler)
        assert tuple(map(type, got)) == kinds
        assert np.allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_keyword_arguments(rng):
    f = computations.function([S, x], [S * x], [Q.symmetric(S)])
    Sv, xv = spd(rng, 3), rng.standard_normal((3, 1))
    (got,) = f(x=xv, S=Sv)
    assert rel(got, Sv @ xv) <= 1e-12


def test_an_input_named_self_is_given_by_keyword_too(rng):
    """The signature shows each input by name; one named ``self`` clashed with the methods'
    own ``self`` (TypeError: multiple values for argument 'self')."""
    M = MatrixSymbol('self', n, n)
    f = computations.function([M, x], [M * x])
    m, v = rng.standard_normal((3, 3)), rng.standard_normal((3, 1))
    assert list(inspect.signature(f).parameters)[:2] == ['self', 'x']
    for got in (f(self=m, x=v)[0], f(m, x=v)[0], f.profile(self=m, x=v) and f(m, v)[0]):
        assert rel(got, m @ v) <= 1e-12
    assert f.specialize(self=(4, 4), x=(4, 1)).dims == {n: 4}
    assert f.peak_bytes(self=(4, 4), x=(4, 1)) >= 0


def test_outputs_that_need_no_computation_are_copies(rng):
    f = computations.function([A], [A, A.T, sympy.ZeroMatrix(n, n), A])
    Av = rng.standard_normal((3, 3))
    same, transposed, zero, again = f(Av)
    assert np.array_equal(same, Av) and same is not Av and again is not same
    assert np.array_equal(transposed, Av.T) and not zero.any() and zero.shape == (3, 3)
    same[0, 0] = 99
    assert Av[0, 0] != 99 and again[0, 0] != 99


def test_concurrent_calls_do_not_share_buffers(rng):
    f = computations.function([S, x], [S.I * x], [Q.positive_definite(S)])
    cases = [(spd(rng, 30), rng.standard_normal((30, 1))) for _ in range(8)]
    results = [None] * len(cases)

    def work(i):
        for _ in range(20):
            results[i] = f(*cases[i])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (Sv, xv), got in zip(cases, results):
        assert rel(got, np.linalg.solve(Sv, xv)) <= 1e-10


# Donated inputs ------------------------------------------------------------------

@pytest.mark.parametrize('runner', ['source', 'interpret'])
def test_a_donated_array_is_overwritten_and_a_kept_one_never_is(rng, runner):
    """S, x -> [POSV] => S.I*x, LofCholesky(S)@S: donated, S holds its factor, with no copy"""
    kept = computations.function([S, x], [S.I * x], [Q.positive_definite(S)], runner=runner)
    given = computations.function([S, x], [S.I * x], [Q.positive_definite(S)], runner=runner,
                                  donate=[S])
    Sv, xv = np.asfortranarray(spd(rng, 300)), np.asfortranarray(rng.standard_normal((300, 1)))
    want = np.linalg.solve(Sv, xv)
    S1, x1 = Sv.copy(order='F'), xv.copy(order='F')
    assert rel(kept(S1, x1)[0], want) <= 1e-10
    assert np.array_equal(S1, Sv) and np.array_equal(x1, xv)      # never written
    S2, x2 = Sv.copy(order='F'), xv.copy(order='F')
    assert rel(given(S2, x2)[0], want) <= 1e-10
    assert not np.array_equal(S2, Sv)                               # written: its factor
    assert np.allclose(np.tril(S2), np.linalg.cholesky(Sv))
    assert np.array_equal(x2, xv)                                   # x was not donated
    assert given.peak_bytes(S2, x2) < kept.peak_bytes(S1, x1)       # no copy of S
    copies = [[node.comp.inputs for node in f.specialize(S1, x1).program
               if type(node.comp).__name__ == 'Copy'] for f in (kept, given)]
    assert sorted(copies[0], key=str) == [(S,), (x,)] and copies[1] == [(x,)]
    assert given.specialize(S2, x2).donate == (S,) and kept.specialize(S1, x1).donate == ()


@pytest.mark.parametrize('runner', ['source', 'interpret'])
def test_a_result_in_a_donated_array_is_the_callers_never(rng, runner):
    """The interpreter returned the donated array itself (``2*A`` written into A, and A
    returned as an output): the caller refilling its buffer changed an earlier result.
    The generated source returns a copy; both do now."""
    f = computations.function([A], [2 * A, A], donate=['A'], runner=runner)
    a = np.asfortranarray(rng.standard_normal((3, 3)))
    given = a.copy(order='F')
    doubled, same = f(given)
    assert not np.shares_memory(doubled, given) and not np.shares_memory(same, given)
    assert np.allclose(doubled, 2 * a) and np.array_equal(same, a)
    g = computations.function([S, x], [S.I * x], [Q.positive_definite(S)], donate=['x'],
                              runner=runner)
    Sv, xv = np.asfortranarray(spd(rng, 4)), np.asfortranarray(rng.standard_normal((4, 1)))
    xd = xv.copy(order='F')
    (solved,) = g(Sv, xd)
    assert not np.shares_memory(solved, xd) and rel(solved, np.linalg.solve(Sv, xv)) <= 1e-10


def test_donation_never_reaches_another_argument_or_a_read_only_array(rng):
    """One array given for a donated S and a kept A is copied before it is written; so is a
    read-only one."""
    f = computations.function([S, A], [S.I * A, A * A], [Q.positive_definite(S)], donate=['S'])
    Sv = np.asfortranarray(spd(rng, 4))
    both = Sv.copy(order='F')
    solved, squared = f(both, both)
    assert np.array_equal(both, Sv)
    assert rel(solved, np.eye(4)) <= 1e-10 and rel(squared, Sv @ Sv) <= 1e-12
    frozen = Sv.copy(order='F')
    frozen.flags.writeable = False
    assert rel(f(frozen, Sv)[1], Sv @ Sv) <= 1e-12 and np.array_equal(frozen, Sv)


def _unaligned(value):
    """``value`` in an F-ordered array that is not aligned (one byte into a buffer)."""
    buffer = bytearray(value.nbytes + 1)
    array = np.frombuffer(buffer, dtype=value.dtype, offset=1, count=value.size)
    array = array.reshape(value.shape, order='F')
    array[...] = value
    assert not array.flags.aligned and array.flags.f_contiguous
    return array


@pytest.mark.parametrize('runner', ['source', 'interpret'])
@pytest.mark.parametrize('check', [False, True])
def test_a_donated_unaligned_array_gives_the_right_result(rng, runner, check):
    """f2py works on a copy of an unaligned array, silently: a routine told to write into
    the donated array (SCAL's x, AXPY's y) wrote into that copy, and the program read the
    untouched array (2*X came back as X)."""
    X, Y = MatrixSymbol('X', 3, 3), MatrixSymbol('Y', 3, 3)
    xv, yv = (np.asfortranarray(rng.standard_normal((3, 3))) for _ in range(2))
    for outputs, args, want in (([2 * X], [X], [2 * xv]),
                                ([X + 2 * Y], [X, Y], [xv + 2 * yv])):
        f = computations.function(args, outputs, donate=[str(a) for a in args], runner=runner,
                                  check_assumptions=check)
        got = f(*[_unaligned(v) for v in (xv, yv)[:len(args)]])
        got = got if isinstance(got, tuple) else (got,)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-14)


@pytest.mark.parametrize('view', [
    lambda s: s.T,                             # C-ordered: converted to a Fortran copy
    lambda s: s[:, ::-1][:, ::-1],             # strided views of the same memory
    lambda s: s.T[::1, ::1],
])
def test_donation_never_reaches_a_view_of_the_donated_array_given_for_another_input(rng, view):
    """A kept A given as a view of the donated S that the call converts (a copy) still
    shares the caller's memory: S is copied before it is written."""
    f = computations.function([S, A], [S.I * A], [Q.positive_definite(S)], donate=['S'])
    Sv = np.asfortranarray(spd(rng, 4))
    a = view(Sv)
    before = a.copy()
    (solved,) = f(Sv, a)
    assert np.array_equal(a, before)
    assert rel(solved, np.eye(4)) <= 1e-10
    out = execute(POSV(S, A), {S: Sv, A: view(Sv)}, donate=[S])
    assert np.array_equal(view(Sv), before)
    assert rel(out[S.I * A], np.eye(4)) <= 1e-10


@pytest.mark.parametrize('donate, message', [
    (['y'], r'donate: y is not an input of the computation \(inputs: S, x, alpha\)'),
    ([MatrixSymbol('B', n, n)], 'donate: B is not an input'),
    (['alpha'], 'donate: alpha is a scalar: only matrix inputs can be donated'),
])
def test_bad_donations_fail_at_compile_time_naming_the_entry(donate, message):
    with pytest.raises(ValueError, match=message):
        computations.function([S, x, alpha], [alpha * S.I * x], [Q.positive_definite(S)],
                              donate=donate)


@pytest.mark.parametrize('options', [{}, {'low_memory': True}, {'blocksize': 2}])
def test_donating_an_input_the_outputs_do_not_read_is_allowed(rng, options):
    """A donated input the program does not read raised DonateError ('is not an input of
    the computation'): it was checked against the compiled program's inputs."""
    f = computations.function([S, x], [2 * S], donate=[x], **options)
    Sv, xv = spd(rng, 4), rng.standard_normal((4, 1))
    kept = xv.copy()
    np.testing.assert_array_equal(f(Sv, xv)[0], 2 * Sv)
    np.testing.assert_array_equal(xv, kept)


def test_donation_survives_pickling(rng):
    f = computations.function([S, x], [S.I * x], [Q.positive_definite(S)], donate=[x])
    g = pickle.loads(pickle.dumps(f))
    assert g.donate == (x,)
    Sv, xv = spd(rng, 5), rng.standard_normal((5, 1))
    want = np.linalg.solve(Sv, xv)
    assert rel(g(Sv, xv)[0], want) <= 1e-10
    assert rel(xv, want) <= 1e-10                 # the solve wrote into the donated x


# Errors --------------------------------------------------------------------------

@pytest.fixture
def solve():
    return computations.function([S, x], [S.I * x], [Q.positive_definite(S)])


def test_wrong_argument_count_is_a_type_error(solve):
    with pytest.raises(TypeError, match=r'takes 2 arguments \(S, x\), got 1: missing x'):
        solve(np.eye(2))
    with pytest.raises(TypeError, match='takes 2 arguments'):
        solve(np.eye(2), np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="unexpected keyword argument 'y'"):
        solve(np.eye(2), y=np.ones(2))
    with pytest.raises(TypeError, match="multiple values for argument 'S'"):
        solve(np.eye(2), S=np.eye(2))


def test_keywords_are_matched_as_python_reads_them():
    """Python folds a keyword as it folds identifiers (NFKC): ``f(ℓ=...)`` passes 'l'.  An
    input named 'ℓ' is given by that keyword; with inputs 'l' and 'ℓ' both, it could be
    either, and is refused instead of taken as 'l'."""
    L, B = MatrixSymbol('ℓ', 2, 2), MatrixSymbol('B', 2, 2)
    f = computations.function([L, B], [L * B])
    got, = f(ℓ=np.eye(2), B=2 * np.eye(2))
    np.testing.assert_array_equal(got, 2 * np.eye(2))
    got, = f(**{'ℓ': np.eye(2)}, B=3 * np.eye(2))        # a name not folded, from a dict
    np.testing.assert_array_equal(got, 3 * np.eye(2))
    g = computations.function([MatrixSymbol('l', 2, 2), L], [L])
    with pytest.raises(TypeError, match="'l' may be any of the inputs l, ℓ"):
        g(np.eye(2), ℓ=np.eye(2))


@pytest.mark.parametrize('args, message', [
    ((np.eye(3), np.ones(4)), r'input x has 4 rows, but n = 3 \(bound by S\)'),
    ((np.ones((3, 2)), np.ones(3)), 'input S has 2 columns, but n = 3'),
    ((np.eye(3) * 1j, np.ones(3)), 'input S is complex'),
    ((np.array([['a']]), np.ones(1)), 'input S must hold real numbers'),
    ((np.ones(2), np.ones(2)), 'input S must be a nxn matrix'),   # (2, 2, 2): a batch
    ((np.eye(2), [[1, 2], [3]]), 'input x'),
])
def test_wrong_shape_or_dtype_is_a_value_error_naming_the_input(solve, args, message):
    with pytest.raises(ValueError, match=message):
        solve(*args)


def test_a_scalar_input_given_an_array_is_a_value_error():
    f = computations.function([alpha, A], [alpha * A])
    with pytest.raises(ValueError, match='input alpha is a scalar'):
        f(np.ones(2), np.eye(2))


def test_violated_assumption_names_the_expression(solve):
    bad = np.array([[1., 2.], [2., 1.]])                 # symmetric, indefinite
    with pytest.raises(NotPositiveDefiniteError, match=r'S') as info:
        solve(bad, np.ones(2))
    assert isinstance(info.value, np.linalg.LinAlgError)
    assert np.array_equal(bad, [[1., 2.], [2., 1.]])


def test_singular_general_matrix_is_named():
    f = computations.function([A, x], [A.I * x])
    with pytest.raises(SingularMatrixError, match='A'):
        f(np.zeros((2, 2)), np.ones(2))


@pytest.mark.parametrize('inputs, outputs, error, message', [
    ([S, 'x'], [S], TypeError, 'inputs must be MatrixSymbols or scalar Symbols'),
    ([S, S], [S], ValueError, 'S given more than once'),
    ([S], [x], ValueError, r'output 0 \(x\) uses x, which is neither an input nor a '
                           r'dimension of one'),
    ([S], [sympy.ZeroMatrix(Symbol('m'), S.shape[0]), x * Symbol('y') * S], ValueError,
     r'output 0 \(0\) uses m, which is neither an input nor a dimension of one'),
    ([S], [x * Symbol('y') * S], ValueError, r'uses x, y, which are neither inputs nor '
                                             r'dimensions of one'),
    ([S], [sympy.Trace(sympy.HadamardProduct(S, S)) * S], TypeError, 'Hadamard'),
    ([S], [sympy.HadamardProduct(S, S)], TypeError, 'not supported'),
    ([S], [S**alpha], ValueError, 'alpha'),
    ([S], [2], TypeError, 'output 0 must be a SymPy matrix expression'),
    # n*S with n both S's size and an input read n from S's shape, ignoring the value passed
    ([S, n], [n * S], ValueError, 'inputs: n is a dimension of S .* cannot also be an input'),
    ([Symbol('n'), S], [S], ValueError, 'inputs: n is a dimension of S'),
])
def test_bad_definitions_fail_at_compile_time(inputs, outputs, error, message):
    with pytest.raises(error, match=message):
        computations.function(inputs, outputs)


def test_a_matrix_may_share_its_name_with_a_dimension():
    """Only a scalar input named as a dimension is refused (its value would be ignored); a
    matrix named ``n`` of size n x n is an input like any other (it was refused)."""
    N = MatrixSymbol('n', n, n)
    f = computations.function([N, x], [N * N * x + n * x, sympy.Trace(N) * n],
                              [Q.positive_definite(N)])
    a = np.diag([2.0, 3.0])
    got, trace = f(a, np.ones(2))
    np.testing.assert_allclose(got, a @ a @ np.ones(2) + 2 * np.ones(2))
    assert trace == 10.0


def test_bad_assumptions_and_sizes():
    with pytest.raises(TypeError, match='assumptions must be SymPy predicates'):
        computations.function([S], [S.I], ['S is SPD'])
    with pytest.raises(ValueError, match='sizes: m is not a dimension'):
        computations.function([S], [S.I], sizes={'m': 3})
    with pytest.raises(ValueError, match='sizes: n must be a positive integer'):
        computations.function([S], [S.I], sizes={'n': 0})


def test_a_blocked_function_is_shown_at_two_blocks_per_blocked_dimension():
    """``str(f)`` with blocks of 25 built the program at n = 1000: 64,000 GEMMs, 64 s."""
    from computations.front_door import DEFAULT_SIZE
    m = Symbol('m')
    X = MatrixSymbol('X', n, m)
    f = computations.function([S, X], [S * X], blocksize={'n': 25})
    assert f.sizes == {m: DEFAULT_SIZE, n: 50}
    assert str(f).count('[GEMM]') == 2 * 2 * 1        # 2 x 2 blocks of S times 2 x 1 of X
    g = computations.function([S, X], [S * X], blocksize=25, sizes={'n': 75})
    assert g.sizes == {m: 50, n: 75} and str(g).count('[GEMM]') == 3 * 3 * 2


# The command line ------------------------------------------------------------------

def test_cli_runs_the_kalman_filter(capsys, tmp_path):
    svg = tmp_path / 'kalman.svg'
    assert main(['run', 'kalman', '--size', 'n=60', '--size', 'k=20', '--check', '--bench',
                 '--repeat', '1', '--svg', str(svg)]) == 0
    out = capsys.readouterr().out
    assert 'sizes: k=20, n=60' in out
    # H*Sigma by GEMM or SYMM: at n = 60 they run within the rates' noise of each other
    # (test_compiler checks SYMM where it is measurably no slower)
    for line in ["H*Sigma", "[POTRF]", "newSigma := Sigma - t5'*t5", "[SYRK]"]:
        assert line in out
    assert 'FLOPs:' in out and ': OK' in out and 'bench (median of 1' in out
    assert svg.read_text().lstrip().startswith('<?xml')


def test_cli_runs_a_problem_file(capsys, tmp_path):
    spec = tmp_path / 'ridge.py'
    spec.write_text(
        'from sympy import MatrixSymbol, Symbol, Identity, Q\n'
        'n, p = Symbol("n"), Symbol("p")\n'
        'X, y, lam = MatrixSymbol("X", n, p), MatrixSymbol("y", n, 1), Symbol("lam")\n'
        'inputs = [X, y, lam]\n'
        'outputs = [(X.T*X + lam*Identity(p)).I*X.T*y]\n'
        'assumptions = [Q.positive(lam)]\n'
        'sizes = {"n": 40, "p": 5}\n')
    assert main(['run', str(spec), '--check']) == 0
    out = capsys.readouterr().out
    assert '[SYRK]' in out and '[POSV]' in out and ': OK' in out


@pytest.mark.parametrize('argv, message', [
    (['run', 'kalman', '--size', 'n=big'], "--size wants DIM=N with N a positive integer, got 'n=big'"),
    (['run', 'kalman', '--size', 'z=3'],
     '--size z=3: kalman has no dimension z (its dimensions: k, n)'),
    (['run', 'nope'], "unknown problem 'nope': give one of kalman"),
    (['run', 'missing-file.py'], 'cannot read missing-file.py: No such file or directory'),
])
def test_cli_errors_are_one_line(argv, message, capsys):
    """Mistakes in the arguments: one line on stderr and exit code 2, no traceback."""
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f'computations: error: {message}') and err.count('\n') == 1, err


B = MatrixSymbol('B', n, n)
ZERO_AT_ONE = {        # coefficients that a size makes 0: (inputs, output, its NumPy value)
    '(n-1)*A': ('A', lambda n: (n - 1) * A, lambda n, a, b, x: (n - 1) * a),
    'A+(n-1)*B': ('AB', lambda n: A + (n - 1) * B, lambda n, a, b, x: a + (n - 1) * b),
    '(A+(n-1)*I)*x': ('Ax', lambda n: (A + (n - 1) * sympy.Identity(n)) * x,
                      lambda n, a, b, x: (a + (n - 1) * np.eye(len(a))) @ x),
    '(A+(n-1)*I).I*x': ('Ax', lambda n: (A + (n - 1) * sympy.Identity(n)).I * x,
                        lambda n, a, b, x: np.linalg.solve(a + (n - 1) * np.eye(len(a)), x)),
}


@pytest.mark.parametrize('case', sorted(ZERO_AT_ONE))
def test_a_coefficient_a_size_makes_zero(case):
    """``(n - 1)*A`` and ``A + (n - 1)*B`` at n = 1 failed to compile (``AXPY(0, B, A)
    computes A``, ``cannot compute 0``): sizes bound in coefficients are simplified again."""
    names, build, expected = ZERO_AT_ONE[case]
    d = A.shape[0]
    inputs = [{'A': A, 'B': B, 'x': x}[c] for c in names]
    f = computations.function(inputs, build(d))
    rng = np.random.default_rng()
    for size in (1, 3, 1):
        values = {'A': rng.standard_normal((size, size)) + 4 * np.eye(size),
                  'B': rng.standard_normal((size, size)), 'x': rng.standard_normal((size, 1))}
        got = f(*[values[c] for c in names])
        np.testing.assert_allclose(got, expected(size, values['A'], values['B'], values['x']),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('coefficient', [lambda n: n / (n - 1), lambda n: sympy.sqrt(n - 2)])
def test_a_coefficient_a_size_makes_undefined_is_named(coefficient):
    """``n/(n - 1)*x`` at n = 1 raised ``TypeError: Cannot convert complex to float``."""
    from computations.sizes import UndefinedAtSizeError
    n = A.shape[0]
    f = computations.function([x], coefficient(n) * x)
    np.testing.assert_allclose(f(np.ones(4)), float(coefficient(4)) * np.ones(4))
    with pytest.raises(UndefinedAtSizeError, match=r'x is undefined when n = 1: a coefficient'):
        f(np.ones(1))


@pytest.mark.parametrize('assumptions', [[], [Q.symmetric(S)]], ids=['general', 'symmetric'])
def test_the_determinant_of_a_singular_matrix_is_zero(assumptions):
    """It raised SingularMatrixError (GETRF's info); NumPy's det says 0.0."""
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    f = computations.function([S], sympy.Determinant(S), assumptions)
    assert np.linalg.det(singular) == 0.0
    for scheduler in (None, 'sync'):
        got = f(singular, scheduler=scheduler)
        assert got == 0.0 and np.copysign(1.0, got) == 1.0      # +0.0, as NumPy's
    np.testing.assert_array_equal(f(np.stack([singular, np.eye(2)])), [0.0, 1.0])


@pytest.mark.parametrize('assumptions', [[], [Q.positive_definite(S)]], ids=['general', 'spd'])
def test_a_determinant_that_overflows_is_inf_as_numpys(assumptions):
    """The positive definite one raised OverflowError (a Python float squared)."""
    f = computations.function([S], sympy.Determinant(S), assumptions)
    big, small = 3.0 * np.eye(800), 1e-3 * np.eye(800)
    with np.errstate(over='ignore'):
        assert np.linalg.det(big) == np.inf
        for scheduler in (None, 'sync'):
            assert f(big, scheduler=scheduler) == np.inf
            assert f(small, scheduler=scheduler) == np.linalg.det(small) == 0.0


def test_a_symmetric_indefinite_solve_runs_sysv_and_matches_numpy():
    n = sympy.Symbol('n')
    S, B = sympy.MatrixSymbol('S', n, n), sympy.MatrixSymbol('B', n, 3)
    f = computations.function([S, B], S.I * B, [Q.symmetric(S)])
    rng = np.random.default_rng()
    a = rng.standard_normal((7, 7))
    s, b = a + a.T, rng.standard_normal((7, 3))          # symmetric, indefinite
    assert np.linalg.eigvalsh(s).min() < 0 < np.linalg.eigvalsh(s).max()
    kept = s.copy(), b.copy()
    assert 'dsysv(' in f.source
    x = f(s, b)                                          # one expression, one array
    np.testing.assert_allclose(x, np.linalg.solve(s, b), rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(s, kept[0])
    np.testing.assert_array_equal(b, kept[1])
    with pytest.raises(computations.matrices.SingularMatrixError):
        f(np.zeros((7, 7)), b)


def test_structured_programs_match_numpy():
    """TRTRI for a triangular inverse, GEMM for an orthogonal solve, DIAGMM for diagonal
    scalings and divisions, GEMM/SYRK for a
    trapezoidal (rectangular triangular) matrix, whose assumption is accepted and checked."""
    n = sympy.Symbol('n')
    L, U, B = (sympy.MatrixSymbol(s, n, n) for s in 'LUB')
    rng = np.random.default_rng()
    lower = np.tril(rng.standard_normal((6, 6))) + 6 * np.eye(6)
    orthogonal, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    b = rng.standard_normal((6, 6))
    f = computations.function([L, U, B], [L.I, U.I * B, U.I], [Q.lower_triangular(L),
                                                               Q.orthogonal(U)])
    got = f(lower, orthogonal, b)
    for g, want in zip(got, [np.linalg.inv(lower), np.linalg.solve(orthogonal, b),
                             np.linalg.inv(orthogonal)]):
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-12)
    D = sympy.MatrixSymbol('D', n, n)
    d = np.diag(rng.uniform(0.5, 2, 6))
    h = computations.function([D, B], [D * B, B * D.I, D.I, D.I * B.T * D],
                              [Q.diagonal(D)])
    assert set(h.specialize(d, b).program.toposort()) and 'DIAGMM' in str(h)
    for got_, want in zip(h(d, b), [d @ b, b @ np.linalg.inv(d), np.linalg.inv(d),
                                    np.linalg.solve(d, b.T) @ d]):
        np.testing.assert_allclose(got_, want, rtol=1e-12)
    with pytest.raises(computations.matrices.SingularMatrixError):
        h(np.diag([1., 0., 1., 1., 1., 1.]), b)
    R, C = sympy.MatrixSymbol('R', 5, 6), sympy.MatrixSymbol('C', 6, 3)
    g = computations.function([R, C], [R * C, R.T * R], [Q.upper_triangular(R)],
                              check_assumptions=True)
    r, c = np.triu(rng.standard_normal((5, 6))), rng.standard_normal((6, 3))
    rc, rtr = g(r, c)
    np.testing.assert_allclose(rc, r @ c, rtol=1e-12)
    np.testing.assert_allclose(rtr, r.T @ r, rtol=1e-12, atol=1e-12)
    with pytest.raises(computations.matrices.compiler.assumptions.AssumptionError,
                       match='not upper triangular'):
        g(r + np.tril(np.ones((5, 6)), -1), c)


def test_the_fast_path_binds_each_combination_of_shapes_once_and_stays_correct():
    """Ready arrays (Fortran-ordered, one float dtype) go straight to the generated function;
    what their shapes bind is worked out once, and shapes that disagree still fail by name."""
    A, x = MatrixSymbol('A', n, k), MatrixSymbol('x', k, 1)
    f = computations.function([A, x], [A * x])
    rng = np.random.default_rng(0)
    for rows, cols, dtype in [(3, 2, np.float64), (5, 4, np.float64), (3, 2, np.float32),
                              (3, 2, np.float64)]:
        a = np.asfortranarray(rng.standard_normal((rows, cols)), dtype=dtype)
        v = np.asfortranarray(rng.standard_normal((cols, 1)), dtype=dtype)
        (got,) = f(a, v)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, a @ v, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert len(f._shapes._keys) == 3 and len(f._runners) == 3
    with pytest.raises(ValueError, match='input x has 3 rows, but k = 2'):
        f(np.ones((3, 2), order='F'), np.ones((3, 1), order='F'))
    with pytest.raises(ValueError, match='input x has 3 rows, but k = 2'):
        f(np.ones((3, 2), order='F'), np.ones((3, 1), order='F'))    # memoized: same error


def test_a_memmap_is_read_where_it_is_not_copied(monkeypatch, tmp_path):
    """A ``np.memmap`` (an ndarray subclass: data on disk, perhaps larger than memory)
    goes to the program as a view, a C-ordered one (memmap's default) read transposed;
    the memory check counted a copy of it, so a memmap larger than the memory available
    was refused with a MemoryError, and a C-ordered one was copied on every call."""
    from computations.front_door import compiled, specialization
    for module in (compiled, specialization):        # every call checked, at this size too
        monkeypatch.setattr(module, 'MEMORY_CHECK_BYTES', 1000)
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], A * x)
    size = 100
    a = np.memmap(tmp_path / 'A.dat', dtype=float, mode='w+', shape=(size, size), order='F')
    a[:] = np.random.default_rng(0).standard_normal((size, size))
    c = np.memmap(tmp_path / 'C.dat', dtype=float, mode='w+', shape=(size, size))
    c[:] = a                                           # C-ordered, memmap's default
    v, want = np.ones((size, 1), order='F'), np.asarray(a) @ np.ones((size, 1))
    monkeypatch.setattr(specialization, 'available_bytes', lambda: 4 * size * size)
    for memmap in (a, c):                              # half of A's bytes are available
        assert f.peak_bytes(memmap, v) == size * 8     # the result only, no copy of A
        for _ in range(3):
            np.testing.assert_allclose(f(memmap, v), want, rtol=1e-12, atol=1e-12)
    b = np.memmap(tmp_path / 'B.dat', dtype=np.float32, mode='w+', shape=(size, size),
                  order='F')
    with pytest.raises(MemoryError, match='input copies'):   # float32 with float64: copied
        f(b, v)


def test_the_fast_path_checks_the_memory_of_every_large_call(monkeypatch):
    """A call above MEMORY_CHECK_BYTES is checked each time, not only the first."""
    from computations.front_door import specialization
    x, y = MatrixSymbol('x', n, 1), MatrixSymbol('y', n, 1)
    f = computations.function([x, y], [x + y])
    big = specialization.MEMORY_CHECK_BYTES // 8 + 1
    v = np.ones((big, 1), order='F')
    np.testing.assert_array_equal(f(v, v)[0][:3], 2 * v[:3])
    monkeypatch.setattr(specialization, 'available_bytes', lambda: 0)
    with pytest.raises(MemoryError, match=r'but only 0 MB is available'):
        f(v, v)
    small = np.ones((3, 1), order='F')
    np.testing.assert_array_equal(f(small, small)[0], 2 * small)     # not checked
