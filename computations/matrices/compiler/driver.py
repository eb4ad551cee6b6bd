"""From SymPy expressions to a composite of BLAS/LAPACK operations.

:func:`compile_expressions` canonicalizes the outputs under the
assumptions (:mod:`.canonical`, :mod:`.properties`), plans them jointly
(matrices before scalars, each output held untransposed:
:meth:`~.joint.JointPlanning.plan_outputs`) with the cost-driven search
(:mod:`.search`, :mod:`.rules`), and fuses each factorization with one of
its solves (POTRF + POTRS is one POSV call).  The result's outputs are the variables that hold the
requested values: the same values, though not always the same spelling
(``Sigma - W.T*W`` for ``Sigma - Sigma*H.T*S.I*H*Sigma``).

>>> from sympy import MatrixSymbol, Q
>>> X, y = MatrixSymbol('X', 100, 3), MatrixSymbol('y', 100, 1)
>>> compiled = compile_expressions([(X.T*X).I*X.T*y], [X, y], [Q.fullrank(X)])
>>> print(compiled.computation)      # doctest: +NORMALIZE_WHITESPACE
X.T*y = GEMV(1, X, y, trans=True)
X.T*X = SYRK(1, X, trans=True)
(X.T*X)**(-1)*X.T*y, LofCholesky(X.T*X) = POSV(X.T*X, X.T*y)
(X.T*X)**(-1)*X.T*y = Identity((X.T*X)**(-1)*X.T*y)
"""
import logging
import math
import time
from typing import NamedTuple

import sympy
from sympy import MatrixExpr, MatrixSymbol

from computations.core import CompositeComputation, Identity
from computations.graph import ComputationsError, sort_key
from computations.log import get_logger
from computations.matrices.ops.auxiliary import TRANSPOSE
from computations.matrices.compiler.assumptions import check_square
from computations.matrices.compiler.canonical import _ordered
from computations.matrices.ops.lapack import GESV, GETRF, GETRS, POSV, POTRF, POTRS, SYSV, SYTRF, SYTRS
from computations.matrices.compiler.properties import Properties
from computations.matrices.compiler.search import Planner
from computations.matrices.ops.memo import Memo, active, sharing
from computations.sizes import UndefinedAtSizeError

__all__ = ['compile_expressions', 'Compiled', 'fuse_factorizations', 'bind_defined']

#: Records each compilation at DEBUG: the chosen program, its FLOPs, the compile time.
logger = get_logger('compiler')


class Compiled(NamedTuple):
    """A compiled program: ``computation`` and, per requested output, the variable holding it."""
    computation: CompositeComputation
    results: tuple
    flops: float


def compile_expressions(outputs, inputs, assumptions=(), dims=None):
    """The cheapest composite computing ``outputs`` from ``inputs`` (see the module).

    ``dims`` binds symbolic dimensions to sizes, for the costs and the shape
    comparisons; every dimension must be a number or bound.

    Operations, products and property answers are kept in the active
    :class:`~computations.matrices.ops.memo.Memo` (a compiled function's, shared by its
    compilations at every size), else in one made for this compilation.

    Each compilation is logged at DEBUG on ``computations.compiler``
    (:mod:`computations.log`): the chosen program, its FLOPs and the time taken.
    """
    start = time.perf_counter()
    with sharing(active() or Memo()):
        compiled = _compile(outputs, inputs, assumptions, dims)
    if logger.isEnabledFor(logging.DEBUG):
        _log(compiled, outputs, dims, time.perf_counter() - start)
    return compiled


def _log(compiled, outputs, dims, seconds):
    """Log a compilation's decisions at DEBUG (made only when DEBUG is enabled)."""
    from computations.matrices.printing import pseudocode
    names = {}
    for i, result in enumerate(compiled.results):
        names.setdefault(result, f'out{i}')
    ops = [op for op in compiled.computation if not isinstance(op, Identity)]
    logger.debug('compiled %d output(s)%s in %.3f s: %d routine call(s), %.4g FLOPs\n%s\n%s',
                 len(outputs), ' at ' + ', '.join(f'{d}={v}' for d, v in dims.items())
                 if dims else '', seconds, len(ops), compiled.flops,
                 '\n'.join(f'  {names[r]} = {o}' for r, o in zip(compiled.results, outputs)),
                 '\n'.join('  ' + line for line in
                           pseudocode(compiled.computation, names).splitlines()))


def _compile(outputs, inputs, assumptions, dims):
    properties = Properties(assumptions, dims)
    check_square(assumptions, properties)       # Q.symmetric(Y), Y n x m: a promise n = m
    planner = Planner(properties, inputs)
    # Matrices first: a scalar (a trace, a quadratic form) is cheap to read off them once
    # they are computed -- Trace(y.T*K.I*y) from the K.I*y a gradient needs anyway.
    order = sorted(range(len(outputs)), key=lambda i: not isinstance(outputs[i], MatrixExpr))
    plans = [None] * len(outputs)
    for i, plan in zip(order, planner.plan_outputs([_bound(outputs[i], properties)
                                                    for i in order])):
        plans[i] = plan
    ops = set(planner.committed)
    results = []
    for plan in plans:         # an output held transposed is copied (a TRANSPOSE it costs)
        var, transposed = plan.operand
        if transposed:
            op = TRANSPOSE(var)
            ops.add(op)
            var = op.outputs[0]
        results.append(var)
    ops = one_producer_per_value(ops, results, planner.flops)
    flops = math.fsum(map(planner.flops, ops))
    ops = fuse_factorizations(ops)
    return Compiled(CompositeComputation(*ops, Identity(*results)), tuple(results), flops)


def bind_scalar_dimensions(expr, dims):
    """``expr`` with the dimensions in its scalars replaced by their sizes; the shapes of
    matrices are left alone (they name the variables).

    >>> n = sympy.Symbol('n')
    >>> X = MatrixSymbol('X', n, n)
    >>> bind_scalar_dimensions((n + sympy.Trace(X)/n)*X + sympy.Identity(n), {n: 3})
    (Trace(X)/3 + 3)*X + I
    """
    if not dims or isinstance(expr, MatrixSymbol) or not expr.args:
        return dims.get(expr, expr) if isinstance(expr, sympy.Symbol) else expr
    if isinstance(expr, MatrixExpr) and not expr.has(*dims):
        return expr
    args = [bind_scalar_dimensions(arg, dims) if isinstance(arg, sympy.Basic) else arg
            for arg in expr.args]
    if isinstance(expr, MatrixExpr) and expr.shape != expr.func(*args).shape:
        return expr                           # a shape (Identity(n)): keep its dimensions
    if args == list(expr.args):
        return expr
    return _ordered(expr.func(*args))             # a sum's terms stay in canonical order


def bind_defined(expr, dims, output=None):
    """``expr`` with the dimensions in its scalars bound (:func:`bind_scalar_dimensions`),
    or :class:`UndefinedAtSizeError` (naming ``output``, by default ``expr``) when a size
    makes a coefficient undefined: ``n/(n - 1)`` at n = 1, ``Trace(A)/n`` at n = 0.

    >>> n = sympy.Symbol('n')
    >>> A = MatrixSymbol('A', n, n)
    >>> bind_defined(A/(n - 1), {n: 1})
    Traceback (most recent call last):
        ...
    computations.sizes.UndefinedAtSizeError: 1/(n - 1)*A is undefined when n = 1: a coefficient made of its dimensions is not a finite real number
    """
    bound = bind_scalar_dimensions(expr, dims)
    if bound is not expr and bound.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        raise UndefinedAtSizeError(expr if output is None else output, dims)
    return bound


def _bound(output, properties):
    """The canonical form of ``output`` with the dimensions in its scalars bound
    (:func:`bind_defined`): again canonical, since a size can make a coefficient 0
    (``(n - 1)*A`` at n = 1 is the zero matrix, ``A + (n - 1)*B`` is A)."""
    canonical = properties.canonical(output)
    bound = bind_defined(canonical, properties.dims, output)
    return canonical if bound is canonical else properties.canonical(bound)


#: factorization -> (the solve reading its factors, the routine doing both).
FUSIONS = {POTRF: (POTRS, POSV), GETRF: (GETRS, GESV), SYTRF: (SYTRS, SYSV)}


def one_producer_per_value(ops, results, flops):
    """``ops`` with one producer per variable, and without what then serves nothing.

    The search names each value by the expression it computes (value numbering:
    :meth:`~.search.Planner._numbered`), so two routes to one value -- planned under
    different committed or free operations -- name the same variable; a program that
    took both computes the value twice.  Either serves every reader.  One whose routine
    gives its output that name is kept (it cannot give it up), else the one of fewer
    ``flops``; the others' outputs take back the names their routines give them -- or,
    where a routine names its output by the value as well (two GEMMs of different
    splits of one product), that operation is dropped, unless another of its outputs is
    read (then the program is refused) -- and operations none of whose outputs reach
    ``results`` are dropped.

    With ``A`` symmetric, ``A.T*B`` is ``A*B``; a program holding both routes keeps one:

    >>> from sympy import MatrixSymbol
    >>> from computations.matrices import GEMM
    >>> A, B = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3)
    >>> plain, transposed = GEMM(1, A, B), GEMM(1, A, B, trans_a=True)
    >>> twice = {plain, transposed.renamed({transposed.outputs[0]: plain.outputs[0]})}
    >>> one_producer_per_value(twice, [A*B], lambda op: 1) == {plain}
    True

    Two splits of ``A*B*A``, each a GEMM whose output is named ``A*B*A``: the one of
    fewer FLOPs is kept, with what it reads; the other route's product ``B*A`` goes.

    >>> AB, BA = GEMM(1, A, B), GEMM(1, B, A)
    >>> left, right = GEMM(1, AB.outputs[0], A), GEMM(1, A, BA.outputs[0])
    >>> kept = one_producer_per_value({AB, BA, left, right}, [A*B*A], {left: 1, right: 2,
    ...                               AB: 1, BA: 1}.get)
    >>> kept == {AB, left}
    True
    """
    producers = {}
    for op in ops:
        for var in op.outputs:
            producers.setdefault(var, []).append(op)
    contested = {var: found for var, found in producers.items() if len(found) > 1}
    if not contested:
        return set(ops)
    ops = set(ops)
    for var, found in contested.items():
        def own(op):
            return op.unnamed().outputs[op.outputs.index(var)]
        kept, *others = sorted(found, key=lambda op: (own(op) != var, flops(op), sort_key(op)))
        for op in others:
            ops.discard(op)
            if own(op) != var:
                ops.add(op.renamed({var: own(op)}))
            elif any(out != var and (out in results or any(out in o.inputs for o in ops))
                     for out in op.outputs):         # it makes something else that is read
                raise ComputationsError(f'{op} and {kept} both compute {var}')
            # else a second route whose routine names its output by the value too (GEMM of
            # U.T*Y and W, GEMM of U and Y*W), and nothing else of it is read: it goes
    producer = {var: op for op in ops for var in op.outputs}
    needed, todo, live = set(), list(results), set()
    while todo:
        var = todo.pop()
        if var in needed:
            continue
        needed.add(var)
        op = producer.get(var)
        if op is not None and op not in live:
            live.add(op)
            todo.extend(op.inputs)
    return live


def fuse_factorizations(ops):
    """Replace a factorization and one solve reading its factors by one call (POSV, GESV).

    The solve fused is the first, in a topological order, whose right-hand
    side does not depend on the factorization.  Returns a new set of ops.

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1)
    >>> fuse_factorizations({POTRF(A), POTRS(A, B)}) == {POSV(A, B)}
    True
    """
    ops = set(ops)
    for factor in [op for op in ops if type(op) in FUSIONS]:
        solve_type, fused_type = FUSIONS[type(factor)]
        comp = CompositeComputation(*ops)
        downstream = _downstream(comp, factor)
        for solve in comp.toposort():
            if (type(solve) is solve_type and solve.A == factor.A
                    and not getattr(solve, 'trans', False) and solve.B not in downstream):
                ops -= {factor, solve}
                names = {old: new for op in (factor, solve)
                         for old, new in zip(op.unnamed().outputs, op.outputs)}
                ops.add(fused_type(solve.A, solve.B).renamed(names))
                break
    return ops


def _downstream(comp, op):
    """The variables that depend on ``op``'s outputs."""
    seen, todo = set(), list(op.outputs)
    while todo:
        var = todo.pop()
        if var in seen:
            continue
        seen.add(var)
        for consumer in comp.consumers(var):
            todo.extend(consumer.outputs)
    return seen
