"""The paper's experiments (Sections 3–4, Appendix B): every Table 2 variant, trainable."""
