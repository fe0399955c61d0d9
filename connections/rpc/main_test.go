package rpc

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test leaves no goroutine behind: the client's reader, deliverer and run loop all end
// with Close, and the simulator's accept loops with its Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
