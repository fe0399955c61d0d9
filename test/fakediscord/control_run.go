package fakediscord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// This file holds the control routes that start and stop long-running work: traffic generators
// and chaos runs. Each start returns an id; stop takes the id, or stops every run when it has
// none.

// Bounds on what one control request may start. Chaos builds its whole plan up front, so an
// unbounded count would be an unbounded allocation.
const (
	maxTrafficRate = 100_000 // events per wall second: rate × the clock's speed-up
	maxChaosCount  = 10_000
)

// trafficBody is the body of POST traffic; see TrafficConfig. "d", when given, is sent as the
// data of every event instead of the default MESSAGE_CREATE-shaped message.
type trafficBody struct {
	Rate   float64            `json:"rate"`
	Count  int                `json:"count"`
	Event  string             `json:"event"`
	Guilds []events.Snowflake `json:"guilds"`
	Shards []int              `json:"shards"`
	D      json.RawMessage    `json:"d"`
}

func (c *control) startTraffic(w http.ResponseWriter, r *http.Request) {
	var b trafficBody
	if !decodeBody(w, r, &b) {
		return
	}
	// The generator sends what is due in one batch per tick; past what the machine can send, a
	// batch never catches up and stop would wait for it, so the wall rate is bounded.
	maxRate := maxTrafficRate / clock.Factor(c.s.clk)
	switch {
	case b.Rate < 0 || b.Rate > maxRate:
		writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"rate" must be >= 0 and at most %g events per clock second on this clock (%d per wall second), got %g`, maxRate, maxTrafficRate, b.Rate))
		return
	case b.Count < 0:
		writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"count" must not be negative, got %d`, b.Count))
		return
	case len(b.Guilds) > 0 && len(b.Shards) > 0:
		writeControlError(w, http.StatusBadRequest, `give "guilds" or "shards", not both`)
		return
	}
	for _, sh := range b.Shards {
		if sh < 0 {
			writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"shards" must not hold negative numbers, got %d`, sh))
			return
		}
	}
	cfg := TrafficConfig{Rate: b.Rate, Count: b.Count, Event: b.Event, Guilds: b.Guilds, Shards: b.Shards}
	if len(b.D) > 0 {
		if !json.Valid(b.D) {
			writeControlError(w, http.StatusBadRequest, `"d" is not valid JSON`)
			return
		}
		d := json.RawMessage(b.D)
		cfg.Payload = func(int, events.Snowflake) any { return d }
	}
	if c.s.closedForControl() {
		writeServerError(w, ErrClosed)
		return
	}
	stop := c.s.StartTraffic(cfg)
	writeJSON(w, http.StatusOK, map[string]int{"id": c.register(c.traffic, stop)})
}

// chaosBody is the body of POST chaos; see ChaosConfig.
type chaosBody struct {
	Seed     int64     `json:"seed"`
	Interval *Duration `json:"interval"`
	Faults   []Fault   `json:"faults"`
	Shards   []int     `json:"shards"`
	Count    int       `json:"count"`
	StallFor *Duration `json:"stall_for"`
}

// ChaosStepView is one step of the plan POST chaos answers with.
type ChaosStepView struct {
	Delay Duration `json:"delay"`
	Fault Fault    `json:"fault"`
	Shard int      `json:"shard"`
}

func (c *control) startChaos(w http.ResponseWriter, r *http.Request) {
	var b chaosBody
	if !decodeBody(w, r, &b) {
		return
	}
	if b.Count < 0 || b.Count > maxChaosCount {
		writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"count" must be in [0, %d], got %d`, maxChaosCount, b.Count))
		return
	}
	for _, f := range b.Faults {
		if !slices.Contains(AllFaults, f) {
			writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`unknown fault %q in "faults"; known: %v`, f, AllFaults))
			return
		}
	}
	for _, sh := range b.Shards {
		if sh < 0 {
			writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"shards" must not hold negative numbers, got %d`, sh))
			return
		}
	}
	cfg := ChaosConfig{Seed: b.Seed, Faults: b.Faults, Shards: b.Shards, Count: b.Count}
	if b.Interval != nil {
		if *b.Interval <= 0 {
			writeControlError(w, http.StatusBadRequest, `"interval" must be a positive duration`)
			return
		}
		cfg.Interval = time.Duration(*b.Interval)
	}
	if b.StallFor != nil {
		if *b.StallFor <= 0 {
			writeControlError(w, http.StatusBadRequest, `"stall_for" must be a positive duration`)
			return
		}
		cfg.StallFor = time.Duration(*b.StallFor)
	}
	if c.s.closedForControl() {
		writeServerError(w, ErrClosed)
		return
	}
	plan := c.s.ChaosPlan(cfg)
	stop := c.s.StartChaos(cfg)
	out := struct {
		ID   int             `json:"id"`
		Plan []ChaosStepView `json:"plan"`
	}{ID: c.register(c.chaos, stop), Plan: make([]ChaosStepView, 0, len(plan))}
	for _, st := range plan {
		out.Plan = append(out.Plan, ChaosStepView{Delay: Duration(st.Delay), Fault: st.Fault, Shard: st.Shard})
	}
	writeJSON(w, http.StatusOK, out)
}

// ChaosEventView is one injected fault in the answer of GET chaos.
type ChaosEventView struct {
	Fault Fault     `json:"fault"`
	Shard int       `json:"shard"`
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

func (c *control) chaosLog(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Events []ChaosEventView `json:"events"`
	}{Events: []ChaosEventView{}}
	for _, ev := range c.s.ChaosLog() {
		out.Events = append(out.Events, ChaosEventView{Fault: ev.Fault, Shard: ev.Shard, At: ev.At, Error: ev.Err})
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *control) register(runs map[int]func(), stop func()) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	runs[c.nextID] = stop
	return c.nextID
}

// stopRuns answers POST traffic/stop and chaos/stop: {"id": N} stops one run, an empty body or
// {} stops all of them. Stopping waits until the run's goroutine has ended.
func (c *control) stopRuns(runs map[int]func(), what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			ID *int `json:"id"`
		}
		if !decodeBodyOpt(w, r, &b, true) {
			return
		}
		c.mu.Lock()
		var stops []func()
		if b.ID != nil {
			stop, ok := runs[*b.ID]
			if !ok {
				c.mu.Unlock()
				writeControlError(w, http.StatusNotFound, fmt.Sprintf("no %s run with id %d", what, *b.ID))
				return
			}
			stops = append(stops, stop)
			delete(runs, *b.ID)
		} else {
			for id, stop := range runs {
				stops = append(stops, stop)
				delete(runs, id)
			}
		}
		c.mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		writeJSON(w, http.StatusOK, map[string]int{"stopped": len(stops)})
	}
}
