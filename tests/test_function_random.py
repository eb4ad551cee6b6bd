"""Random SymPy matrix problems compiled by ``computations.function``.

The problems come from ``expressions.problems()``: random well-shaped
expressions over inputs with declared properties, and data that satisfies
them.  The compiled function must agree with ``sympy.lambdify`` (NumPy, with
explicit inverses) to 1e-8, leave the caller's arrays alone whatever form
they come in, and choose the kernels the properties call for (POSV/POTRF for
SPD solves, TRSM/TRTRS for triangular ones, GESV/GETRF only for general
ones) without ever forming an explicit inverse.

``test_strategy_*`` check the strategy itself and need no compiler.
"""
import copy

import numpy as np
import sympy
from hypothesis import Phase, given, settings, strategies as st
from sympy import Identity, Inverse, MatAdd, MatMul, MatrixSymbol, Transpose, ZeroMatrix

import computations
from expressions import (GENERAL_SOLVES, SPD_SOLVES, TRIANGULAR_SOLVES, expectations,
                         explicit_inverses, inverse_class, inverse_classes, op_names,
                         problems, structure_errors, symmetric_canonical)

seeds = st.integers(0, 2**32 - 1)


def compile_problem(problem):
    return computations.function(problem.inputs, problem.outputs, problem.assumptions)


def check_results(problem, results, values):
    assert isinstance(results, tuple), type(results)
    assert len(results) == len(problem.outputs)
    for expr, got in zip(problem.outputs, results):
        assert isinstance(got, np.ndarray) and got.ndim == 2, (expr, type(got))
        assert got.shape == problem.shape(expr), (expr, got.shape)
    # relative to the terms' size too: a random output can cancel to exactly zero
    for expr, error in zip(problem.outputs, problem.errors(results, values)):
        assert error <= 1e-8, f'{expr}: relative error {error:.3g}'


# ---------------------------------------------------------------------------- the compiler

@given(problems(), seeds)
@settings(max_examples=40, deadline=None)
def test_matches_lambdify(problem, seed):
    rng = np.random.default_rng(seed)
    f = compile_problem(problem)
    values = problem.data(rng)
    check_results(problem, f(*values), values)
    # A second call with other data of the same shapes: nothing stale carries over.
    values = problem.data(rng)
    check_results(problem, f(*values), values)


def _strongly_oriented():
    """``rates.TALL`` replaced by a table that prices every tall result, whatever its
    size, at half its wide transpose's speed: the search then takes other programs."""
    from unittest import mock
    from computations.matrices.ops import rates
    return mock.patch.object(rates, 'TALL', rates.ShapeRate((1, 2), (1, 2),
                                                            ((0.5, 0.5), (0.5, 0.5))))


@given(problems(), seeds)
@settings(max_examples=25, deadline=None)
def test_matches_lambdify_whatever_the_orientation_costs(problem, seed):
    """The cost model's orientation (``rates.TALL``) decides which program is chosen, never
    its values: with every tall result priced at half its transpose's speed, random
    problems still match lambdify."""
    rng = np.random.default_rng(seed)
    with _strongly_oriented():
        f = compile_problem(problem)
        values = problem.data(rng)
        check_results(problem, f(*values), values)


def test_the_strong_orientation_table_changes_programs():
    """The table of the test above is not idle: ``B*A.T*W`` (B symmetric, 6 x 6, A 5 x 6,
    W 5 x 2) is made wide under it (``W.T*A`` first) and tall without it."""
    from computations.matrices import compile_expressions
    from sympy import Q
    A, W, B = MatrixSymbol('A', 5, 6), MatrixSymbol('W', 5, 2), MatrixSymbol('B', 6, 6)

    def first_product():
        comp = compile_expressions([B * A.T * W], [A, W, B], [Q.symmetric(B)])
        op = next(op for op in comp.computation.toposort() if getattr(op, 'oriented', False))
        return tuple(op.outputs[0].shape)
    assert first_product() == (6, 2)
    with _strongly_oriented():
        assert first_product() == (2, 6)


def _present(value, variant):
    """``(argument, owner)``: the value as the caller passes it, and the object that holds it."""
    if not isinstance(value, np.ndarray):
        return value, None
    if variant == 'readonly':
        a = value.copy()
        a.flags.writeable = False
        return a, a
    if variant == 'fortran':                   # what scipy's overwrite_* flags would clobber
        a = np.asfortranarray(value)
        return a, a
    if variant == 'noncontiguous':
        r, c = value.shape
        big = np.full((2 * r, 2 * c), np.nan)
        big[::2, ::2] = value
        return big[::2, ::2], big
    if variant == 'lists':
        a = value.tolist()
        return a, a
    a = value.copy()
    return a, a


VARIANTS = ('plain', 'fortran', 'readonly', 'noncontiguous', 'lists')


@given(problems(), seeds)
@settings(max_examples=25, deadline=None)
def test_inputs_unchanged(problem, seed):
    f = compile_problem(problem)
    values = problem.data(np.random.default_rng(seed))
    for variant in VARIANTS:
        presented = [_present(v, variant) for v in values]
        owners = [owner for _, owner in presented]
        before = [copy.deepcopy(owner) for owner in owners]
        writeable = [o.flags.writeable if isinstance(o, np.ndarray) else None for o in owners]
        results = f(*(argument for argument, _ in presented))
        for x, owner, old, flag in zip(problem.inputs, owners, before, writeable):
            if isinstance(owner, np.ndarray):
                assert np.array_equal(owner, old, equal_nan=True), f'{variant}: {x} was modified'
                assert owner.flags.writeable == flag, f'{variant}: {x} changed writeability'
            elif owner is not None:
                assert owner == old, f'{variant}: the list given for {x} was modified'
        check_results(problem, results, values)


@given(problems())
@settings(max_examples=40, deadline=None)
def test_expected_kernels_and_no_explicit_inverse(problem):
    f = compile_problem(problem)
    values = problem.data(np.random.default_rng(0))
    programs = {'f.computation': f.computation,
                'f.specialize(*data).computation': f.specialize(*values).computation}
    for label, program in programs.items():
        names = op_names(program)
        listing = f'{label}:\n{program}'
        for alternatives in problem.expected:
            assert names & alternatives, f'none of {sorted(alternatives)} in\n{listing}'
        assert not names & problem.forbidden, \
            f'{sorted(names & problem.forbidden)} should not appear in\n{listing}'
        assert not explicit_inverses(program), \
            f'explicit inverses {explicit_inverses(program)} in\n{listing}'


# ---------------------------------------------------------------------------- the strategy

def _assert_kind(kind, value, x):
    if kind == 'scalar':
        assert isinstance(value, float) and 0.5 <= abs(value) <= 2, (x, value)
        return
    assert isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim == 2
    assert np.all(np.isfinite(value)), x
    n = value.shape[0]
    if kind in ('symmetric', 'spd'):
        assert np.array_equal(value, value.T), f'{x} is not symmetric'
    if kind == 'spd':
        np.linalg.cholesky(value)              # raises unless positive definite
        assert np.linalg.cond(value) < 1e3, x
    if kind == 'lower':
        assert not np.triu(value, 1).any() and np.all((1 <= np.diag(value))
                                                     & (np.diag(value) <= 2)), x
    if kind == 'upper':
        assert not np.tril(value, -1).any() and np.all((1 <= np.diag(value))
                                                      & (np.diag(value) <= 2)), x
    if kind == 'diagonal':
        assert np.array_equal(value, np.diag(np.diag(value))) and np.all(np.diag(value) > 0), x
    if kind in ('invertible', 'lower', 'upper', 'diagonal', 'spd'):
        assert value.shape == (n, n) and np.linalg.cond(value) < 1e3, x
    if kind == 'fullrank':
        rows, cols = value.shape
        assert rows > cols, f'{x} is not tall'
        assert np.linalg.matrix_rank(value) == cols and np.linalg.cond(value) < 1e2, x


def _inverses(exprs):
    found = []
    for expr in exprs:
        found.extend(expr.atoms(Inverse))
    return found


@given(problems(), seeds)
@settings(max_examples=300, deadline=None)
def test_strategy_draws_valid_problems(problem, seed):
    """The data satisfies the declared properties; lambdify evaluates every output."""
    inputs, outputs = problem.inputs, problem.outputs
    assert 1 <= len(outputs) <= 2
    assert structure_errors(outputs) == []
    # Inputs: distinct names, exactly the symbols of the outputs (not the dimensions).
    assert len({str(x) for x in inputs}) == len(inputs)
    used = set().union(*(e.free_symbols for e in outputs)) - set(problem.dims)
    assert set(inputs) == used
    for x in inputs:
        assert isinstance(x, (MatrixSymbol, sympy.Symbol)), x
    dims = set(problem.dims)
    for d, v in problem.dims.items():
        assert d.is_integer and d.is_positive and 1 <= v <= 6
    for x in inputs:
        if isinstance(x, MatrixSymbol):
            assert all(isinstance(d, sympy.Integer) or d in dims for d in x.shape), x
    for inverse in _inverses(outputs):           # X.T*X stays invertible at any default sizes
        for X in inverse.arg.atoms(MatrixSymbol):
            if problem.kinds[X] == 'fullrank' and not X.shape[1].is_number:
                assert not X.shape[0].is_number, (X, X.shape)
    # Assumptions: about inputs only; one predicate per kind.
    for a in problem.assumptions:
        assert a.arg in inputs, a
    Q = sympy.Q
    declared = {'general': set(), 'scalar': set(), 'symmetric': {Q.symmetric},
                'lower': {Q.lower_triangular}, 'upper': {Q.upper_triangular},
                'invertible': {Q.invertible}, 'diagonal': {Q.diagonal},
                'fullrank': {Q.fullrank}}
    assert set(problem.kinds) == set(inputs)
    for x, kind in problem.kinds.items():
        predicates = {a.function for a in problem.assumptions if a.arg == x}
        if kind == 'spd':                      # sometimes also declared symmetric
            assert predicates in ({Q.positive_definite}, {Q.positive_definite, Q.symmetric})
        else:
            assert predicates == declared[kind], (x, kind, predicates)
    # Data.
    values = problem.data(np.random.default_rng(seed))
    assert len(values) == len(inputs)
    for x, value in zip(inputs, values):
        _assert_kind(problem.kinds[x], value, x)
        if isinstance(x, MatrixSymbol):
            assert value.shape == problem.shape(x), (x, value.shape)
    # Outputs.
    for expr, result in zip(outputs, problem.reference(values)):
        assert result.shape == problem.shape(expr), (expr, result.shape)
        assert np.all(np.isfinite(result)), expr
    # Inverses: of well-conditioned matrices, SPD where the class says so.
    classes = inverse_classes(outputs, problem.kinds)
    for inverse in _inverses(outputs):
        cls = inverse_class(inverse, problem.kinds)
        arg = problem.evaluate(inverse.arg, values)
        assert arg.shape[0] == arg.shape[1] and np.linalg.cond(arg) < 1e4, inverse
        if cls == 'spd':
            assert np.allclose(arg, arg.T, rtol=0, atol=1e-12), inverse
            np.linalg.cholesky(arg)
        if cls == 'triangular':
            assert not np.triu(arg, 1).any() or not np.tril(arg, -1).any(), inverse
    # Kernel expectations: one family per class of inverse, unless the outputs'
    # symmetric canonical form (S.T -> S) loses that inverse; forbidden families
    # are needed by neither form.
    canonical = symmetric_canonical(outputs, problem.kinds)
    assert structure_errors(canonical, powers=True) == []
    assert (problem.expected, problem.forbidden) == expectations(outputs, problem.kinds,
                                                                 canonical)
    expect = {'spd': SPD_SOLVES, 'triangular': TRIANGULAR_SOLVES, 'general': GENERAL_SOLVES}
    assert problem.expected <= {expect[c] for c in classes}
    assert not any(alternatives & problem.forbidden for alternatives in problem.expected)
    assert ('GESV' in problem.forbidden) <= ('general' not in classes)
    assert ('POSV' in problem.forbidden) <= ('spd' not in classes)
    assert ('TRSM' in problem.forbidden) <= (not classes)
    assert not classes or problem.expected or canonical != outputs


def _factors(expr):
    return [a for a in expr.args if isinstance(a, sympy.MatrixExpr)]


def _has(problem, predicate):
    return any(predicate(node) for e in problem.outputs for node in sympy.preorder_traversal(e))


COVERAGE = {
    'symbolic shapes': lambda p: bool(p.dims),
    'symbolic Identity': lambda p: p.dims and _has(
        p, lambda e: isinstance(e, Identity) and not e.shape[0].is_number),
    'two outputs': lambda p: len(p.outputs) == 2,
    'scalar symbol': lambda p: any(k == 'scalar' for k in p.kinds.values()),
    'rational coefficient': lambda p: _has(p, lambda e: isinstance(e, sympy.Rational)
                                           and not e.is_integer),
    'float coefficient': lambda p: _has(p, lambda e: isinstance(e, sympy.Float)),
    'Identity in a sum': lambda p: _has(p, lambda e: isinstance(e, MatAdd) and any(
        isinstance(a, Identity) or (isinstance(a, MatMul) and a.has(Identity)) for a in e.args)),
    'ZeroMatrix': lambda p: _has(p, lambda e: isinstance(e, ZeroMatrix)),
    'Transpose of a compound': lambda p: _has(p, lambda e: isinstance(e, Transpose)
                                              and not isinstance(e.arg, MatrixSymbol)),
    'SPD inverse': lambda p: SPD_SOLVES in p.expected,
    'triangular inverse': lambda p: TRIANGULAR_SOLVES in p.expected,
    'general inverse': lambda p: GENERAL_SOLVES in p.expected,
    'inverse on the right': lambda p: _has(p, lambda e: isinstance(e, MatMul) and isinstance(
        _factors(e)[-1], Inverse)),
    'inverse of a transpose': lambda p: _has(p, lambda e: isinstance(e, Inverse)
                                             and isinstance(e.arg, Transpose)),
    'Kalman innovation (H*S*H.T + R).I': lambda p: _has(p, lambda e: isinstance(e, Inverse)
                                                         and isinstance(e.arg, MatAdd)
                                                         and any(isinstance(a, MatMul) and len(
                                                             _factors(a)) == 3 for a in e.arg.args)),
    'normal equations (X.T*X).I': lambda p: _has(p, lambda e: isinstance(e, Inverse)
                                                 and isinstance(e.arg, MatMul)),
    'chain of 4 factors with a vector': lambda p: _has(p, lambda e: isinstance(e, MatMul)
                                                       and len(_factors(e)) >= 4
                                                       and 1 in e.shape),
    'two inverses in one product': lambda p: _has(p, lambda e: isinstance(e, MatMul) and sum(
        isinstance(a, Inverse) for a in e.args) >= 2),
    'diagonal input': lambda p: 'diagonal' in p.kinds.values(),
    'symmetric input': lambda p: 'symmetric' in p.kinds.values(),
    'tall full-rank input outside an inverse': lambda p: _has(
        p, lambda e: isinstance(e, MatMul) and any(
            isinstance(a, MatrixSymbol) and p.kinds.get(a) == 'fullrank' for a in e.args)
        and not e.has(Inverse)),
    'positive_definite with symmetric': lambda p: any(
        a.function == sympy.Q.symmetric and p.kinds[a.arg] == 'spd' for a in p.assumptions),
}


def test_strategy_covers_every_feature():
    """Each feature the strategy promises turns up within a few hundred draws."""
    seen = set()

    @given(problems())
    @settings(max_examples=400, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate])
    def draw(problem):
        seen.update(name for name, feature in COVERAGE.items() if feature(problem))

    draw()
    assert set(COVERAGE) - seen == set()
