"""The inplace pass and its checker, on random DAGs of ops with random inplace maps.

Invariant 3 of DESIGN.md: every program the pass emits passes ``check``, and
every program ``check`` accepts computes the same values as the pure program
-- run by a poisoning interpreter that overwrites each buffer with NaN the
moment its value dies and runs each op exactly as its inplace map says.
"""
import collections

import numpy as np
from hypothesis import given, settings, strategies as st

from computations import CompositeComputation
from computations.inplace import (Copy, TokenComputation, UnsafeInplaceError, check, inplace_compile,
                     insert_copies, plan_overwrites, tokenize)
from inplace_ops import evaluate_pure, mix_dags
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
def test_compiled_programs_copy_no_more_than_insert_copies(comp):
    copies = lambda p: sum(isinstance(n.comp, Copy) for n in p.toposort())  # noqa: E731
    assert copies(inplace_compile(comp)) + len(plan_overwrites(comp)) == copies(insert_copies(comp))


# Mutated programs: whatever check accepts must be right ------------------------

def rename(program, old, new):
    """Rename token ``old`` to ``new`` everywhere (may build an invalid composite)."""
    def swap(tokens):
        return [new if t == old else t for t in tokens]
    return CompositeComputation(*(TokenComputation(n.comp, swap(n.input_tokens),
                                                   swap(n.output_tokens))
                                  for n in program.toposort()))


def remove_copy(program, node):
    """Drop a Copy node and let its readers use the original buffer."""
    src, dst = node.input_tokens[0], node.output_tokens[0]
    rest = CompositeComputation(*(n for n in program.toposort() if n != node))
    return rename(rest, dst, src)


def random_linear_extension(program, random):
    """A random order that respects data dependencies only (not overwrites)."""
    order, done = [], set()
    todo = list(program.toposort())
    while todo:
        ready = [n for n in todo if all(program.producer(v) in done or program.producer(v) is None
                                        for v in n.inputs)]
        node = random.choice(ready)
        order.append(node)
        done.add(node)
        todo.remove(node)
    return order


OUTCOMES = collections.Counter()


@given(mix_dags(), st.randoms(use_true_random=False), st.integers(0, 2), st.booleans())
@settings(max_examples=300)
def mutated_programs_agree_when_accepted(comp, random, mutations, donate):
    donated = comp.inputs if donate else ()
    program = random.choice([tokenize, insert_copies, insert_copies, inplace_compile])(comp)
    try:
        for _ in range(mutations):
            nodes = program.toposort()
            copies = [n for n in nodes if isinstance(n.comp, Copy)]
            tokens = sorted({t for n in nodes for t in n.input_tokens + n.output_tokens})
            # Mostly drop copies: renaming two random tokens is nearly always unsafe,
            # and enough mutated programs must be accepted for the property to bite.
            # Over 56 seeds (300 examples each) 8 to 48 were, median 26; with 0.5
            # instead of 0.8, 4 to 39, and 4 failed the bound below under CI=true.
            if copies and random.random() < 0.8:
                program = remove_copy(program, random.choice(copies))
            elif len(tokens) > 1:
                old, new = random.sample(tokens, 2)
                program = rename(program, old, new)
        order = random_linear_extension(program, random) if random.random() < 0.5 else None
        order = check(program, order, donate=donated)
    except (UnsafeInplaceError, ValueError) as error:   # ValueError: not even a valid DAG
        OUTCOMES['rejected: ' + type(error).__name__] += 1
        return
    OUTCOMES['accepted'] += 1
    OUTCOMES['accepted after mutation'] += bool(mutations)
    assert_same_outputs(program, comp, inputs_for(comp), order, donated)


def test_mutated_programs_agree_when_accepted():
    OUTCOMES.clear()
    mutated_programs_agree_when_accepted()
    print('mutated programs:', dict(OUTCOMES))
    rejected = sum(n for k, n in OUTCOMES.items() if k.startswith('rejected'))
    assert OUTCOMES['accepted'] >= 30 and rejected >= 30, dict(OUTCOMES)
    assert OUTCOMES['accepted after mutation'] >= 5, dict(OUTCOMES)
