"""The memory-aware order's bounds: the exact search stops at its budget, and scheduling a
large blocked program takes little memory.

(Validity and optimality of the order on random programs are in test_memory.py.)
"""
import subprocess
import sys
import textwrap

from computations import Computation, CompositeComputation
from computations.inplace import inplace_compile
from computations.schedulers import order
from computations.schedulers.memory import Sizes


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
