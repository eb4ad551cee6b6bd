"""Programs as readable pseudocode: one routine call per line.

Each line names what one call computes, in terms of the names of earlier
results: ``t1 := H*Sigma    [SYMM]``.  Transposes print as ``X'``,
inverses as ``inv(X)`` (never formed: a solve), factors as ``chol(X)``,
``lu(X)`` and ``piv(X)``.

>>> from sympy import MatrixSymbol
>>> from computations.matrices import GEMM, POSV
>>> A, B, C = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3), MatrixSymbol('C', 3, 1)
>>> program = GEMM(1, A, A, 1, B, trans_a=True) + POSV(A.T*A + B, C)
>>> print(pseudocode(program, {(A.T*A + B).I*C: 'x'}))
t1 := B + A'*A                        [GEMM]
x, chol(t1) := inv(t1)*C, chol(t1)    [POSV]
"""
from sympy import Basic, MatrixExpr, MatrixSymbol, Symbol
from sympy.matrices.expressions.factorizations import Factorization
from sympy.printing.str import StrPrinter

from computations.core import Identity
from computations.matrices.transforms.blocking.nodes import Assemble, BlockOp, Split

__all__ = ['pseudocode', 'show']


class _Printer(StrPrinter):
    """SymPy's str printer with matrix-language conventions."""

    def _print_Transpose(self, expr):
        inner = self._print(expr.arg)
        return f"{inner}'" if expr.arg.is_Atom or isinstance(expr.arg, MatrixSymbol) \
            else f"({inner})'"

    def _print_Inverse(self, expr):
        return f'inv({self._print(expr.arg)})'

    def _print_LofCholesky(self, expr):
        return f'chol({self._print(expr.arg)})'

    def _print_LU(self, expr):
        return f'lu({self._print(expr.arg)})'

    def _print_LUPivots(self, expr):
        return f'piv({self._print(expr.arg)})'


def show(expr):
    """An expression in the pseudocode's notation.

    >>> X = MatrixSymbol('X', 3, 2)
    >>> show((X.T*X).I)
    "inv(X'*X)"
    """
    return _Printer().doprint(expr)


def pseudocode(computation, names=None, order=None):
    """The lines of ``computation``'s calls (``order``: the ops in execution order).

    ``names`` maps variables to the names to print for them (the outputs);
    other results are called ``t1``, ``t2``, ... and factors by what they
    are (``chol(t1)``).
    """
    names = dict(names or {})
    order = [op for op in (order if order is not None else computation.toposort())
             if not isinstance(op, Identity) and op in computation]
    taken = {str(v) for v in computation.inputs} | set(names.values())
    renamed, lines, counter = {}, [], 0
    for op in order:
        if isinstance(op, (Split, Assemble, BlockOp)):     # a blocked program's nodes
            lines.append(_named_line(op, names))
            continue
        shown = type(op)(*[_shown(name, p, renamed) for name, p in zip(op.__props__, op.props)])
        targets = []
        for var, out in zip(op.outputs, shown.outputs):
            if var in names:
                name, renamed[var] = names[var], _symbol(var, names[var])
            elif isinstance(out, Factorization):          # named by what it is: chol(t1)
                name, renamed[var] = show(out), out
            else:
                counter += 1
                while f't{counter}' in taken:
                    counter += 1
                name = f't{counter}'
                renamed[var] = _symbol(var, name)
            targets.append(name)
        lines.append((f"{', '.join(targets)} := {', '.join(map(show, shown.outputs))}",
                      type(op).__name__))
    width = min(max((len(text) for text, _ in lines), default=0), 40)
    return '\n'.join(f'{text:<{width}}    [{routine}]' for text, routine in lines)


def _named_line(op, names):
    """The line of an operation that is not one routine on expressions (a blocked program's
    Split and Assemble, and its block operations, whose values are block symbols): what it
    writes and reads, by name."""
    def name(var):
        return names.get(var, str(var))
    routine = type(getattr(op, 'op', op)).__name__
    return (f"{', '.join(map(name, op.outputs))} := "
            f"{routine}({', '.join(map(name, op.inputs))})", routine)


def _shown(name, prop, renamed):
    """A prop of an operation as printed: renamed; a scalar operation's ``output`` dropped,
    so that the line shows what it reads (``Trace(t5)``, not the value it stands for)."""
    if name == 'output':
        return None
    return prop.xreplace(renamed) if isinstance(prop, Basic) else prop


def _symbol(var, name):
    return MatrixSymbol(name, *var.shape) if isinstance(var, MatrixExpr) else Symbol(name)
