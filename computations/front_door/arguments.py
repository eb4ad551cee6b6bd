"""What :func:`~computations.front_door.function` checks once, when a function is made, and
how a compiled function presents its call (``inspect.signature``, ``help``).

>>> import sympy
>>> check_sizes({'n': 5}, (sympy.Symbol('n'), sympy.Symbol('m')))
{n: 5, m: 1000}
>>> call_signature(('S', 'b'))
<Signature (S, b, *, scheduler=None, check_assumptions=None)>
"""
import inspect
import keyword
from collections.abc import Mapping, Set as AbstractSet

import numpy as np
import sympy
from sympy import MatrixSymbol

from ..matrices.ops.core import dimensions
from ..sizes import Binding, is_integer

__all__ = ['DEFAULT_SIZE', 'CALL_OPTIONS', 'ordered', 'check_inputs', 'check_output', 'check_sizes', 'check_blocksize',
           'check_flag', 'call_signature', 'call_doc']

#: The size assumed for a symbolic dimension the caller gave no size for,
#: when a program is shown before any call (``f.computation``).
DEFAULT_SIZE = 1000


def check_flag(value, name):
    """``value`` as a bool if it is True or False (NumPy's ``np.True_`` too), else a
    TypeError naming the option."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{name} must be True or False, got {value!r}')
    return bool(value)


#: The keyword options of a call: no input may be named like one (it could not be given
#: by keyword).
CALL_OPTIONS = ('scheduler', 'check_assumptions')


def call_signature(names):
    """The signature a call shows (``inspect.signature``, ``help``, IDEs): the inputs by
    name, then the keyword-only options; ``(*args, ...)`` if a name is not an identifier."""
    options = [inspect.Parameter('scheduler', inspect.Parameter.KEYWORD_ONLY, default=None),
               inspect.Parameter('check_assumptions', inspect.Parameter.KEYWORD_ONLY,
                                 default=None)]
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    if all(name.isidentifier() and not keyword.iskeyword(name)
           and name not in CALL_OPTIONS for name in names):
        parameters = [inspect.Parameter(name, kind) for name in names]
    else:
        parameters = [inspect.Parameter('args', inspect.Parameter.VAR_POSITIONAL)]
    return inspect.Signature(parameters + options)


def call_doc(function):
    """What ``help(f)`` shows for a Function ``f``: how to call it, and what it computes."""
    returns = {'single': 'one result', 'tuple': 'a tuple', 'named': 'named results (a tuple)',
               'dict': 'a dict'}[function.structure.kind]
    lines = [f'f{function.__signature__} -> {", ".join(function.names)}', '',
             f'Computes {returns}:']
    lines += [f'    {name} = {out}' for name, out in zip(function.names, function.outputs)]
    if function.assumptions:
        lines.append(f'assuming {", ".join(map(str, function.assumptions))}.')
    lines.append('Compiled by computations.function (see its documentation for the '
                 'conventions of a call).')
    return '\n'.join(lines)


def ordered(value, option, expected='a list or tuple'):
    """``value`` unless it is an unordered collection (a set), whose order -- and so the
    order of a call's arguments or results -- would change with the hash seed."""
    if isinstance(value, AbstractSet):
        raise TypeError(f'{option} must be in an order ({expected}), got a '
                        f'{type(value).__name__}, whose order changes from run to run')
    return value


def check_inputs(inputs):
    if isinstance(inputs, sympy.Basic):
        inputs = [inputs]
    inputs = tuple(ordered(inputs, 'inputs'))
    for var in inputs:
        if not isinstance(var, (MatrixSymbol, sympy.Symbol)):
            raise TypeError(f'inputs must be MatrixSymbols or scalar Symbols, got {var!r} '
                            f'({type(var).__name__})')
    names = [str(var) for var in inputs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f'inputs: {", ".join(repeated)} given more than once')
    for name in names:
        if name in CALL_OPTIONS:
            raise ValueError(f'inputs: {name} is the name of an option of a call '
                             f'({"=, ".join(CALL_OPTIONS)}=), so it could not be given by '
                             'keyword; name the input otherwise')
    sizes = {}
    for d in dimensions(inputs):
        if sizes.setdefault(str(d), d) != d:
            raise ValueError(f'inputs: two different dimension symbols are named {d} (made '
                             'with different assumptions, as Symbol(\'n\') and Symbol(\'n\', '
                             'integer=True)): sizes, block sizes and errors that name it '
                             'could not tell them apart; use one symbol')
    for var in inputs:                # (a matrix may share its name with a dimension)
        if isinstance(var, sympy.Symbol) and str(var) in sizes:
            shaped = next(m for m in inputs if isinstance(m, MatrixSymbol)
                          and any(str(var) in map(str, sympy.sympify(d).free_symbols)
                                  for d in m.shape))
            raise ValueError(f'inputs: {var} is a dimension of {shaped} (its size is read from '
                             f'the array passed for {shaped}), so it cannot also be an input')
    return inputs


def check_output(i, output, inputs, properties):
    """The canonical form of an output, after checking it only uses the inputs."""
    if not isinstance(output, sympy.Expr):
        raise TypeError(f'output {i} must be a SymPy matrix expression or a scalar expression '
                        f'of matrices (a trace, a log-determinant...), got {output!r} '
                        f'({type(output).__name__})')
    known = set(inputs) | set(dimensions(inputs))
    unknown = [s for s in output.free_symbols if s not in known]
    if unknown:
        what = ('is neither an input nor a dimension' if len(unknown) == 1
                else 'are neither inputs nor dimensions')
        raise ValueError(f'output {i} ({output}) uses {", ".join(sorted(map(str, unknown)))}, '
                         f'which {what} of one (a size is read from the shape of an input '
                         'that has it)')
    return properties.canonical(output)


def check_blocksize(blocksize, dimensions):
    """None, a positive int, or ``{dimension: positive int}`` keyed by the dimensions."""
    if blocksize is None or not isinstance(blocksize, dict):
        return None if blocksize is None else _positive(blocksize, 'blocksize')
    return _per_dimension('blocksize', blocksize, dimensions, lambda key: f'blocksize[{key}]')


def check_sizes(sizes, dimensions, blocksize=None):
    """``{dimension: size}`` for showing a program before any call: those of ``sizes``,
    others :data:`DEFAULT_SIZE`, or, for a dimension a (checked) ``blocksize`` blocks, two
    of its blocks (no more than DEFAULT_SIZE): the blocked program's shape, at a size that
    builds in milliseconds (blocks of 25 at n = 1000 made 64,000 GEMMs).

    >>> n, k = sympy.symbols('n k')
    >>> check_sizes({'k': 3}, (k, n)), check_sizes({}, (k, n), blocksize={n: 25})
    ({k: 3, n: 1000}, {k: 1000, n: 50})
    """
    bound = _per_dimension('sizes', sizes, dimensions, lambda key: f'sizes: {key}')

    def default(d):
        block = blocksize.get(d) if isinstance(blocksize, dict) else blocksize
        return DEFAULT_SIZE if block is None else min(DEFAULT_SIZE, 2 * block)
    return {d: bound[d] if d in bound else default(d) for d in dimensions}


def check_shapes_at(inputs, sizes, given, defaults=True):
    """Raise a ValueError naming the input when ``sizes`` (``{dimension: int}``, as
    :func:`check_sizes` makes them) give one of its declared rows or columns a value that
    is not a size (negative, or not an integer): ``given`` is the ``sizes=`` option, which
    the message blames when it bound a dimension involved, else the default sizes (only
    when ``defaults``: a function may be called at other sizes without ever showing its
    program at the default ones).

    >>> n = sympy.Symbol('n')
    >>> A = sympy.MatrixSymbol('A', n - 2, n)
    >>> check_shapes_at([A], {n: 1}, {'n': 1})
    Traceback (most recent call last):
    ...
    ValueError: sizes: n = 1 makes input A's rows n - 2 = -1, not a size
    """
    binding = Binding(sizes)
    named = {str(d) for d in given or {}}
    for var in inputs:
        for axis, expr in zip(('rows', 'columns'), getattr(var, 'shape', ())):
            value = binding.value(expr)
            if value is None or (is_integer(value) and value >= 0):
                continue
            involved = sorted(expr.free_symbols, key=str)
            bound = ', '.join(f'{d} = {sizes[d]}' for d in involved if d in sizes)
            if any(str(d) in named for d in involved):
                raise ValueError(f"sizes: {bound} makes input {var}'s {axis} {expr} = "
                                 f'{value}, not a size')
            if defaults:
                raise ValueError(f"the default sizes ({bound}) make input {var}'s {axis} "
                                 f'{expr} = {value}, not a size: give sizes= that make '
                                 'every input a matrix')


def _per_dimension(option, mapping, dimensions, label):
    """``{dimension: positive int}`` from a mapping keyed by dimensions or their names."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f'{option} must be a dict {{dimension or its name: positive int}}, '
                        f'got {mapping!r} ({type(mapping).__name__})')
    by_name = {str(d): d for d in dimensions}
    checked = {}
    for key, value in mapping.items():
        dim = by_name.get(str(key))
        if dim is None:
            raise ValueError(f'{option}: {key} is not a dimension of the inputs '
                             f'(dimensions: {", ".join(by_name) or "none"})')
        if dim in checked:
            raise ValueError(f'{option}: {dim} given twice (as a symbol and by name?)')
        checked[dim] = _positive(value, label(key))
    return checked


def _positive(value, label):
    """``value`` as an int: a TypeError when it is no integer (a float, a bool, a string),
    a ValueError when it is not positive, as for ``cache_size``."""
    if not is_integer(value):
        raise TypeError(f'{label} must be a positive integer, got {value!r} '
                        f'({type(value).__name__})')
    if value < 1:
        raise ValueError(f'{label} must be a positive integer, got {value!r}')
    return int(value)
