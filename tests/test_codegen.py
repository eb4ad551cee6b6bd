"""Generated source against the interpretive executor: operation by operation, then whole programs.

Each emitter (schedulers/emitters.py; for a routine, the lines derived from
its call spec by schedulers/calls.py) must compute what its operation's
kernel (schedulers/kernels.py) computes, in every way a program can call
it: reading its inputs only, overwriting the inputs the inplace pass lets
it destroy, and writing into a dead buffer that buffer reuse hands it.
Then whole programs: every bundled problem and the compiler's random
expressions give the same results through both runners.
"""
import subprocess
import sys
import threading

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol

import computations
from computations.matrices import GEMM, OPERATIONS, SCALAR, TRANSPOSE
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from computations.testing import matrix_problems as problems
from computations.inplace import Copy, TokenComputation, TokenProgram, inplace_compile, tokenize
from matrix_cases import op_case
from computations.schedulers import prepare_inputs
from computations.schedulers.codegen import generate
from computations.schedulers.kernels import run
from computations.schedulers.reuse import scheduled

names = [cls.__name__ for cls in OPERATIONS]
MODES = ['read', 'overwrite', 'buffer']


def _program(op, mode):
    """A token program running ``op`` the way ``mode`` says, with its order."""
    if getattr(op, 'output_is_input', False) and mode != 'buffer':   # COPY: X -> X_2
        program = TokenProgram(TokenComputation(op, ['X'], ['X_2']))
        return program, program.toposort()
    if mode == 'read':
        program = tokenize(op)
        return program, program.toposort()
    if mode == 'overwrite':
        program = inplace_compile(op, donate=op.inputs)
        return program, program.toposort()
    # buffer: every output the routine can write into a supplied buffer gets
    # one, left dead by a value of its shape (a copy of a dummy input, read
    # once by a TRANSPOSE).
    tokens = [t.token for t in tokenize(op).inputs] if not op.output_is_input else ['X']
    before, outs = [], [f'out{o}' for o in range(len(op.outputs))]
    for o in op.buffered_outputs:
        expr = op.outputs[o]
        if getattr(expr, 'element_type', None) == 'int32':      # pivots
            continue
        dummy = MatrixSymbol(f'D{o}', *expr.shape)
        outs[o] = f'buffer{o}'
        before += [TokenComputation(Copy(dummy), [f'D{o}'], [outs[o]]),
                   TokenComputation(TRANSPOSE(dummy), [outs[o]], [f'Dt{o}'])]
    last = TokenComputation(op, tokens, outs)
    program = TokenProgram(*before, last)
    return scheduled(program, [*before, last]), [*before, last]


def _values(op, values, program):
    prepared = prepare_inputs(op.inputs, {v: values[v] for v in op.inputs})
    for value in program.inputs:
        if value.expr not in prepared:
            rng = np.random.default_rng(0)
            prepared[value.expr] = np.asfortranarray(rng.standard_normal(
                tuple(map(int, value.expr.shape))))
    return prepared


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('cls', OPERATIONS, ids=names)
@given(data=st.data())
@settings(max_examples=15, deadline=None)
def test_emitter_computes_what_the_kernel_computes(cls, mode, data):
    op, values = data.draw(op_case(cls))
    program, order = _program(op, mode)
    prepared = _values(op, values, program)
    parameters = [v.expr for v in program.inputs]
    generated = generate(program, order, parameters=parameters, results=op.outputs)
    if 'buffer' in mode:
        assert any(f'buffer{o}' in generated.source for o in op.buffered_outputs) or \
            all(getattr(op.outputs[o], 'element_type', None) == 'int32'
                for o in op.buffered_outputs), \
            generated.source
    args = [np.array(prepared[p], order='F', copy=True) if isinstance(prepared[p], np.ndarray)
            else prepared[p] for p in parameters]
    originals = [np.copy(a) for a in args]
    got = generated(*args)
    want = run(op, [prepared[v] for v in op.inputs])
    for expr, g, w in zip(op.outputs, got, want):
        assert type(g) is type(w)
        if isinstance(w, np.ndarray):
            assert g.dtype == w.dtype and g.shape == w.shape, (expr, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=str(expr))
    if mode != 'overwrite':
        for p, a, before in zip(parameters, args, originals):
            assert np.array_equal(a, before), f'{p} was modified\n{generated.source}'


def test_scalar_expressions_and_opaque_operations_run():
    """SCALAR calls the one scalar function every runner calls (``scalars.scalar_function``);
    an op with a kernel but no emitter calls its kernel."""
    a, b = sympy.symbols('a b')
    program = tokenize(SCALAR(2 * a * b + sympy.sqrt(a)))
    generated = generate(program, parameters=[a, b])
    assert 'scalar(a, b)' in generated.source
    assert generated(4.0, 0.5) == (6.0,) and type(generated(4.0, 0.5)[0]) is float

    from computations.examples import MinMax
    from computations.schedulers.kernels import kernel
    x, y = sympy.symbols('x y')

    class Compared(MinMax):                   # a class of this test's own, for its kernel
        __slots__ = ()

    @kernel.register(Compared)
    def _minmax(op, values, overwrite):
        return (min(values), max(values))
    generated = generate(tokenize(Compared(x, y)), parameters=[x, y])
    assert 'run_kernel(Compared' in generated.source
    assert generated(3.0, 1.0) == (1.0, 3.0)


# ---------------------------------------------------------------------------- whole programs

def both_runners(problem_inputs, outputs, assumptions):
    kwargs = dict(inputs=problem_inputs, outputs=outputs, assumptions=assumptions)
    return (computations.function(**kwargs), computations.function(**kwargs, runner='interpret'))


def assert_same(got, want, tolerance=1e-12):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        scale = max(np.linalg.norm(w), 1e-300)
        assert np.linalg.norm(g - w) / scale <= tolerance


@pytest.mark.parametrize('name', sorted(PROBLEMS))
def test_runners_agree_on_the_bundled_problems(name):
    problem = PROBLEMS[name]()
    source, interpret = both_runners(problem.inputs, problem.outputs, problem.assumptions)
    sizes = {k: max(3, v // 100) for k, v in problem.sizes.items()}
    values = random_inputs(problem, sizes, seed=1)
    assert_same(source(*values), interpret(*values))
    for dtype in (np.float32,):
        cast = [v.astype(dtype) if isinstance(v, np.ndarray) else v for v in values]
        got, want = source(*cast), interpret(*cast)
        assert all(g.dtype == dtype for g in got)
        assert_same(got, want, 1e-5)


def test_runners_agree_on_the_examples_with_constants_and_passthrough():
    n = sympy.Symbol('n')
    X, y = MatrixSymbol('X', n, 3), MatrixSymbol('y', n, 1)
    lam = sympy.Symbol('lam')
    outputs = [(lam * sympy.Identity(3) + X.T * X).I * X.T * y, y, X.T * X, X.T * X]
    source, interpret = both_runners([X, y, lam], outputs, [sympy.Q.positive(lam)])
    values = [np.random.default_rng(0).standard_normal((7, 3)), np.arange(7.), 0.5]
    got, want = source(*values), interpret(*values)
    assert_same(got, want)
    assert got[1] is not values[1] and got[2] is not got[3]   # copies, never aliases
    got[2][0, 0] = 99.0
    assert got[3][0, 0] != 99.0 and values[1][0] == 0.0


@given(problems(), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_runners_agree_on_random_expressions(problem, seed):
    source, interpret = both_runners(problem.inputs, problem.outputs, problem.assumptions)
    values = problem.data(np.random.default_rng(seed))
    assert_same(source(*values), interpret(*values), 1e-10)


def test_generated_source_compiles_under_warnings_as_errors(tmp_path):
    sources = []
    for name in sorted(PROBLEMS):
        problem = PROBLEMS[name]()
        f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
        sources.append(f.source)
        sources.append(f.specialize(*random_inputs(
            problem, {k: 4 for k in problem.sizes})).generated(np.float32).source)
    paths = []
    for i, source in enumerate(sources):
        path = tmp_path / f'program_{i}.py'
        path.write_text(source + '\n')
        paths.append(str(path))
    code = ('import sys\nfor path in sys.argv[1:]:\n'
            '    compile(open(path).read(), path, "exec")\n')
    result = subprocess.run([sys.executable, '-W', 'error', '-c', code, *paths],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_routines_are_bound_once_and_flags_resolved():
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    lines = f.source.splitlines()
    assert lines[0] == 'def program(mu, Sigma, H, R, data):'
    calls = [line for line in lines if '= d' in line and '(' in line]
    assert {line.split('= ')[1].split('(')[0] for line in calls} >= {
        'dgemv', 'dsymm', 'dgemm', 'dpotrf', 'dtrsm', 'dsyrk'}
    assert 'get_blas_funcs' not in f.source and 'trans_a=op' not in f.source
    namespace = f.default.generated().function.__globals__
    from scipy.linalg import blas
    assert namespace['dgemm'] is blas.dgemm


def test_concurrent_calls_from_eight_threads_share_no_buffers():
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    datasets = [random_inputs(problem, {'n': 60, 'k': 20}, seed=s) for s in range(8)]
    want = [computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                  runner='interpret')(*d) for d in datasets]
    got, errors = [None] * 8, []
    barrier = threading.Barrier(8)

    def work(i):
        try:
            barrier.wait()
            for _ in range(20):
                got[i] = f(*datasets[i])
        except Exception as error:            # reported below, with the thread
            errors.append((i, error))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for g, w in zip(got, want):
        assert_same(g, w)


def test_failures_name_the_operation_in_both_runners():
    from computations.matrices import NotPositiveDefiniteError
    S, b = MatrixSymbol('S', 2, 2), MatrixSymbol('b', 2, 1)
    for runner in ('source', 'interpret'):
        f = computations.function([S, b], [S.I * b], [sympy.Q.positive_definite(S)],
                                  runner=runner)
        with pytest.raises(NotPositiveDefiniteError, match='POSV'):
            f(np.array([[1., 2.], [2., 1.]]), np.ones(2))


def test_runner_must_be_known():
    S = MatrixSymbol('S', 2, 2)
    with pytest.raises(ValueError, match="runner must be one of 'source', 'interpret'"):
        computations.function([S], [S * S], runner='fast')


#: Names the generated source uses itself (the routines' status, the failure check, NumPy,
#: the profiler's, builtins, globals bound for routines and operations), and odd ones.
#: Python folds identifiers (NFKC) as it reads them: 'ｉｎｆｏ' is the local 'info', 'ℓen'
#: 'len', and 'ℓ' 'l' (review: such names shared a local with another).
_CLASHING = ['info', 'fail', 'np', 'math', 'float', 'clock', 'start', 'times', 'dposv',
             'dsymm', 'dgemm', 'dpotrs', 'POSV', 'check_diagonal', 'lambda', 'program', 'len',
             'ｉｎｆｏ', 'ｆｌｏａｔ', 'ｄｇｅｍｍ', 'ℓen', 'ｎｐ', 'l', 'ℓ', 'H', 'ℌ']


@settings(max_examples=30, deadline=None)
@given(names=st.lists(st.sampled_from(_CLASHING), min_size=3, max_size=3, unique=True),
       seed=st.integers(0, 2**32 - 1))
def test_inputs_named_as_the_generated_codes_own_names(names, seed):
    """A matrix or scalar named ``info`` (or ``dgemm``, ``float``, ``np``...) is a local of
    its own: ``info`` once held both the input and the routine's status, and the SYMM read
    the status (a wrong answer or a crash); a local ``dgemm`` shadowed the routine."""
    n = sympy.Symbol('n')
    A, B, c = MatrixSymbol(names[0], n, n), MatrixSymbol(names[1], n, n), sympy.Symbol(names[2])
    f = computations.function([A, B, c], [A * B + B, A.I * B, sympy.sqrt(c) * A + B,
                                         sympy.Trace(A * B) * c],
                              [sympy.Q.positive_definite(A), sympy.Q.positive(c)])
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((4, 4))
    a, b, scalar = a @ a.T + 4 * np.eye(4), rng.standard_normal((4, 4)), rng.uniform(0.5, 2)
    want = (a @ b + b, np.linalg.solve(a, b), np.sqrt(scalar) * a + b, np.trace(a @ b) * scalar)
    for runner in ('source', 'interpret'):
        g = computations.function(f.inputs, f.outputs, f.assumptions, runner=runner)
        for got, expected in zip(g(a, b, scalar), want):
            np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert 'seconds' in str(f.profile(a, b, scalar)).lower()    # start, times: locals too


def test_a_name_python_reads_as_another_tokens_is_a_local_of_its_own():
    """An input named 'ｐｏｗ_A' was read by Python as 'pow_A', the local of A*A: P*C
    silently read A*A (review)."""
    A, P, C = (MatrixSymbol(name, 3, 3) for name in ('A', 'ｐｏｗ_A', 'C'))
    a, p, c = np.random.default_rng().standard_normal((3, 3, 3))
    for runner in ('source', 'interpret'):
        f = computations.function([A, P, C], [A * A, P * C], runner=runner)
        got = f(a, p, c)
        np.testing.assert_allclose(got[0], a @ a, rtol=1e-12)
        np.testing.assert_allclose(got[1], p @ c, rtol=1e-12)


def test_a_non_finite_coefficient_is_written_as_a_float():
    """``oo*A*B`` generated ``dgemm(inf, A, B)``: NameError, where the interpreter gave
    NumPy's answer."""
    A, B = MatrixSymbol('A', 2, 2), MatrixSymbol('B', 2, 2)
    a, b = np.eye(2), np.eye(2)
    for coefficient in (sympy.oo, -sympy.oo, sympy.Float('1e400')):
        results = [computations.function([A, B], [coefficient * A * B], runner=runner)(a, b)[0]
                   for runner in ('source', 'interpret')]
        with np.errstate(invalid='ignore'):
            want = float(coefficient) * (a @ b)
        for got in results:
            np.testing.assert_array_equal(got, want)


def test_compile_source_converts_arrays_the_routines_write_into():
    """AXPY and SCAL write into their argument; given a float32 or C-ordered array, f2py
    wrote into its converted copy and the generated source returned the input unchanged."""
    from computations.matrices import AXPY, SCAL
    from computations.schedulers.codegen import compile_source
    X, Y = MatrixSymbol('X', 3, 3), MatrixSymbol('Y', 3, 3)
    x, y = np.ones((3, 3)), np.ones((3, 3))
    cases = [(AXPY(2, X, Y), {X: x, Y: y}, 3.0), (SCAL(5, X), {X: x}, 5.0),
             (GEMM(1, X, X) + AXPY(2, X * X, Y), {X: x, Y: y}, 7.0)]
    for comp, values, want in cases:
        for convert in (lambda a: a.astype(np.float32), np.ascontiguousarray,
                        lambda a: a.tolist()):
            program = compile_source(comp, donate=[Y] if Y in values else ())
            args = [convert(values[p].copy()) for p in program.parameters]
            np.testing.assert_array_equal(program(*args)[-1], np.full((3, 3), want))
    with pytest.raises(ValueError, match=r'X must be a 2-D array, got shape \(3,\)'):
        compile_source(SCAL(5, X))(np.ones(3))
    with pytest.raises(TypeError, match=r'takes 1 values \(X\), got 2'):
        compile_source(SCAL(5, X))(x, x)


def test_the_routines_refuse_empty_matrices_by_name():
    """scipy's wrappers reject empty arrays with their own errors, or print LAPACK's
    complaints to stderr; execute and compile_source name the empty input instead."""
    from computations.matrices import POSV, SCAL
    from computations.schedulers import execute
    from computations.schedulers.codegen import compile_source
    X, S, B = MatrixSymbol('X', 0, 3), MatrixSymbol('S', 0, 0), MatrixSymbol('B', 0, 2)
    with pytest.raises(ValueError, match=r'X is empty \(0 x 3\).*computations.function'):
        execute(SCAL(2, X), {X: np.zeros((0, 3))})
    with pytest.raises(ValueError, match=r'is empty \(0 x'):
        compile_source(POSV(S, B))(np.zeros((0, 0)), np.zeros((0, 2)))


def test_a_reader_of_the_diagonal_leaves_the_other_triangle_alone():
    """``log(det S)`` beside ``S.I*b`` cleared the factor's upper triangle first (a
    whole O(n^2) pass): the determinant reads only the diagonal."""
    S, b = MatrixSymbol('S', 50, 50), MatrixSymbol('b', 50, 1)
    f = computations.function([S, b], [S.I * b, sympy.log(sympy.Determinant(S))],
                              [sympy.Q.positive_definite(S)])
    assert 'zero_upper' not in f.source and 'dposv' in f.source
    rng = np.random.default_rng()
    s = rng.standard_normal((50, 50))
    s = s @ s.T + 50 * np.eye(50)
    x = rng.standard_normal((50, 1))
    got = f(s, x)
    np.testing.assert_allclose(got[0], np.linalg.solve(s, x), rtol=1e-10)
    np.testing.assert_allclose(got[1], np.linalg.slogdet(s)[1], rtol=1e-12)


# Scalar expressions: one evaluation for every runner (found in review) ------------------

_a = sympy.Symbol('a')
_A = MatrixSymbol('A', sympy.Symbol('n'), sympy.Symbol('n'))


@pytest.mark.parametrize('inputs, output, args, numpy', [
    ([_A], sympy.Trace(_A)**2, (1e200 * np.eye(2),), lambda A: np.trace(A)**2),
    ([_a, _A], sympy.exp(_a) * _A, (800.0, np.eye(2)), lambda a, A: np.exp(a) * A),
    ([_a, _A], _A / _a, (0.0, np.eye(2)), lambda a, A: A / np.float64(a)),
    ([_a, _A], _A * sympy.log(_a), (-1.0, np.eye(2)), lambda a, A: A * np.log(a)),
])
@pytest.mark.parametrize('runner', ['source', 'interpret'])
def test_a_scalar_expression_is_evaluated_as_numpy_evaluates_it(inputs, output, args, numpy,
                                                                runner):
    """An overflow is inf and a division by zero inf or nan, with NumPy's warning, in both
    runners (the generated source raised OverflowError and ZeroDivisionError, the
    interpreter TypeError for SymPy's complex infinity)."""
    f = computations.function(inputs, [output], runner=runner)
    with pytest.warns(RuntimeWarning):
        (got,) = f(*args)
    with np.errstate(all='ignore'):
        want = np.broadcast_to(numpy(*args), np.shape(got))
    np.testing.assert_array_equal(got, want)
