"""The orders of a token program, enumerated by brute force (for the order and memory tests).

The random programs themselves come from the testing kit
(:func:`computations.testing.mix_dags`, :func:`computations.testing.sized_programs`).
"""
from computations.inplace import constraints


def is_linear_extension(program, order):
    """Whether ``order`` lists every node once, producers before readers and every reader
    of a value before the node that overwrites it."""
    position = {node: i for i, node in enumerate(order)}
    if len(position) != len(order) or set(position) != set(program.computations):
        return False
    for node in order:
        for value in node.inputs:
            producer = program.producer(value)
            if producer is not None and position[producer] > position[node]:
                return False
    return all(position[r] < position[d] for d, readers in constraints(program).items()
               for r in readers)


def linear_extensions(program):
    """Every order of ``program``'s nodes that :func:`is_linear_extension` accepts (brute
    force: branch on the nodes ready at each step)."""
    before = constraints(program)
    preds = {node: {program.producer(v) for v in node.inputs} - {None} | before.get(node, set())
             for node in program.computations}

    def extend(order, done):
        if len(order) == len(preds):
            yield tuple(order)
            return
        for node in sorted(preds, key=repr):
            if node not in done and preds[node] <= done:
                yield from extend(order + [node], done | {node})

    yield from extend([], frozenset())
