"""Value numbering: the compiler names each value it plans by its canonical expression.

An operation names its outputs by the algebra of its arguments (SYRK of ``H*L``
computes ``H*L*L.T*H.T + R``); the search renames the variable holding a planned
value to that value's canonical expression (``H*Sigma*H.T + R``), whichever route
computed it (:meth:`~computations.matrices.compiler.search.Planner._numbered`).
What reads the value is then one operation, built once and shared by the
compilations at other shapes.  Checked here: the renamed operation's identity
(equality, hashing, pickling), that a name never changes a meaning (hypothesis, by
NumPy), that routes meet on one name, that a program never holds two producers of
one name, and that the passes after the search keep the names.
"""
import pickle

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol

import computations
from computations.core import Identity
from computations.matrices import GEMM, POSV, POTRF, POTRS, SYMM, SYRK, TRSM
from computations.matrices.compiler.driver import (compile_expressions, fuse_factorizations,
                                                   one_producer_per_value)
from computations.matrices.compiler.properties import Properties
from computations.matrices.compiler.search import Operand, Plan, Planner
from computations.matrices.examples.kalman import kalman
from computations.matrices.ops.memo import Memo, sharing
from computations.testing.reference import evaluate, relative_error, rounding
from expressions import problems

n, k = sympy.Symbol('n'), sympy.Symbol('k')
X, S = MatrixSymbol('X', n, n), MatrixSymbol('S', n, n)


# ---------------------------------------------------------------------------- the operation

def test_a_renamed_operation_is_a_value_of_its_own():
    op = SYRK(1, X)
    named = op.renamed({op.outputs[0]: S})
    assert named.outputs == (S,) and named.inputs == op.inputs and named.flops == op.flops
    assert named != op and hash(named) != hash(op)
    assert named == op.renamed({op.outputs[0]: S}) and hash(named) == hash(
        op.renamed({op.outputs[0]: S}))
    assert named.unnamed() == op and op.unnamed() is op
    assert pickle.loads(pickle.dumps(named)) == named
    assert pickle.loads(pickle.dumps(named)).outputs == (S,)
    assert 'renamed' in repr(named) and str(named).startswith('S = SYRK(')
    # renaming back to the routine's own name is the operation itself
    assert named.renamed({S: op.outputs[0]}) == op


def test_renaming_names_only_the_outputs_asked_and_keeps_the_others():
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, 1)
    posv = POSV(A, B)
    solution, factor = posv.outputs
    Y = MatrixSymbol('Y', n, 1)
    named = posv.renamed({solution: Y})
    assert named.outputs == (Y, factor)
    assert named.inplace == posv.inplace and named.condition == posv.condition
    # a name given twice replaces the first, by the current or the routine's name
    assert named.renamed({Y: MatrixSymbol('Z', n, 1)}).outputs[0] == MatrixSymbol('Z', n, 1)
    assert named.renamed({solution: MatrixSymbol('Z', n, 1)}).outputs[0] == MatrixSymbol(
        'Z', n, 1)


def test_a_name_of_another_shape_is_refused():
    op = SYRK(1, X)
    with pytest.raises(ValueError, match='shape'):
        op.renamed({op.outputs[0]: MatrixSymbol('V', n, 1)})
    with pytest.raises(ValueError, match='not a matrix'):
        op.renamed({op.outputs[0]: sympy.Symbol('s')})


def test_renamed_operations_are_interned_while_a_memo_is_shared():
    with sharing(Memo()):
        op = GEMM(1, X, X)
        assert op.renamed({op.outputs[0]: S}) is op.renamed({op.outputs[0]: S})


# ---------------------------------------------------------------------------- the search

def _kalman(n_size, k_size, outputs=slice(None)):
    inputs, exprs, assumptions = kalman()
    dims = {str(d): d for v in inputs for d in v.shape if isinstance(d, sympy.Symbol)}
    return compile_expressions(exprs[outputs], inputs, assumptions,
                               {dims['n']: n_size, dims['k']: k_size})


def _producers(compiled):
    return {var: op for op in compiled.computation if not isinstance(op, Identity)
            for var in op.outputs}


def test_two_routes_to_a_value_give_it_one_name():
    """The Kalman mean alone: ``S = H*Sigma*H.T + R`` is GEMM's from SYMM's ``H*Sigma``
    at k = 100, SYRK's from ``H*L`` (TRMM, L = chol(Sigma)) at k = 700; both name it
    ``H*Sigma*H.T + R``, so the POSV that reads it is one operation."""
    few, many = _producers(_kalman(1000, 100, slice(1))), _producers(_kalman(1000, 700, slice(1)))
    inputs, (mean, _), _ = kalman()
    H, Sigma, R = (next(v for v in inputs if v.name == name) for name in ('H', 'Sigma', 'R'))
    value = H * Sigma * H.T + R
    assert type(few[value]) is GEMM and type(many[value]) is SYRK
    assert few[value].unnamed().outputs[0] != many[value].unnamed().outputs[0]
    solve, = {op for op in few.values() if type(op) is POSV}
    assert solve in many.values()


def test_a_new_route_at_a_new_shape_builds_only_its_own_operations():
    """A function compiled at a small shape and then where the route to S changes builds
    the new route's operations, not again everything that reads S (the names that
    differed made 37 of the Kalman filter's operations new at (1000, 700))."""
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions)
    shapes = lambda n, k: [(n, 1), (n, n), (k, n), (k, k), (k, 1)]
    f.specialize(*shapes(5, 2))
    memo = f.memo
    before = set(memo.tables['ops'].values())
    f.specialize(*shapes(1000, 700))
    new = [op for op in memo.tables['ops'].values() if op not in before]
    assert len(new) <= 5, sorted(map(str, new))


def test_the_reach_of_a_search_passes_a_variable_named_as_an_expression():
    """``_reach`` (what a search planned, for the joint planning's pruning) walked into an
    expression only when it was not already held as a variable's name: with values
    named by expression, a plan held as its child's name hid the child's search (the
    randomized inversion lost its cheapest program at n = 2000)."""
    planner = Planner(Properties(), [X])
    root, child, grandchild = X * X * X, X * X, X.T * X
    planner._memo = {root: Plan(root, Operand(child)), child: Plan(child, Operand(child)),
                     grandchild: Plan(grandchild, Operand(grandchild))}
    planner._children = {root: {child}, child: {grandchild}}
    assert {root, child, grandchild} <= planner._reach(root)


# ---------------------------------------------------------------------------- meanings

@given(problems(), st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_a_name_never_changes_a_meaning(problem, seed):
    """Every output the search renamed holds, by NumPy on data that satisfies the
    assumptions, the value its routine computes (its name before renaming)."""
    compiled = compile_expressions(list(problem.outputs), list(problem.inputs),
                                   list(problem.assumptions), dict(problem.dims))
    subs = {d: sympy.Integer(v) for d, v in problem.dims.items()}
    values = {x.xreplace(subs): value for x, value in
              zip(problem.inputs, problem.data(np.random.default_rng(seed)))}
    for op in compiled.computation:
        for index, name in getattr(op, '_names', ()):
            routine = op.unnamed().outputs[index].xreplace(subs)
            want = evaluate(routine, values)
            error = relative_error(evaluate(name.xreplace(subs), values), want,
                                   rounding(routine, values) + rounding(name.xreplace(subs),
                                                                        values))
            assert error <= 1e-8, f'{op}: {name} is not {routine} ({error:.3g})'


@given(problems())
@settings(max_examples=30, deadline=None)
def test_a_program_has_one_producer_per_variable(problem):
    compiled = compile_expressions(list(problem.outputs), list(problem.inputs),
                                   list(problem.assumptions), dict(problem.dims))
    produced = [var for op in compiled.computation if not isinstance(op, Identity)
                for var in op.outputs]
    assert len(produced) == len(set(produced))


# ---------------------------------------------------------------------------- the passes after

def test_two_producers_of_one_name_keep_the_cheaper_and_drop_what_served_the_other():
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    upstream = GEMM(1, A, A)                                 # read only by the dearer route
    dearer = GEMM(1, upstream.outputs[0], B)
    value = MatrixSymbol('V', n, n)
    cheaper = SYMM(1, A, B).renamed({SYMM(1, A, B).outputs[0]: value})
    dearer = dearer.renamed({dearer.outputs[0]: value})
    reader = GEMM(1, value, B)
    kept = one_producer_per_value({upstream, dearer, cheaper, reader}, [reader.outputs[0]],
                                  lambda op: 1 if op == cheaper else 2)
    assert kept == {cheaper, reader}


def test_a_producer_named_so_by_its_routine_keeps_the_name():
    """POSV's solution is ``A**(-1)*B`` by its routine, and its factor is read: POSV keeps
    the name, although the other producer (renamed) costs less."""
    A, B, Ainv = MatrixSymbol('A', n, n), MatrixSymbol('B', n, 1), MatrixSymbol('Ainv', n, n)
    posv = POSV(A, B)
    solution, factor = posv.outputs
    product = GEMM(1, Ainv, B)
    named = product.renamed({product.outputs[0]: solution})
    reader = TRSM(1, factor, B)
    total = GEMM(1, solution, solution, trans_a=True)
    kept = one_producer_per_value({posv, named, reader, total},
                                  [total.outputs[0], reader.outputs[0]],
                                  lambda op: 1 if op == named else 5)
    assert kept == {posv, reader, total}


def test_two_producers_named_so_by_their_routines_keep_one_unless_the_others_outputs_are_read():
    """POSV and GESV both name their solution ``A**(-1)*B``: the cheaper stays and the other
    goes, unless another of its outputs (GESV's LU factors) is read."""
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, 1)
    from computations.matrices import GESV
    posv, gesv = POSV(A, B), GESV(A, B)
    flops = {posv: 1, gesv: 2}.get
    assert one_producer_per_value({posv, gesv}, [posv.outputs[0]], flops) == {posv}
    with pytest.raises(computations.ComputationsError, match='both compute'):
        one_producer_per_value({posv, gesv}, [posv.outputs[0], gesv.outputs[1]], flops)


def test_two_splits_of_one_product_in_two_traces_compile_to_one_route():
    """A fuzzing run found ``U.T*Y*W`` planned by two GEMMs (of ``U.T*Y`` and ``W``, of ``U``
    and ``Y*W``), each naming its output by the value: the compile failed ('both compute')."""
    Y, W = MatrixSymbol('Y', 3, 4), MatrixSymbol('W', 4, 2)
    D, U = MatrixSymbol('D', 2, 2), MatrixSymbol('U', 3, 2)
    f = computations.function([D, U, W, Y], [sympy.Trace(Y*W*D*U.T)
                                              + sympy.Trace(W*D*U.T*Y*W*U.T*Y)])
    rng = np.random.default_rng()
    d, u, w, y = (rng.standard_normal(shape) for shape in [(2, 2), (3, 2), (4, 2), (3, 4)])
    want = np.trace(y @ w @ d @ u.T) + np.trace(w @ d @ u.T @ y @ w @ u.T @ y)
    got, = f(d, u, w, y)
    assert abs(got - want) <= 1e-12 * max(1.0, abs(want))
    assert str(f.program).count('# U.T*Y*W') == 1


def test_fusing_a_factorization_with_its_solve_keeps_the_solves_name():
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, 1)
    Y = MatrixSymbol('Y', n, 1)
    solve = POTRS(A, B)
    named = solve.renamed({solve.outputs[0]: Y})
    fused, = fuse_factorizations({POTRF(A), named})
    assert type(fused) is POSV and fused.outputs[0] == Y
    assert fused.outputs[1] == POTRF(A).outputs[0]


def test_a_trace_of_inverses_of_a_positive_definite_matrix_compiles_with_them():
    """A rotated trace once wrote P's transpose, and the program read a factor no operation
    made (``LofCholesky(LofCholesky(P.T))``): 'not among the parameters'."""
    P, R = MatrixSymbol('P', 3, 3), MatrixSymbol('R', 3, 2)
    f = computations.function([P, R], [(P + R*R.T).I, sympy.Trace(P.I*(P + R*R.T).I)*P.I],
                              [sympy.Q.positive_definite(P)])
    rng = np.random.default_rng()
    x, r = rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
    p = x @ x.T + 3 * np.eye(3)
    inverse, scaled = f(p, r)
    want = np.linalg.inv(p + r @ r.T)
    assert relative_error(inverse, want) < 1e-12
    assert relative_error(scaled, np.trace(np.linalg.inv(p) @ want) * np.linalg.inv(p)) < 1e-12
