package fakediscord

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cordage/cordage/events"
)

// Fault is one kind of fault StartChaos injects.
type Fault string

// The faults chaos mixes.
const (
	FaultDrop                Fault = "drop"                 // Drop
	FaultStall               Fault = "stall"                // Stall for ChaosConfig.StallFor
	FaultCorrupt             Fault = "corrupt"              // CorruptNext
	FaultReconnect           Fault = "reconnect"            // SendReconnect
	FaultInvalidateResumable Fault = "invalidate-resumable" // InvalidateSession(shard, true)
	FaultInvalidate          Fault = "invalidate"           // InvalidateSession(shard, false)
	FaultHeartbeatRequest    Fault = "heartbeat-request"    // RequestHeartbeat
	FaultClose               Fault = "close-4000"           // CloseWith(shard, 4000)
	FaultZlibBoundary        Fault = "zlib-boundary"        // ZlibBoundaryNext
)

// AllFaults lists every fault, the default mix of ChaosConfig.
var AllFaults = []Fault{
	FaultDrop, FaultStall, FaultCorrupt, FaultReconnect, FaultInvalidateResumable,
	FaultInvalidate, FaultHeartbeatRequest, FaultClose, FaultZlibBoundary,
}

// ChaosConfig describes a seeded random mix of faults for StartChaos.
type ChaosConfig struct {
	// Seed makes the plan; 0 means the server's seed (WithSeed).
	Seed int64
	// Interval is the mean clock time between faults (default 5 s); each gap is drawn uniformly
	// from [Interval/2, 3·Interval/2).
	Interval time.Duration
	// Faults to draw from, uniformly (default AllFaults).
	Faults []Fault
	// Shards to hit, uniformly (default 0 … recommended shard count − 1).
	Shards []int
	// Count is how many faults to inject before stopping by itself (default 20).
	Count int
	// StallFor is the length of a FaultStall (default two heartbeat intervals).
	StallFor time.Duration
}

// ChaosStep is one planned fault: wait Delay, then inject Fault on Shard.
type ChaosStep struct {
	Delay time.Duration
	Fault Fault
	Shard int
}

// ChaosEvent is one fault chaos injected.
type ChaosEvent struct {
	ChaosStep
	At  time.Time // clock time
	Err string    // why the fault could not be applied (e.g. no live session), or ""
}

func (s *Server) chaosDefaults(cfg ChaosConfig) ChaosConfig {
	if cfg.Seed == 0 {
		cfg.Seed = s.cfg.seed
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if len(cfg.Faults) == 0 {
		cfg.Faults = AllFaults
	}
	if len(cfg.Shards) == 0 {
		for i := range s.RecommendedShards() {
			cfg.Shards = append(cfg.Shards, i)
		}
	}
	if cfg.Count <= 0 {
		cfg.Count = 20
	}
	if cfg.StallFor <= 0 {
		cfg.StallFor = 2 * s.cfg.heartbeatInterval
	}
	return cfg
}

// ChaosPlan returns the faults StartChaos(cfg) would inject, in order. The plan depends only on
// cfg (and the server's seed when cfg.Seed is 0), never on timing or on the state of the
// sessions, so a seed reproduces a run.
func (s *Server) ChaosPlan(cfg ChaosConfig) []ChaosStep {
	cfg = s.chaosDefaults(cfg)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6368_616f_73))
	plan := make([]ChaosStep, cfg.Count)
	for i := range plan {
		plan[i] = ChaosStep{
			Delay: cfg.Interval/2 + time.Duration(rng.Int64N(int64(cfg.Interval))),
			Fault: cfg.Faults[rng.IntN(len(cfg.Faults))],
			Shard: cfg.Shards[rng.IntN(len(cfg.Shards))],
		}
	}
	return plan
}

// StartChaos injects the faults of ChaosPlan(cfg) at their times until the plan is done or stop
// is called; stop waits for the injector and is safe to call more than once. Each injection is
// appended to ChaosLog.
func (s *Server) StartChaos(cfg ChaosConfig) (stop func()) {
	cfg = s.chaosDefaults(cfg)
	plan := s.ChaosPlan(cfg)
	halt := make(chan struct{})
	done := make(chan struct{})
	if !s.spawn(func() {
		defer close(done)
		for _, step := range plan {
			t := s.clk.NewTimer(step.Delay)
			select {
			case <-halt:
				t.Stop()
				return
			case <-s.quit:
				t.Stop()
				return
			case <-t.C():
			}
			ev := ChaosEvent{ChaosStep: step, At: s.clk.Now()}
			if err := s.inject(step, cfg.StallFor); err != nil {
				ev.Err = err.Error()
			}
			s.mu.Lock()
			s.chaosLog = append(s.chaosLog, ev)
			s.notifyLocked()
			s.mu.Unlock()
		}
	}) {
		close(done)
	}
	var once sync.Once
	return func() {
		once.Do(func() { close(halt) })
		<-done
	}
}

func (s *Server) inject(step ChaosStep, stallFor time.Duration) error {
	switch step.Fault {
	case FaultDrop:
		return s.Drop(step.Shard)
	case FaultStall:
		return s.Stall(step.Shard, stallFor)
	case FaultCorrupt:
		return s.CorruptNext(step.Shard)
	case FaultReconnect:
		return s.SendReconnect(step.Shard)
	case FaultInvalidateResumable:
		return s.InvalidateSession(step.Shard, true)
	case FaultInvalidate:
		return s.InvalidateSession(step.Shard, false)
	case FaultHeartbeatRequest:
		return s.RequestHeartbeat(step.Shard)
	case FaultClose:
		return s.CloseWith(step.Shard, events.CloseUnknownError)
	case FaultZlibBoundary:
		return s.ZlibBoundaryNext(step.Shard)
	}
	return nil
}

// ChaosLog returns every fault chaos injected so far, in order.
func (s *Server) ChaosLog() []ChaosEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChaosEvent(nil), s.chaosLog...)
}
