"""Euclidean (k, z)-clustering protocols of Cohen-Addad, Wang, Woodruff, Zhou, "Distributed
Algorithms for Euclidean Clustering" (ICLR 2026). Importing registers:

- the blackboard model (Section 2, Appendices B-D; blackboard.py): ``bb_bicriteria``
  (Algorithm 10), ``bb_lazy_adaptive`` (Algorithm 8), ``bb_coreset`` (Algorithms 10 and 13,
  Theorem 1.2), and the naive adaptive-sampling baseline ``bb_naive_adaptive`` (naive.py);
- the coordinator model and general graphs (Section 3, Appendix E; coordinator.py,
  graph.py): ``coord_coreset`` (Algorithm 16, Theorem 1.1), and the naive baseline
  ``coord_naive_adaptive`` (naive_coordinator.py)."""

from . import blackboard, coordinator, graph, naive, naive_coordinator  # noqa: F401
