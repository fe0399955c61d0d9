package daveserver

// Faults are misbehaviours a test switches on to check how clients recover. Counters are
// consumed one per use; set them with [Server.SetFaults].
type Faults struct {
	// CorruptCommits flips the last byte (inside the membership tag) of the next N announced
	// commits (op 29). Every member that gets it, the committer included (its cached commit no
	// longer matches), fails to process it and answers op 31, and the server re-adds them; the
	// joiners it welcomed (op 30 is intact) carry on, or are reset if one is left alone.
	CorruptCommits int
	// ForeignSenders makes the next N op 25 messages carry the key of an external sender the
	// server does not hold. A member that gets one and is welcomed into the group finds a
	// different external sender in the Welcome's GroupInfo and must answer op 31; one that
	// creates the group cannot verify the server's proposals.
	ForeignSenders int
	// StaleEpochs signs the next N new proposals with the previous epoch (the next one while the
	// epoch is 0), so members must refuse them. The server keeps them pending, as a server that
	// lost track of the epoch would, until something makes it propose again (a revoke, which
	// re-signs everything pending; a reset).
	StaleEpochs int
	// IgnoreReady drops every op 23, so each transition executes only when the execute timeout
	// passes (see [Server.Tick]).
	IgnoreReady bool
	// ForceDowngrade downgrades the call to protocol version 0 at the next Tick.
	ForceDowngrade bool
}

// SetFaults replaces the fault knobs.
func (s *Server) SetFaults(f Faults) { s.faults = f }

// Faults returns the fault knobs with the counters left.
func (s *Server) Faults() Faults { return s.faults }
