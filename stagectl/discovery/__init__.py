"""Zeroconf on the stage: find LED processors and other stagectl instances, announce ours."""
