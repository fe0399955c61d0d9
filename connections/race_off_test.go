//go:build !race

package connections_test

const raceEnabled = false
