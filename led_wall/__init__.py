"""LED processors and DMX devices with their emulators (arrives with the LED wall issue, S5)."""
