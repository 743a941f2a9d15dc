"""Theorem 5.1 in training: two variants trained in lockstep from corresponding starts, and the
verdict on their trajectories. Imports the loop and theory only."""
