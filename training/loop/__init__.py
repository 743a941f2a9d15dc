"""One run of Algorithm 1: its configuration, data, augmentations, networks, step, measurements,
outputs and stops. Imports theory only."""
