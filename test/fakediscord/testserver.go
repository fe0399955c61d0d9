package fakediscord

import "testing"

// NewTest starts a server for a test and closes it when the test ends, like httptest: a failure
// to start fails the test at once.
func NewTest(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatalf("fakediscord: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}
