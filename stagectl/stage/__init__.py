"""The running stage: assembly from a stage file, the camera pipelines, snapshots and status."""
