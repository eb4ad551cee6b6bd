"""The buffer-state model (computations.inplace.buffers) against a naive re-simulation.

The model walks an order once; :func:`naive` recomputes every fact of every step from
scratch, straight from the rules in the module's docstring.  On random token programs
(tests/inplace_ops.py: the pure, copy-inserted and compiled programs of random DAGs,
some with tokens renamed so that a buffer is written afresh or a value overwritten too
early) in random orders (any permutation, valid or not), with random returned values,
the two agree on every fact.
"""
import pytest
import sympy
from hypothesis import assume, given, strategies as st

from computations import CompositeComputation
from computations.inplace import (BufferModel, TokenComputation, buffer_states, inplace_compile,
                                  insert_copies, tokenize)
from computations.matrices import GEMM, SCAL
from computations.testing import mix_dags


def naive(program, order, wanted):
    """Every fact of every step, each recomputed from the whole order (quadratic)."""
    callers = {value.token for value in program.inputs}
    facts = {name: [] for name in ('stale', 'displaced', 'allocated', 'dead', 'freed')}
    holds_before = []
    for step, node in enumerate(order):
        holds = {value.token: value for value in program.inputs}
        for earlier in order[:step]:
            holds.update((value.token, value) for value in earlier.produced)
        holds_before.append(dict(holds))
        reads = list(dict.fromkeys(node.inputs))
        facts['stale'].append(tuple(v for v in reads if holds.get(v.token) != v))
        written_before = {v.token for earlier in order[:step] for v in earlier.produced}
        displaced, allocated = [], []
        for value in node.produced:
            old = holds.get(value.token)
            if old is not None and old != value:
                displaced.append(old)
            if old is None and value.token not in callers and value.token not in written_before:
                allocated.append(value)
            holds[value.token] = value
        facts['displaced'].append(tuple(displaced))
        facts['allocated'].append(tuple(allocated))
        later = order[step + 1:]
        dead = tuple(v for v in [*reads, *node.produced]
                     if holds.get(v.token) == v and v not in wanted
                     and not any(v in n.inputs for n in later))
        facts['dead'].append(dead)
        facts['freed'].append(tuple(v.token for v in dead if v.token not in callers
                                    and not any(v.token == w.token for n in later
                                                for w in n.produced)))
    holds = {value.token: value for value in program.inputs}
    for node in order:
        holds.update((value.token, value) for value in node.produced)
    holds_before.append(holds)
    return {name: tuple(values) for name, values in facts.items()}, holds_before


def rename(program, old, new):
    """``program`` with token ``old`` renamed ``new`` (None if that is no program)."""
    def swap(tokens):
        return [new if t == old else t for t in tokens]
    try:
        return CompositeComputation(*(TokenComputation(n.comp, swap(n.input_tokens),
                                                       swap(n.output_tokens))
                                      for n in program.toposort()))
    except ValueError:
        return None


@st.composite
def programs_in_orders(draw):
    """``(program, order, wanted)``: a random token program, any order of its nodes, and a
    random set of returned values (default: its outputs)."""
    comp = draw(mix_dags(max_ops=8))
    program = draw(st.sampled_from([tokenize, insert_copies, inplace_compile]))(comp)
    for _ in range(draw(st.integers(0, 2))):
        tokens = sorted({t for n in program.toposort() for t in n.input_tokens + n.output_tokens})
        if len(tokens) > 1:
            old, new = draw(st.permutations(tokens))[:2]
            renamed = rename(program, old, new)
            assume(renamed is not None)
            program = renamed
    order = draw(st.permutations(list(program.toposort())))
    wanted = None
    if draw(st.booleans()):
        wanted = draw(st.sets(st.sampled_from(sorted(program.variables, key=repr))))
    return program, tuple(order), wanted


@given(programs_in_orders())
def test_the_model_agrees_with_a_naive_resimulation(case):
    program, order, wanted = case
    states = buffer_states(program, order, wanted)
    expected, holds_before = naive(program, order,
                                   set(program.outputs if wanted is None else wanted))
    for name, values in expected.items():
        assert getattr(states, name) == values, name
    assert states.reads == tuple(tuple(dict.fromkeys(n.inputs)) for n in order)
    assert states.writes == tuple(n.produced for n in order)
    for step in range(len(order) + 1):
        assert states.holding(step) == holds_before[step]
    for value in program.variables:
        steps = [s for s, node in enumerate(order) if value in node.inputs]
        assert states.read_at.get(value, ()) == tuple(steps)
        for step in range(len(order)):
            assert states.next_read(value, step) == next((s for s in steps if s > step), None)
            assert states.held(value, step) == (holds_before[step].get(value.token) == value)


@given(programs_in_orders())
def test_the_per_node_facts_bound_what_the_walk_finds(case):
    """The order-free facts (what a node may allocate or kill) hold the walk's facts."""
    program, order, wanted = case
    model = BufferModel(program, wanted)
    states = model.walk(order)
    for step, node in enumerate(order):
        assert {v.token for v in states.allocated[step]} <= set(model.allocates(node))
        assert set(states.dead[step]) <= set(model.mortal(node))
        assert set(states.freed[step]) <= {v.token for v in model.may_free(node)}
        for token in model.allocates(node):
            assert node in model.writers(token)


X = sympy.MatrixSymbol('X', 2, 2)
T = TokenComputation


def show(steps):
    return [sorted(map(str, values)) for values in steps]


@pytest.mark.parametrize('returned, freed', [('both', [[], [], []]),
                                             ('2*X**2', [[], [], ['t']])])
def test_a_buffer_written_again_is_kept_until_its_last_value_dies(returned, freed):
    """Buffer ``t`` holds X**2, which dies after SCAL 2 reads it; SCAL 3 then writes
    afresh into ``t`` (buffer reuse), so ``t`` is not freed in between::

        X@x --> [GEMM] --> X**2@t --> [SCAL 2] --> 2*X**2@u
        X@x --> [SCAL 3] --> 3*X@t

    ``t`` is freed after SCAL 3 only if 3*X is not returned.
    """
    gemm, double = T(GEMM(1, X, X), ['x', 'x'], ['t']), T(SCAL(2, X ** 2), ['t'], ['u'])
    triple = T(SCAL(3, X), ['x'], ['t'])
    wanted = [double.outputs[0]] + ([triple.outputs[0]] if returned == 'both' else [])
    states = buffer_states(gemm + double + triple, [gemm, double, triple], wanted)
    assert show(states.allocated) == [['X**2@t'], ['2*X**2@u'], []]
    assert show(states.dead) == [[], ['X**2@t'], (['3*X@t'] if freed[2] else []) + ['X@x']]
    assert show(states.displaced) == [[], [], ['X**2@t']]
    assert show(states.freed) == freed
