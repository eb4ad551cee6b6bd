"""The inplace pass and its checker, on random DAGs of ops with random inplace maps.

Invariant 3 of DESIGN.md: every program the pass emits passes ``check``, and
every program ``check`` accepts computes the same values as the pure program
-- run by a poisoning interpreter that overwrites each buffer with NaN the
moment its value dies and runs each op exactly as its inplace map says.
"""
import collections

import numpy as np
from hypothesis import event, given, settings, strategies as st

from computations import CompositeComputation, ConflictingProducersError, CycleError
from computations.inplace import (Copy, TokenComputation, UnsafeInplaceError, check, constraints,
                                  inplace_compile, insert_copies, plan_overwrites, tokenize)
from computations.testing import Mix, mix_dags, pure_values as evaluate_pure
from computations.schedulers import interpret


def inputs_for(comp, seed=0):
    rng = np.random.default_rng(seed)
    return {var: rng.uniform(-1, 1, 3) for var in comp.inputs}


def run_program(program, inputs, order=None, donated=()):
    """Poisoned run; returns {expr: value} and checks that the caller's arrays that
    were not donated survived."""
    saved = {var: value.copy() for var, value in inputs.items()}
    buffers = {v.token: inputs[v.expr] for v in program.inputs}
    keep = [v.token for v in program.inputs if v.expr not in donated]
    out = interpret(program, buffers, order=order, poison=True, keep=keep)
    for var, value in inputs.items():
        if var not in donated:
            np.testing.assert_array_equal(value, saved[var])
    return {value.expr: result for value, result in out.items()}


def assert_same_outputs(program, comp, inputs, order=None, donated=()):
    expected = evaluate_pure(comp, inputs)
    got = run_program(program, inputs, order, donated)
    assert set(got) == {v.expr for v in program.outputs}
    for expr, value in got.items():
        np.testing.assert_array_equal(value, expected[expr])


@given(mix_dags(), st.sampled_from(['none', 'all']))
def test_compiled_programs_pass_check_and_compute_the_pure_values(comp, donate):
    donated = comp.inputs if donate == 'all' else ()
    program = inplace_compile(comp, donate=donated)
    check(program, donate=donated)
    inputs = inputs_for(comp)
    expected = evaluate_pure(comp, inputs)
    buffers = {v.token: inputs[v.expr].copy() for v in program.inputs}
    out = interpret(program, buffers, poison=True, keep=[] if donated else list(buffers))
    for value, result in out.items():
        np.testing.assert_array_equal(result, expected[value.expr])


@given(mix_dags())
def test_every_stage_is_safe(comp):
    for program in (tokenize(comp), insert_copies(comp), inplace_compile(comp)):
        check(program)
        assert_same_outputs(program, comp, inputs_for(comp))


@given(mix_dags())
def test_inplace_compile_is_idempotent_and_deterministic(comp):
    once = inplace_compile(comp)
    assert inplace_compile(once) == once
    assert inplace_compile(CompositeComputation(*reversed(comp.toposort()))) == once


@given(mix_dags())
def test_each_planned_overwrite_saves_exactly_one_copy(comp):
    copies = lambda p: sum(isinstance(n.comp, Copy) for n in p.toposort())  # noqa: E731
    assert copies(inplace_compile(comp)) + len(plan_overwrites(comp)) == copies(insert_copies(comp))


# Mutated programs -----------------------------------------------------------------
#
# Two properties.  Safe mutations are safe by construction, so check must accept every
# one (no false rejection) and the mutated program computes the pure values: every
# example exercises them, none is left to chance.  Random mutations are mostly unsafe:
# whatever check accepts must compute the pure values, and whatever it rejects it
# rejects with a named error.

def renamed(node, mapping):
    """``node`` with each token renamed as ``mapping`` (``{old: new}``) says."""
    def swap(tokens):
        return [mapping.get(t, t) for t in tokens]
    return TokenComputation(node.comp, swap(node.input_tokens), swap(node.output_tokens))


def retoken(program, mapping):
    """Rename tokens everywhere as ``mapping`` says (may build an invalid composite)."""
    return CompositeComputation(*(renamed(n, mapping) for n in program.toposort()))


def rename(program, old, new):
    """Rename token ``old`` to ``new`` everywhere (may build an invalid composite)."""
    return retoken(program, {old: new})


def tokens_of(program):
    """The tokens of a program, sorted."""
    return sorted({t for n in program.toposort() for t in n.input_tokens + n.output_tokens})


def remove_copy(program, node):
    """Drop a Copy node and let its readers use the original buffer."""
    src, dst = node.input_tokens[0], node.output_tokens[0]
    rest = CompositeComputation(*(n for n in program.toposort() if n != node))
    return rename(rest, dst, src)


def random_linear_extension(program, random, respect_overwrites=False):
    """A random order that respects data dependencies, and with ``respect_overwrites``
    also puts every reader of a value before the node that overwrites it."""
    before = constraints(program) if respect_overwrites else {}
    order, done = [], set()
    todo = list(program.toposort())
    while todo:
        ready = [n for n in todo if before.get(n, set()) <= done and all(
            program.producer(v) in done or program.producer(v) is None for v in n.inputs)]
        node = random.choice(ready)
        order.append(node)
        done.add(node)
        todo.remove(node)
    return order


# Safe by construction --------------------------------------------------------------

@st.composite
def overwritable_dags(draw):
    """A random DAG of Mix ops and a tail that makes every safe mutation applicable::

        v --> [Mix: t0 into v's buffer] --> t0 --> [Mix] --> t1 --> [Mix] --> t2

    ``v`` is an output of the random DAG, so nothing else reads it: the pass plans
    that t0 destroys it (a copy to drop); and whatever holds t0 is dead once t1 is
    made, before t2 is written (a buffer to reuse).
    """
    comp = draw(mix_dags())
    v = draw(st.sampled_from(comp.outputs))
    return CompositeComputation(comp, Mix([v], ['t0'], [(0, 0)]), Mix(['t0'], ['t1']),
                                Mix(['t1'], ['t2']))


def copy_feeding(program, op, i):
    """The Copy node that makes input ``i`` of operation ``op`` in ``program``."""
    node, = (n for n in program.toposort() if n.comp == op)
    copy = program.producer(node.inputs[i])
    assert isinstance(copy.comp, Copy), (node, copy)
    return copy


def fresh_token(program):
    """A token name ``program`` does not use."""
    used = set(tokens_of(program))
    return next(f'fresh{k}' for k in range(len(used) + 1) if f'fresh{k}' not in used)


def reusable_buffers(program, order, donate):
    """Pairs ``(dead, new)`` of tokens such that renaming ``new`` to ``dead`` is safe
    buffer reuse in ``order``: every value in ``dead`` is last used (read, or written if
    never read) strictly before the first value of ``new`` is written, ``dead`` holds no
    value that must survive (a returned output, a caller's input not donated), and the
    two hold no common expression (a copy of one value in both)."""
    step = {node: s for s, node in enumerate(order)}
    protected = set(program.outputs) | {v for v in program.inputs if v.expr not in donate}
    held = collections.defaultdict(set)
    for value in program.variables:
        held[value.token].add(value)

    def born(value):
        producer = program.producer(value)
        return -1 if producer is None else step[producer]

    def last_use(value):
        if value in protected:
            return float('inf')
        return max([born(value)] + [step[r] for r in program.consumers(value)])

    first = {t: min(map(born, values)) for t, values in held.items()}
    last = {t: max(map(last_use, values)) for t, values in held.items()}
    exprs = {t: {v.expr for v in values} for t, values in held.items()}
    return [(dead, new) for dead in sorted(held) for new in sorted(held)
            if last[dead] < first[new] and not exprs[dead] & exprs[new]]


@given(overwritable_dags(), st.randoms(use_true_random=False), st.booleans())
def test_safe_mutations_are_accepted_and_compute_the_pure_values(comp, random, donate):
    """Every example mutates the program in each safe way; check accepts each result."""
    donated = comp.inputs if donate else ()
    inputs = inputs_for(comp)
    # 1. Drop some (at least one) of the copies that inplace_compile drops from
    #    insert_copies: any subset of the planned overwrites is safe too (fewer
    #    overwrites, a subset of the ordering constraints).
    planned = sorted(plan_overwrites(comp, donated), key=repr)
    program = insert_copies(comp)
    dropped = random.sample(planned, random.randint(1, len(planned)))
    for op, i in dropped:
        program = remove_copy(program, copy_feeding(program, op, i))
    assert len(program.computations) == len(insert_copies(comp).computations) - len(dropped)
    # 2. Rename bijectively: swap two tokens' names, give one a name never used.
    a, b = random.sample(tokens_of(program), 2)
    program = retoken(program, {a: b, b: a})
    program = rename(program, random.choice(tokens_of(program)), fresh_token(program))
    check(program, donate=donated)
    assert {v.expr for v in program.outputs} == set(comp.outputs)
    assert_same_outputs(program, comp, inputs, None, donated)
    # 3. Any order that respects data and overwrites is accepted.
    order = random_linear_extension(program, random, respect_overwrites=True)
    assert check(program, order, donate=donated) == tuple(order)
    assert_same_outputs(program, comp, inputs, order, donated)
    # 4. Reuse dead buffers in that order, one to three times (the tail makes once possible).
    reused = 0
    for _ in range(random.randint(1, 3)):
        pairs = reusable_buffers(program, order, donated)
        assert pairs or reused, program
        if not pairs:
            break
        dead, new = random.choice(pairs)
        program = rename(program, new, dead)
        order = [renamed(n, {new: dead}) for n in order]
        reused += 1
    event(f'dead buffers reused: {reused}')
    assert check(program, order, donate=donated) == tuple(order)
    assert_same_outputs(program, comp, inputs, order, donated)


# Random mutations: whatever check accepts must be right ----------------------------

OUTCOMES = collections.Counter()


@given(mix_dags(), st.randoms(use_true_random=False), st.integers(0, 2), st.booleans())
@settings(max_examples=300)
def mutated_programs_agree_when_accepted(comp, random, mutations, donate):
    """Mutate a compiled program at random (0 to 2 times); count what check says."""
    donated = comp.inputs if donate else ()
    program = random.choice([tokenize, insert_copies, insert_copies, inplace_compile])(comp)
    try:
        for _ in range(mutations):
            nodes = program.toposort()
            copies = [n for n in nodes if isinstance(n.comp, Copy)]
            tokens = tokens_of(program)
            # Mostly drop copies: renaming two random tokens is nearly always unsafe.
            if copies and random.random() < 0.8:
                program = remove_copy(program, random.choice(copies))
            elif len(tokens) > 1:
                old, new = random.sample(tokens, 2)
                program = rename(program, old, new)
        order = random_linear_extension(program, random) if random.random() < 0.5 else None
        order = check(program, order, donate=donated)
    # a renamed token can also make the nodes no valid DAG (a cycle, two producers)
    except (UnsafeInplaceError, CycleError, ConflictingProducersError) as error:
        OUTCOMES['rejected: ' + type(error).__name__] += 1
        return
    OUTCOMES['accepted'] += 1
    OUTCOMES['accepted after mutation'] += bool(mutations)
    assert_same_outputs(program, comp, inputs_for(comp), order, donated)


def test_mutated_programs_agree_when_accepted():
    """Accepted mutants compute the pure values; both outcomes occur often enough to bite.

    Over 300 hypothesis seeds as under CI=true (300 examples each): accepted 134 to
    232 (mean 181, sd 16), rejected 68 to 166 (mean 119, sd 16); a normal fit puts
    the chance of fewer than 30 at 5e-23 and 4e-9.  Accepted after a mutation was
    4 to 54 (median 22): a normal fit gives 6e-3 for none at all, so no bound on it
    here -- the safe-mutation property above exercises that in every example.
    """
    OUTCOMES.clear()
    mutated_programs_agree_when_accepted()
    print('mutated programs:', dict(OUTCOMES))
    rejected = sum(n for k, n in OUTCOMES.items() if k.startswith('rejected'))
    assert OUTCOMES['accepted'] >= 30 and rejected >= 30, dict(OUTCOMES)
