"""Buffer reuse's choice of a dead buffer (``schedulers.reuse._take``) against the rule it
implements, stated directly: of the dead buffers of the right shape that never held one of
the new value's variables and whose hold keeps every step in between under the peak, the
one freed last (ties: the greatest token)::

    step:    0    1    2    3    4    5 (now)
    freed:   a         b,c
    during: [0,   0,   4,  12,   4]        hold of b or c: max(during[3:5]) = 12
"""
from hypothesis import given, settings, strategies as st

from computations.schedulers.reuse import _take


def rule(group, step, nbytes, peak, during, exprs, token):
    """The buffer the reuse pass took before it kept its pool by shape: a scan of them all."""
    fits = [(freed, buffer) for freed, buffer in group
            if not exprs[buffer] & exprs[token]
            and max(during[freed + 1:step], default=0) + nbytes <= peak]
    return max(fits) if fits else None


@st.composite
def pools(draw):
    step = draw(st.integers(1, 12))
    during = draw(st.lists(st.integers(0, 40), min_size=step, max_size=step))
    freed = draw(st.lists(st.integers(0, step - 1), max_size=8))
    group = sorted((f, f'b{i}') for i, f in enumerate(freed))
    values = st.sets(st.sampled_from('uvwxyz'), max_size=3)
    exprs = {buffer: draw(values) for _, buffer in group}
    exprs['t'] = draw(values)
    return group, step, draw(st.integers(1, 20)), draw(st.integers(0, 60)), during, exprs


@settings(max_examples=300, deadline=None)
@given(pools())
def test_take_follows_the_rule(case):
    group, step, nbytes, peak, during, exprs = case
    position = _take(group, step, nbytes, peak, during, exprs, 't')
    taken = None if position is None else group[position]
    assert taken == rule(group, step, nbytes, peak, during, exprs, 't')
