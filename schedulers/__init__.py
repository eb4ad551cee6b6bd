"""The execution layer: in what order, and on what, a program runs.

It imports ``computations`` and ``inplace``; neither imports it.
"""
