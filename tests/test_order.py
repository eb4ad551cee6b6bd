"""The orders of a token program: the default and the memory-aware one.

On small drawn graphs and on random token programs (tests/inplace_ops.py): every order
is a linear extension of the data and the inplace constraints (every reader of a value
before the node that overwrites it) and passes ``check``; the memory-aware order's peak
is never above the default order's, and equals the brute-force optimum whenever the
exact search runs; the search's bit-set steps follow the buffer-state model step by step.
Then its bounds: the exact search stops at its budget, and scheduling a large blocked
program takes little memory.
"""
import subprocess
import sys
import textwrap

from hypothesis import given, strategies as st

from computations import Computation, CompositeComputation
from computations.inplace import (TokenComputation as T, check, execution_order, inplace_compile,
                                  insert_copies, safe_order, tokenize)
from computations.schedulers import order
from computations.schedulers.memory import Sizes, timeline
from computations.schedulers.reuse import reuse_buffers
from computations.testing import Mix, RandomSizes, mix_dags, sized_programs
from computations.testing.strategies import buffer_sizes
from inplace_ops import is_linear_extension, linear_extensions


def table_sizes(**nbytes):
    """Bytes per value named in ``nbytes`` (values not named: 8 bytes)."""
    return RandomSizes(lambda expr: nbytes.get(str(expr), 8))


def names(nodes):
    return [str(node.comp.outputs[0]) for node in nodes]


def test_each_product_is_reduced_before_the_next_is_made():
    """Two big products, each reduced to a small value: the default order makes both big
    ones first; the memory-aware order reduces each before making the next::

        a -> [p1] -> p1 (1000 bytes) -> [q1] -> q1
        b -> [p2] -> p2 (1000 bytes) -> [q2] -> q2
    """
    program = inplace_compile(Computation(['a'], ['p1']) + Computation(['p1'], ['q1'])
                              + Computation(['b'], ['p2']) + Computation(['p2'], ['q2']))
    sizes = table_sizes(p1=1000, p2=1000)
    assert names(execution_order(program)) == ['p1', 'p2', 'q1', 'q2']
    best = order.memory_order(program, sizes)
    assert names(best) == ['p1', 'q1', 'p2', 'q2']
    assert timeline(program, best, sizes).peak == 1000 + 8 + 8
    assert timeline(program, execution_order(program), sizes).peak == 2000 + 8


def test_a_reader_runs_before_the_overwrite_even_when_memory_would_rather_not():
    """``w`` reads ``u`` and is big; ``v`` overwrites ``u``, so ``w`` must come first and
    be held while ``v`` runs::

        i@i --> [make] --> u@u --> [v] => v@u         (v overwrites u's buffer)
                             \\--> [w] --> w@w (5000 bytes)
    """
    make = T(Mix(['i'], ['u']), ['i'], ['u'])
    v = T(Mix(['u'], ['v'], [(0, 0)]), ['u'], ['u'])
    w = T(Mix(['u'], ['w']), ['u'], ['w'])
    program = make + v + w
    sizes = table_sizes(u=1000, v=1000, w=5000)
    for nodes in (order.memory_order(program, sizes), order.memory_order(program, sizes, budget=1),
                  execution_order(program), safe_order(program)):
        assert list(nodes) == [make, w, v]
        check(program, nodes)


def orders_of(program, sizes, donate=()):
    """Every order the schedulers make of ``program``: the default, the checked safe one,
    the memory-aware one, its greedy fallback, and the exact search's when it runs."""
    default = tuple(execution_order(program))
    graph = order._Graph(program, default, sizes)
    orders = {'default': default, 'safe': safe_order(program, donate=donate),
              'memory': order.memory_order(program, sizes),
              'greedy': graph.greedy(), 'exact': graph.exact(order.DEFAULT_BUDGET)}
    return {name: nodes for name, nodes in orders.items() if nodes is not None}


@st.composite
def any_programs(draw, max_ops=10):
    """A random token program (pure, copy-inserted or compiled; inputs donated or not)
    with random bytes per value."""
    comp = draw(mix_dags(max_ops=max_ops))
    donate = comp.inputs if draw(st.booleans()) else ()
    stage = draw(st.sampled_from(['tokenize', 'insert_copies', 'inplace_compile']))
    program = {'tokenize': tokenize, 'insert_copies': insert_copies,
               'inplace_compile': lambda c: inplace_compile(c, donate=donate)}[stage](comp)
    table = buffer_sizes(draw, program, st.sampled_from([8, 64, 4096, 100_000]))
    return program, RandomSizes(lambda expr: table[str(expr)]), donate


@given(any_programs())
def test_every_order_is_a_linear_extension_and_passes_check(case):
    program, sizes, donate = case
    for name, nodes in orders_of(program, sizes, donate).items():
        assert is_linear_extension(program, nodes), name
        check(program, nodes, donate=donate)


@given(any_programs())
def test_the_memory_aware_peak_is_never_above_the_default_orders(case):
    program, sizes, donate = case
    orders = orders_of(program, sizes, donate)
    peak = {name: timeline(program, nodes, sizes).peak for name, nodes in orders.items()}
    assert peak['memory'] <= peak['default']
    assert peak['memory'] == min(peak['default'], peak.get('exact', peak['greedy']))
    assert peak.get('exact', 0) <= peak['greedy']


@given(any_programs(max_ops=4))
def test_the_exact_search_finds_the_brute_force_optimum(case):
    program, sizes, donate = case
    if len(program) > 7:
        return                           # 7! orders is the most brute force may try here
    exact = orders_of(program, sizes, donate).get('exact')
    if exact is None:
        return                           # past the budget: the greedy order's tests hold
    best = min(timeline(program, nodes, sizes).peak for nodes in linear_extensions(program))
    assert timeline(program, exact, sizes).peak == best
    assert timeline(program, order.memory_order(program, sizes), sizes).peak == best


@given(sized_programs(max_ops=10), st.booleans())
def test_the_search_steps_follow_the_buffer_model(case, reused):
    """Replaying an order through the search's bit-set steps gives, after each step, the
    bytes the buffer-state model gives (memory.timeline), also for a program whose
    buffers are reused (a token written afresh is not freed before its last write)."""
    comp, program, sizes, donate = case
    nodes = order.memory_order(program, sizes)
    if reused:
        program = reuse_buffers(program, nodes, sizes, min_bytes=0,
                                donate=comp.inputs if donate else ())
        nodes = program.toposort()
    graph = order._Graph(program, tuple(execution_order(program)), sizes)
    rank = {node: i for i, node in enumerate(graph.nodes)}
    times = timeline(program, nodes, sizes)
    state = graph.start
    for step, node in enumerate(nodes):
        state = graph.step(state, rank[node])
        assert state.live == times.after[step]
        assert state.peak == max(times.during[:step + 1])


def test_the_exact_search_stops_at_its_budget_while_building_a_step():
    """Thirty independent operations: the first step already has thirty states::

        i0 -> [op0] -> o0    i1 -> [op1] -> o1    ...    i29 -> [op29] -> o29

    With a budget of ten, the search gives up on building the eleventh state (it built
    the whole step, thirty states, before comparing), and the greedy order is used.
    """
    program = inplace_compile(CompositeComputation(
        *(Computation([f'i{k}'], [f'o{k}']) for k in range(30))))
    graph = order._Graph(program, tuple(program.toposort()), Sizes({}))
    built = []
    step = graph.step
    graph.step = lambda state, node: built.append(node) or step(state, node)
    assert graph.exact(budget=10) is None
    assert len(built) == 11
    assert len(order.memory_order(program, Sizes({}), budget=10)) == len(program)


# Kalman with blocksize 4 at 10 blocks per dimension: the exact search built whole steps
# of states, each copying dicts over every variable: 2.15 GB traced and 6.6 s to schedule
# (at 12 blocks, a MemoryError at 6 GiB).
_SCHEDULE_BLOCKED_KALMAN = textwrap.dedent('''
    import resource, sys, tracemalloc
    resource.setrlimit(resource.RLIMIT_AS, (int(1.5 * 2**30),) * 2)
    import computations
    from computations.matrices.examples.problems import PROBLEMS
    from computations.schedulers.execute import compile_program
    from computations.schedulers.order import memory_order
    problem = PROBLEMS['kalman']()
    n, k = 40, 20
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                              blocksize=4)
    specialization = f.specialize((n, 1), (n, n), (k, n), (k, k), (k, 1))
    program, _ = compile_program(specialization.computation)
    tracemalloc.start()
    memory_order(program, specialization.sizes)
    print(len(program), tracemalloc.get_traced_memory()[1])
''')


def test_scheduling_a_large_blocked_program_takes_little_memory():
    """Scheduling the blocked Kalman filter (about 1300 operations) traces a few megabytes,
    in a process whose address space is capped at 1.5 GiB."""
    done = subprocess.run([sys.executable, '-c', _SCHEDULE_BLOCKED_KALMAN],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    nodes, peak = map(int, done.stdout.split())
    assert nodes > 1000
    assert peak < 64 * 2**20, f'scheduling traced {peak / 2**20:.0f} MiB'
