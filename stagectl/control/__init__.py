"""OSC control-in: desks and scripts fire cues, recall looks and set device features."""
