"""Storage tokens: a mathematical value paired with the name of the buffer that holds it.

A token program is a :class:`~computations.CompositeComputation` of
:class:`TokenComputation` nodes.  Its variables are :class:`ExprToken` pairs,
so the same mathematical value may live in two buffers (a copy) and one
buffer may hold several values over time (an operation that overwrites its
input).  An operation overwrites input ``i`` with output ``o`` exactly when
its routine can (``comp.inplace[o] == i``) and the two carry the same token.

>>> from computations import Computation
>>> t = TokenComputation(Computation(['x'], ['y']), ['x'], ['y'])
>>> t.inputs, t.outputs
((ExprToken('x', 'x'),), (ExprToken('y', 'y'),))
>>> print(t)
y = Computation(x)  # y
"""
import keyword
import re

from computations import Computation
from computations.core import Immutable

__all__ = ['ExprToken', 'TokenComputation', 'Copy', 'TokenNamer', 'token_name', 'inplace_map']


def inplace_map(comp):
    """``{output_index: input_index}`` that ``comp``'s routine may overwrite (``{}`` if none).

    Raises ValueError for a map that does not fit the operation (two outputs
    into one input, or indices out of range).

    >>> inplace_map(Computation(['x'], ['y']))
    {}
    """
    mapping = dict(comp.inplace)
    if len(set(mapping.values())) < len(mapping) or any(
            not 0 <= o < len(comp.outputs) or not 0 <= i < len(comp.inputs)
            for o, i in mapping.items()):
        raise ValueError(f'{type(comp).__name__} declares the inplace map {mapping}, which '
                         'does not fit its inputs and outputs (each output into a different '
                         'input)')
    return mapping


class ExprToken(Immutable):
    """A value (``expr``) stored in a buffer (``token``, a Python identifier).

    >>> ExprToken('x', 'buf') == ExprToken('x', 'buf') != ExprToken('x', 'x')
    True
    >>> str(ExprToken('x', 'buf'))
    'x@buf'
    """
    __slots__ = ('expr', 'token', '_hash')

    def __init__(self, expr, token):
        _check_token(token)
        object.__setattr__(self, 'expr', expr)
        object.__setattr__(self, 'token', token)
        object.__setattr__(self, '_hash', hash((ExprToken, expr, token)))

    def __eq__(self, other):
        return (isinstance(other, ExprToken) and self._hash == other._hash
                and self.token == other.token and self.expr == other.expr)

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        return (ExprToken, (self.expr, self.token))

    def __repr__(self):
        return f'ExprToken({self.expr!r}, {self.token!r})'

    def __str__(self):
        return f'{self.expr}@{self.token}'


def _check_token(token):
    if not isinstance(token, str) or not token.isidentifier() or keyword.iskeyword(token):
        raise ValueError(f'token {token!r} is not a valid Python identifier')


class TokenComputation(Computation):
    """A computation whose every input and output carries a storage token.

    ``comp`` is the mathematical operation; ``input_tokens[i]`` names the
    buffer holding ``comp.inputs[i]``, ``output_tokens[o]`` the buffer that
    receives ``comp.outputs[o]``.

    >>> import sympy
    >>> from computations.matrices import POSV
    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 1)
    >>> t = TokenComputation(POSV(A, B), ['A', 'B'], ['B', 'A'])
    >>> t.destroy_map
    {0: 1, 1: 0}
    """
    __slots__ = ('_inputs', '_outputs', '_produced')
    __props__ = ('comp', 'input_tokens', 'output_tokens')

    def __init__(self, comp, input_tokens, output_tokens):
        if not isinstance(comp, Computation) or isinstance(comp, TokenComputation):
            raise TypeError(f'TokenComputation wraps a mathematical Computation, got {comp!r}')
        input_tokens, output_tokens = tuple(input_tokens), tuple(output_tokens)
        for what, tokens, values in (('input', input_tokens, comp.inputs),
                                     ('output', output_tokens, comp.outputs)):
            if len(tokens) != len(values):
                raise ValueError(f'{type(comp).__name__} has {len(values)} {what}s but '
                                 f'{len(tokens)} {what} tokens were given')
            for token in tokens:
                _check_token(token)
        produced = set(comp.produced)
        home = dict(zip(comp.inputs, input_tokens))
        for var, token in zip(comp.outputs, output_tokens):
            if var not in produced and home.get(var) != token:
                raise ValueError(f'{type(comp).__name__} passes {var} through: its output '
                                 f'token must be its input token {home.get(var)!r}, not '
                                 f'{token!r}')
        self._freeze(comp, input_tokens, output_tokens)
        object.__setattr__(self, '_inputs', tuple(map(ExprToken, comp.inputs, input_tokens)))
        object.__setattr__(self, '_outputs', tuple(map(ExprToken, comp.outputs, output_tokens)))
        object.__setattr__(self, '_produced', tuple(o for o, e in zip(self._outputs, comp.outputs)
                                                    if e in produced))

    @property
    def inputs(self):
        return self._inputs

    @property
    def outputs(self):
        return self._outputs

    @property
    def produced(self):
        return self._produced

    @property
    def destroy_map(self):
        """``{output_index: input_index}`` of the overwrites this node performs."""
        return {o: i for o, i in inplace_map(self.comp).items()
                if self.output_tokens[o] == self.input_tokens[i]}

    @property
    def destroyed(self):
        """The input positions whose buffers this node overwrites."""
        return frozenset(self.destroy_map.values())

    def __str__(self):
        name = type(self.comp).__name__
        outs = ', '.join(map(str, self.comp.outputs))
        return f"{', '.join(self.output_tokens)} = {name}({', '.join(self.input_tokens)})  # {outs}"


class Copy(Computation):
    """A copy of a value into another buffer: only meaningful in token programs.

    Mathematically the copy *is* the value (its output is its input), so a
    Copy cannot stand in a mathematical composite; wrapped in a
    :class:`TokenComputation` its two sides carry different tokens.

    >>> print(TokenComputation(Copy('x'), ['x'], ['x_2']))
    x_2 = Copy(x)  # x
    """
    __slots__ = ()
    __props__ = ('variable',)
    #: An executor may make the copy in a buffer it supplies.
    buffered_outputs = (0,)
    output_is_input = True

    def __init__(self, variable):
        hash(variable)
        self._freeze(variable)

    @property
    def inputs(self):
        return (self.variable,)

    @property
    def outputs(self):
        return (self.variable,)


def token_name(expr):
    """A readable Python identifier for the buffer of ``expr``, from its mathematical names.

    >>> import sympy
    >>> S, H = sympy.MatrixSymbol('Sigma', 3, 3), sympy.MatrixSymbol('H', 2, 3)
    >>> token_name(S), token_name(H * S * H.T), token_name('2 x'), token_name('lambda')
    ('Sigma', 'H_Sigma', 'v_2_x', 'lambda_')
    """
    name = getattr(expr, 'name', None)
    if not isinstance(name, str):
        if type(expr).__name__ in _CONSTANTS:
            name = _CONSTANTS[type(expr).__name__]
        elif isinstance(expr, str):
            name = expr
        else:
            kind = type(expr).__name__
            symbols = list(dict.fromkeys(a.name for a in _preorder(expr)
                                         if isinstance(getattr(a, 'name', None), str)))
            # A compound value of one symbol must not look like that symbol
            # (or a copy of it): 2*X is 'prod_X', not 'X'.
            prefix = _PREFIXES.get(kind, '') or (_KINDS.get(kind, 'f') + '_'
                                                 if len(symbols) < 2 else '')
            name = prefix + ('_'.join(symbols[:3]) if symbols else 'tmp')
    name = re.sub(r'\W+', '_', name).strip('_')[:24].rstrip('_') or 'tmp'
    if not name.isidentifier():                  # e.g. 'A²': fall back to ASCII
        name = re.sub(r'[^0-9A-Za-z_]+', '_', name).strip('_') or 'tmp'
    if name[0].isdigit():
        name = 'v_' + name
    return name + '_' if keyword.iskeyword(name) else name


_CONSTANTS = {'Identity': 'identity', 'ZeroMatrix': 'zeros', 'OneMatrix': 'ones'}
_PREFIXES = {'LofCholesky': 'chol_', 'UofCholesky': 'chol_', 'LU': 'lu_', 'LUPivots': 'piv_'}
_KINDS = {'MatMul': 'prod', 'MatAdd': 'sum', 'MatPow': 'pow', 'Transpose': 't',
          'Inverse': 'inv', 'Min': 'min', 'Max': 'max', 'Mul': 'prod', 'Add': 'sum'}


def _preorder(expr):
    """The nodes of an expression, parents first; named atoms are not opened (a
    MatrixSymbol's arguments are its name and its shape symbols)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(getattr(node, 'name', None), str):
            stack.extend(reversed(getattr(node, 'args', ())))


class TokenNamer:
    """Hands out unique tokens: ``Sigma``, then ``Sigma_2``, ``Sigma_3``, ...

    >>> names = TokenNamer()
    >>> names('x'), names('x'), names('x_2'), names('x')
    ('x', 'x_2', 'x_2_2', 'x_3')
    """

    def __init__(self, taken=()):
        self.taken = set(taken)
        self.counts = {}

    def __call__(self, expr):
        base = token_name(expr)
        count = self.counts.get(base, 1)
        token = base if count == 1 else f'{base}_{count}'
        while token in self.taken:
            count += 1
            token = f'{base}_{count}'
        self.counts[base] = count + 1
        self.taken.add(token)
        return token
