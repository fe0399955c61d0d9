package voicesim

import "crypto/rand"

// randRead fills b from the system's randomness (transport keys, tokens).
func randRead(b []byte) (int, error) { return rand.Read(b) }
