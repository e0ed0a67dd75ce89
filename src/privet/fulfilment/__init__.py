"""Fulfilment: plans over the datasets graph, access packages, correction, restriction and erasure."""
