"""LED processors (Brompton Tessera, Megapixel HELIOS), DMX fixtures over sACN and OSC devices, with
emulators of each for tests and the demo stage. The package never imports Qt."""
