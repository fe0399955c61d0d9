package cluster

// Observer receives a node's cluster measurements, for metrics. Embed NopObserver so that
// methods added later do not break your type. Methods are called from the node's goroutines and
// must return quickly.
type Observer interface {
	// LeasesHeld reports how many shards the node runs, after each lease round.
	LeasesHeld(n int)
	// Takeover reports a shard this node claimed; resumed says whether it resumed a published
	// session (false: it identifies a new one).
	Takeover(shard int, from string, resumed bool)
	// Handoff reports a shard this node gave to another node on purpose.
	Handoff(shard int, to string)
	// LeaseLost reports a shard whose lease another node took while this one ran it.
	LeaseLost(shard int)
	// StoreError reports a failed Redis round (the node keeps its running shards).
	StoreError(op string, err error)
	// SessionBudget reports the shared session-start budget after an identify was granted.
	SessionBudget(remaining, total int)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) LeasesHeld(int)             {}
func (NopObserver) Takeover(int, string, bool) {}
func (NopObserver) Handoff(int, string)        {}
func (NopObserver) LeaseLost(int)              {}
func (NopObserver) StoreError(string, error)   {}
func (NopObserver) SessionBudget(int, int)     {}
