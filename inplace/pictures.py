"""How token programs are drawn: registrations in :mod:`computations.pictures`.

An operation's box shows its routine (``GEMM``, not ``TokenComputation``);
each value shows its expression and, on a second line, the buffer (token)
that holds it; the edges into and out of an overwritten buffer are red.  A
token program's picture has a legend (``legend=False`` leaves it out).

>>> from computations import Computation
>>> from computations.pictures import dot
>>> from computations.inplace import TokenComputation
>>> class Scale(Computation):
...     inplace = {0: 0}
>>> node = TokenComputation(Scale(['x'], ['2*x']), ['buf'], ['buf'])
>>> print(dot(node).source)  # doctest: +NORMALIZE_WHITESPACE
digraph computation {
    graph [rankdir=TB]
    v0 [label="x\\n[buf]" shape=ellipse]
    v1 [label="2*x\\n[buf]" peripheries=2 shape=ellipse]
    op0 [label=Scale shape=box]
    v0 -> op0 [color=red penwidth=2]
    op0 -> v1 [color=red penwidth=2]
    subgraph cluster_legend {
        color=gray50 label=legend style=rounded
        "legend-routine" [label=routine shape=box]
        "legend-buffer" [label="value\\n[buffer]" shape=ellipse]
        "legend-output" [label=output peripheries=2 shape=ellipse]
        "legend-overwritten-from" [label="" shape=point]
        "legend-overwritten" [label="buffer overwritten" shape=plaintext]
        "legend-overwritten-from" -> "legend-overwritten" [color=red penwidth=2]
    }
}
<BLANKLINE>
"""
from computations.pictures import (expression, is_scalar, operation_label, overwritten_inputs,
                                   variable_label)

from .tokens import ExprToken, TokenComputation

__all__ = []


@operation_label.register
def _routine(node: TokenComputation):
    return operation_label(node.comp)


@variable_label.register
def _value_in_buffer(var: ExprToken):
    return f'{variable_label(var.expr)}\n[{var.token}]'


@expression.register
def _value_expression(var: ExprToken):
    return var.expr


@is_scalar.register
def _scalar_value(var: ExprToken):
    return is_scalar(var.expr)


@overwritten_inputs.register
def _destroyed(node: TokenComputation):
    return frozenset(node.inputs[i] for i in node.destroyed)
