"""Hypothesis strategies for random computations and random token programs.

- :func:`dag_members`: the members of a random DAG of opaque
  :class:`~computations.Computation` nodes, in a random order (combine them
  with ``CompositeComputation(*members)``);
- :func:`mix_dags`: a random composite of :class:`~computations.testing.Mix`
  operations with random inplace maps, ready for
  :func:`computations.inplace.inplace_compile` and
  :func:`~computations.testing.assert_inplace_safe`;
- :func:`sized_programs`: a compiled random program with random bytes per
  value and workspaces, for memory models and orders.

Random matrix expressions with data are in
:mod:`computations.testing.expressions` (:func:`~computations.testing.matrix_problems`).

>>> from hypothesis import given, settings
>>> from computations.inplace import check, inplace_compile
>>> @given(mix_dags(max_ops=4))
... @settings(max_examples=5)
... def test_the_pass_is_safe(comp):
...     check(inplace_compile(comp))
>>> test_the_pass_is_safe()
"""
from hypothesis import strategies as st

from computations import Computation, CompositeComputation
from computations.inplace import inplace_compile

from .mix import Mix

__all__ = ['dag_members', 'mix_dags', 'sized_programs', 'RandomSizes']


@st.composite
def dag_members(draw, max_ops=25, max_inputs=4):
    """A list of opaque computations forming a DAG, in a random order.

    Operation ``k`` reads one to three variables that exist before it (the
    external inputs ``i0``, ``i1``, ... and earlier outputs) and produces one
    or two new variables ``k.0``, ``k.1``.

    >>> from hypothesis import find, settings
    >>> ops = find(dag_members(), lambda ops: len(ops) >= 3, settings=settings(database=None))
    >>> len(CompositeComputation(*ops).toposort())
    3
    """
    n_inputs = draw(st.integers(1, max_inputs))
    pool = [f'i{j}' for j in range(n_inputs)]
    ops = []
    for k in range(draw(st.integers(1, max_ops))):
        reads = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        writes = [f'{k}.{j}' for j in range(draw(st.integers(1, 2)))]
        ops.append(Computation(reads, writes))
        pool.extend(writes)
    return draw(st.permutations(ops))


@st.composite
def mix_dags(draw, max_ops=12):
    """A composite of :class:`~computations.testing.Mix` ops with random inplace maps.

    Its variables are ``'i0'``, ``'i1'``, ... (one to three inputs) and
    ``'v{k}_{j}'`` (output ``j`` of operation ``k``); give each input a 1-D
    float array.

    >>> from hypothesis import find, settings
    >>> comp = find(mix_dags(), lambda c: any(op.inplace for op in c.computations),
    ...             settings=settings(database=None))
    >>> print(comp)
    v0_0 = Mix(i0)
    """
    pool = [f'i{j}' for j in range(draw(st.integers(1, 3)))]
    ops = []
    for k in range(draw(st.integers(1, max_ops))):
        reads = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        writes = [f'v{k}_{j}' for j in range(draw(st.integers(1, 2)))]
        positions = draw(st.permutations(range(len(reads))))
        inplace = [(o, positions[o]) for o in range(min(len(writes), len(reads)))
                   if draw(st.booleans())]
        ops.append(Mix(reads, writes, inplace))
        pool.extend(writes)
    return CompositeComputation(*ops)


class RandomSizes:
    """Bytes per variable, and workspace per operation, from functions: a stand-in for
    :class:`computations.schedulers.memory.Sizes` in programs whose variables are not matrices.

    >>> sizes = RandomSizes(lambda expr: 8 * len(str(expr)))
    >>> sizes.nbytes('v0_0'), sizes.workspace(None), sizes.key('ab')
    (32, 0, (16,))
    """

    def __init__(self, nbytes, workspace=lambda op: 0):
        self._nbytes, self._workspace = nbytes, workspace

    def nbytes(self, expr):
        """The bytes of the value ``expr``."""
        return self._nbytes(expr)

    def workspace(self, op):
        """The bytes ``op`` holds while it runs."""
        return self._workspace(op)

    def key(self, expr):
        """What buffer reuse matches: values of equal keys may share a buffer."""
        return (self.nbytes(expr),)


def buffer_sizes(draw, program, choices):
    """``{str(value): bytes}`` drawn from ``choices`` for the values of a token program, one
    size per buffer: the values a token holds one after the other (an overwrite writes
    its output where its input was, a copy the same value elsewhere) have one size, as
    the routines' do (:func:`computations.inplace.check` refuses a token holding two)."""
    group = {}

    def root(name):
        while group.setdefault(name, name) != name:
            name = group[name]
        return name

    for values in _by_token(program).values():
        first, *rest = sorted(values)
        for name in rest:
            group[root(name)] = root(first)
    names = sorted({str(v.expr) for v in program.variables})
    sizes = {name: draw(choices) for name in names if root(name) == name}
    return {name: sizes[root(name)] for name in names}


def _by_token(program):
    held = {}
    for value in program.variables:
        held.setdefault(value.token, set()).add(str(value.expr))
    return held


@st.composite
def sized_programs(draw, max_ops=8):
    """``(comp, program, sizes, donate)``: a random DAG of Mix ops, its compiled token
    program (every input donated or none), random bytes per value and workspaces.

    >>> from hypothesis import find, settings
    >>> comp, program, sizes, donate = find(sized_programs(), lambda case: True,
    ...                                     settings=settings(database=None))
    >>> sizes.nbytes(comp.outputs[0]) in (8, 64, 4096, 8192, 100_000)
    True
    """
    comp = draw(mix_dags(max_ops=max_ops))
    donate = draw(st.booleans())
    program = inplace_compile(comp, donate=comp.inputs if donate else ())
    table = buffer_sizes(draw, program, st.sampled_from([8, 64, 4096, 8192, 100_000]))
    # Most operations hold nothing while they run; some hold a workspace (STREAMED_SYRK).
    work = {op: draw(st.sampled_from([0, 0, 0, 4096, 100_000]))
            for op in sorted(map(repr, comp.computations))}
    return comp, program, RandomSizes(lambda expr: table[str(expr)],
                                      lambda op: work.get(repr(op), 0)), donate
