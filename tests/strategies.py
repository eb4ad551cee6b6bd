"""Hypothesis strategies for random DAGs of opaque computations."""
from hypothesis import strategies as st

from computations import Computation


@st.composite
def dag_members(draw, max_ops=25, max_inputs=4):
    """A list of opaque computations forming a DAG, in a random order.

    Operation ``k`` reads up to three variables that exist before it (the
    external inputs ``i0``, ``i1``, ... and earlier outputs) and produces one
    or two new variables ``k.0``, ``k.1``.
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
