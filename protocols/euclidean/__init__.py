"""Euclidean (k, z)-clustering protocols of Cohen-Addad, Wang, Woodruff, Zhou, "Distributed
Algorithms for Euclidean Clustering" (ICLR 2026): the blackboard model (Section 2,
Appendices B-D) and the naive adaptive-sampling baseline. Importing registers
``bb_bicriteria``, ``bb_lazy_adaptive``, ``bb_coreset`` and ``bb_naive_adaptive``."""

from . import blackboard, coordinator, graph, naive, naive_coordinator  # noqa: F401
