"""Every step of Appendix G (eqs. 28–56) and of Appendix H's derivation (eqs. 58–68), checked
one equation at a time: each equation stated precisely with its hypotheses, and found to hold
as written, to hold after a correction (an index, a missing factor, a projection point, a
hypothesis), or to fail.

- ``status``: a step as data, what its checks found, and the status that follows;
- ``sphere``: Appendix G's vector algebra on the unit sphere (torch scores, Gram proofs);
- ``calculus``: Appendix G's calculus in sympy, component by component;
- ``network``: Appendix G's gradient expressions on real networks against autograd;
- ``points``: random and edge network points; ``updates``: eqs. 54–56 (SGD, trajectories);
- ``exact``: exact counterexamples to Appendix G's wrong steps and their float64 replay;
- ``linear``, ``algebra``: Appendix H in torch (batched, differentiable) and in sympy/fractions;
- ``appG``, ``appH``: the steps as data; ``check_g``, ``check_h``: the checkers;
- ``records``: what both checkers share; ``claims``, ``wording``: the claims and their evidence
  in words.
"""
