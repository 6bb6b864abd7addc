"""Baselines the protocols of Cohen-Addad, Wang, Woodruff, Zhou ("Distributed Algorithms for
Euclidean Clustering", ICLR 2026) are compared with, on the same kernel, datasets and codec
(docs/protocols/baselines.md). Importing registers:

- ``bb_mp`` and ``bb_mp_paper`` (mp.py): Chen, Sun, Woodruff, Zhang (NeurIPS 2016), the
  Mettu-Plaxton blackboard protocol, theoretical and as the paper's experiments describe it;
- ``bb_as``, ``bb_eas``, ``coord_as``, ``coord_as_jl``, ``coord_eas_jl`` (adaptive.py): the
  adaptive-sampling protocols of the paper's experiments (Section 4, Appendix F);
- ``bel13`` (bel13.py): Balcan, Ehrlich, Liang (NeurIPS 2013) distributed coreset, coordinator
  model and general graphs;
- ``kmeans_parallel`` (kmeans_parallel.py): k-means|| (Bahmani et al., VLDB 2012);
- ``merge_reduce`` and ``send_all`` (merge_reduce.py): merge-and-reduce of local coresets with
  fan-in f, and every site sending all its points.
"""

from . import adaptive, bel13, kmeans_parallel, merge_reduce, mp  # noqa: F401
