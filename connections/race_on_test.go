//go:build race

package connections_test

// raceEnabled: the race detector doubles the stack guard and grows frames, so stack sizes
// measured under it say nothing about a normal build.
const raceEnabled = true
