"""The storage layer: which buffer holds each mathematical value.

It pairs every value of a :class:`computations.CompositeComputation` with a
storage token, inserts copies where an overwrite would destroy a value that is
still needed, and checks that a token program is safe.  It imports
``computations``; ``computations`` never imports it.
"""
