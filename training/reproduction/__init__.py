"""The paper's experiments reproduced: the sweeps, the published numbers, the tables, figures and
the empirical claims' verdicts. Imports the loop and theory only."""
