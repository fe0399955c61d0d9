// Package soak runs Cordage's runtime against the simulator for a long time, with chaos, and
// checks that nothing grows and nothing is lost. It is not part of CI: without -soak the test
// skips.
//
//	go test ./test/soak -soak=2m -v                 # the short run
//	go test ./test/soak -soak=30m -timeout=40m -v   # the full run
package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

var (
	soakFor   = flag.Duration("soak", 0, "run the soak for this long (2m, 30m); 0 skips it")
	soakRate  = flag.Float64("soak-rate", 200, "events per second over all shards")
	soakChaos = flag.Duration("soak-chaos", 15*time.Second, "mean time between faults")
	soakComp  = flag.String("soak-comp", "zlib-stream", "transport: json, zlib-stream or zstd-stream")
)

const shards = 16

func TestMain(m *testing.M) {
	if os.Getenv("CORDAGE_SOAK_CHILD") != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}

// sample is one minute's record.
type sample struct {
	At         time.Duration
	Events     int64 // dispatches delivered so far
	HeapKiB    uint64
	Goroutines int
	Reconnects int64
	LagP50     time.Duration
	LagP99     time.Duration
	LagMax     time.Duration
}

type observer struct {
	connections.NopObserver
	reconnects atomic.Int64
}

func (o *observer) Reconnect(int, string) { o.reconnects.Add(1) }

// session is what the client saw of one server session: how many dispatches, and an
// order-sensitive digest of their (seq, payload hash).
type session struct {
	N      int64
	Digest uint64
}

func digest(prev uint64, seq int64, hash string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d:%d:%s", prev, seq, hash)
	return h.Sum64()
}

func TestSoak(t *testing.T) {
	if *soakFor == 0 {
		t.Skip("soak: not run without -soak (go test ./test/soak -soak=2m -v; the full run is -soak=30m -timeout=40m)")
	}
	comp := map[string]connections.Compression{"json": connections.None, "zlib-stream": connections.ZlibStream, "zstd-stream": connections.ZstdStream}[*soakComp]

	// The simulator runs in a child process, so the heap and goroutines recorded here are the
	// runtime's alone (the simulator's ledger grows with every event by design).
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CORDAGE_SOAK_CHILD=1",
		fmt.Sprintf("CORDAGE_SOAK=%g,%d,%d", *soakRate, soakFor.Milliseconds(), soakChaos.Milliseconds()))
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	rd := bufio.NewReader(outp)
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var gwURL, token string
	if _, err := fmt.Sscan(line, &gwURL, &token); err != nil {
		t.Fatalf("child said %q", line)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := &observer{}
	out := make(chan connections.Event, 1024)
	gw := events.GatewayBot{URL: gwURL, Shards: shards, SessionStartLimit: events.SessionStartLimit{Total: 1000, Remaining: 1000, ResetAfter: 86400000, MaxConcurrency: shards}}
	conn, err := connections.ConnectShards(ctx, token, out, gw, seq(shards), connections.WithCompression(comp),
		connections.WithIntents(events.IntentsAll), connections.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	sessions := map[string]*session{}
	current := map[int]string{}
	replaced := map[string]int64{}
	var lags []time.Duration
	var delivered atomic.Int64
	stopRead := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			var ev connections.Event
			select {
			case ev = <-out:
			case <-stopRead:
				return
			}
			mu.Lock()
			switch ev.Kind {
			case connections.KindSessionReplaced:
				r := ev.Runtime.(events.SessionReplaced)
				replaced[r.OldSessionID] = r.LastSeq
			case connections.KindDispatch:
				if ev.Type == events.EventReady {
					var r events.Ready
					_ = json.Unmarshal(ev.Data, &r)
					current[ev.Shard] = r.SessionID
				}
				s := sessions[current[ev.Shard]]
				if s == nil {
					s = &session{}
					sessions[current[ev.Shard]] = s
				}
				s.N++
				s.Digest = digest(s.Digest, ev.Seq, fakediscord.PayloadHash(ev.Data))
				if ev.Type == "MESSAGE_CREATE" {
					var m struct {
						SentNS int64 `json:"sent_ns"`
					}
					if json.Unmarshal(ev.Data, &m) == nil && m.SentNS > 0 {
						lags = append(lags, time.Since(time.Unix(0, m.SentNS)))
					}
					delivered.Add(1)
				}
			}
			mu.Unlock()
		}
	}()

	start := time.Now()
	var samples []sample
	record := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		l := lags
		lags = nil
		mu.Unlock()
		slices.Sort(l)
		s := sample{At: time.Since(start).Round(time.Second), Events: delivered.Load(), HeapKiB: ms.HeapAlloc / 1024,
			Goroutines: runtime.NumGoroutine(), Reconnects: obs.reconnects.Load()}
		if len(l) > 0 {
			s.LagP50, s.LagP99, s.LagMax = l[len(l)/2], l[len(l)*99/100], l[len(l)-1]
		}
		samples = append(samples, s)
		t.Logf("%8v events %8d heap %6d KiB goroutines %4d reconnects %4d lag p50 %v p99 %v max %v",
			s.At, s.Events, s.HeapKiB, s.Goroutines, s.Reconnects, s.LagP50, s.LagP99, s.LagMax)
	}
	// The child starts traffic and chaos once every shard is ready, and says DONE when both ended.
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	done := make(chan string, 1)
	go func() {
		l, _ := rd.ReadString('\n')
		done <- strings.TrimSpace(l)
	}()
	record()
wait:
	for {
		select {
		case <-tick.C:
			record()
		case l := <-done:
			if l != "DONE" {
				t.Fatalf("child: %q", l)
			}
			break wait
		case <-time.After(*soakFor + 5*time.Minute):
			t.Fatal("the child never finished")
		}
	}
	// Let the last events and any resume replays arrive, then compare with the ledger.
	var report map[string]string
	for try := 0; ; try++ {
		time.Sleep(2 * time.Second) // polling a condition, not timing a rule
		mu.Lock()
		raw, _ := json.Marshal(sessions)
		mu.Unlock()
		fmt.Fprintf(in, "check %s\n", raw)
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		report = map[string]string{}
		if err := json.Unmarshal([]byte(l), &report); err != nil {
			t.Fatalf("child: %q", l)
		}
		mu.Lock()
		for id, r := range report {
			if strings.HasPrefix(r, "short ") {
				var n int64
				fmt.Sscan(strings.TrimPrefix(r, "short "), &n)
				if last, ok := replaced[id]; ok && last == n {
					delete(report, id) // the runtime said this session's tail is lost
				}
				isCurrent := slices.Contains(slices.Collect(maps.Values(current)), id)
				if n == 0 && !isCurrent {
					delete(report, id) // READY never reached the client: it never knew this session
				}
			}
		}
		mu.Unlock()
		if len(report) == 0 || try == 15 {
			break
		}
	}
	record()
	if err := conn.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	close(stopRead)
	<-readDone
	if len(report) != 0 {
		t.Errorf("ledger mismatch: %v", report)
	}
	first, last := samples[0], samples[len(samples)-1]
	t.Logf("delivered %d MESSAGE_CREATEs in %v; %d reconnects; %d sessions", last.Events, last.At, last.Reconnects, len(sessions))
	if len(samples) >= 3 {
		// Growth checks skip the first minute (connections warm up).
		base := samples[1]
		if last.Goroutines > base.Goroutines+shards {
			t.Errorf("goroutines grew from %d to %d", base.Goroutines, last.Goroutines)
		}
		if last.HeapKiB > 2*base.HeapKiB+4096 {
			t.Errorf("heap grew from %d KiB to %d KiB", base.HeapKiB, last.HeapKiB)
		}
	}
	_ = first
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// runChild is the simulator side: it waits for the 16 shards, runs traffic and chaos, says DONE,
// then answers ledger checks until stdin closes.
func runChild() int {
	var rate float64
	var durMS, chaosMS int64
	fmt.Sscanf(os.Getenv("CORDAGE_SOAK"), "%g,%d,%d", &rate, &durMS, &chaosMS)
	dur := time.Duration(durMS) * time.Millisecond
	s, err := fakediscord.New(fakediscord.WithShardCount(shards), fakediscord.WithMaxConcurrency(shards),
		fakediscord.WithGuilds(64), fakediscord.WithHeartbeatInterval(5*time.Second), fakediscord.WithSeed(7))
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	defer s.Close()
	fmt.Println(s.GatewayURL(), s.Token())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	err = s.WaitFor(ctx, func(sn *fakediscord.Snapshot) bool {
		n := 0
		for _, ss := range sn.Sessions {
			if ss.State == fakediscord.SessionConnected {
				n++
			}
		}
		return n >= shards
	})
	cancel()
	if err != nil {
		fmt.Println("ERR shards not ready:", err)
		return 1
	}
	count := int(rate * dur.Seconds())
	stopTraffic := s.StartTraffic(fakediscord.TrafficConfig{Rate: rate, Count: count,
		Payload: func(i int, g events.Snowflake) any {
			return map[string]any{"id": fmt.Sprint(1e18 + float64(i)), "channel_id": "1", "guild_id": g.String(), "content": fmt.Sprintf("soak %d", i),
				"author": map[string]any{"id": "2", "username": "soak"}, "sent_ns": time.Now().UnixNano()}
		}})
	stopChaos := s.StartChaos(fakediscord.ChaosConfig{Interval: time.Duration(chaosMS) * time.Millisecond, Count: int(dur / (time.Duration(chaosMS) * time.Millisecond))})
	// Traffic ends by itself after Count events; chaos after Count faults (about dur).
	deadline := time.After(dur + 30*time.Second)
	for {
		l := s.Ledger()
		n := 0
		for _, ss := range l.Sessions {
			for _, e := range ss.Dispatches {
				if e.T == "MESSAGE_CREATE" {
					n++
				}
			}
		}
		if n >= count {
			break
		}
		select {
		case <-deadline:
		case <-time.After(5 * time.Second):
			continue
		}
		break
	}
	stopTraffic()
	stopChaos()
	fmt.Println("DONE")
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		if cmd != "check" {
			continue
		}
		var got map[string]*session
		_ = json.Unmarshal([]byte(arg), &got)
		report := map[string]string{}
		for _, ls := range s.Ledger().Sessions {
			g := got[ls.ID]
			if g == nil {
				g = &session{}
			}
			if g.N > int64(len(ls.Dispatches)) {
				report[ls.ID] = fmt.Sprintf("client has %d, server sent %d", g.N, len(ls.Dispatches))
				continue
			}
			var d uint64
			for _, e := range ls.Dispatches[:g.N] {
				d = digest(d, e.Seq, e.Hash)
			}
			switch {
			case d != g.Digest:
				report[ls.ID] = "digest differs"
			case g.N < int64(len(ls.Dispatches)):
				report[ls.ID] = fmt.Sprintf("short %d", g.N)
			}
		}
		raw, _ := json.Marshal(report)
		fmt.Println(string(raw))
	}
	_ = io.EOF
	return 0
}
