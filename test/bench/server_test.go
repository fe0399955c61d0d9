package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/test/fakediscord"
)

// The simulator runs in a child process (this test binary started again with childEnv set),
// so that the client's CPU time, allocations and heap are the client's alone. The parent talks
// to it over the child's stdin and stdout, one line per command and answer.

const childEnv = "CORDAGE_BENCH_CHILD"

// serverConfig is what a benchmark asks of the simulator.
type serverConfig struct {
	Shards         int // recommended shard count from GET /gateway/bot
	MaxConcurrency int
	Guilds         int
	Members        int
	Scale          float64 // clock.Scaled factor for the simulator's clock; 0 is the wall clock
}

// simProc is a running simulator child.
type simProc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	REST    string
	Gateway string
	Token   string
}

// startSim starts a simulator child with cfg.
func startSim(tb testing.TB, cfg serverConfig) *simProc {
	tb.Helper()
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=server", "CORDAGE_BENCH_SERVER="+string(raw))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &simProc{cmd: cmd, in: in, out: bufio.NewReader(outp)}
	line, err := p.out.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tb.Fatalf("simulator child: %v", err)
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "LISTENING" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tb.Fatalf("simulator child said %q", line)
	}
	p.REST, p.Gateway, p.Token = f[1], f[2], f[3]
	return p
}

// do sends one command and waits for its answer line.
func (p *simProc) do(tb testing.TB, cmd string) string {
	tb.Helper()
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		tb.Fatalf("simulator %q: %v", cmd, err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		tb.Fatalf("simulator %q: %v", cmd, err)
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "ERR") {
		tb.Fatalf("simulator %q: %s", cmd, line)
	}
	return line
}

// send has the simulator dispatch n events of set to each of shards 0..shards-1 in turn.
func (p *simProc) send(tb testing.TB, set string, n, shards int) {
	p.do(tb, fmt.Sprintf("send %s %d %d", set, n, shards))
}

// stop ends the child: closing stdin makes it close the server and exit.
func (p *simProc) stop() {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// runSimChild is the child's main: it serves until stdin closes.
func runSimChild() int {
	var cfg serverConfig
	if err := json.Unmarshal([]byte(os.Getenv("CORDAGE_BENCH_SERVER")), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	clk := clock.Real()
	hb := 41250 * time.Millisecond
	if cfg.Scale > 0 {
		clk = clock.Scaled(cfg.Scale)
		// Peers heartbeat on the wall clock: give them the usual interval in wall time.
		hb = time.Duration(float64(hb) * cfg.Scale)
	}
	s, err := fakediscord.New(
		fakediscord.WithClock(clk), fakediscord.WithHeartbeatInterval(hb),
		fakediscord.WithShardCount(max(cfg.Shards, 1)),
		fakediscord.WithMaxConcurrency(max(cfg.MaxConcurrency, 1)),
		fakediscord.WithGuilds(max(cfg.Guilds, 1)),
		fakediscord.WithMembersPerGuild(max(cfg.Members, 1)),
		fakediscord.WithSessionStartLimit(100000, 100000),
		// The benchmark's clients are told nothing is missing: no ledger is read and nothing is
		// replayed, so keep the replay buffer small.
		fakediscord.WithReplayLimit(1000),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	defer s.Close()
	fmt.Printf("LISTENING %s %s %s\n", s.RESTURL(), s.GatewayURL(), s.Token())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "send":
			if len(f) != 4 {
				fmt.Println("ERR send wants: set n shards")
				continue
			}
			var c *corpus
			switch f[1] {
			case "steady":
				c = steady()
			case "startup":
				c = startup()
			default:
				fmt.Println("ERR unknown set", f[1])
				continue
			}
			n, _ := strconv.Atoi(f[2])
			shards, _ := strconv.Atoi(f[3])
			var failed error
			for i := range n {
				ev := c.events[i%len(c.events)]
				for sh := range max(shards, 1) {
					if err := s.DispatchToShard(sh, ev.T, ev.D); err != nil && failed == nil {
						failed = fmt.Errorf("event %d shard %d: %w", i, sh, err)
					}
				}
			}
			if failed != nil {
				fmt.Println("ERR", failed)
				continue
			}
			fmt.Println("OK")
		case "sessions":
			fmt.Println("OK", len(s.Snapshot().Sessions))
		case "violations":
			fmt.Println("OK", s.SpacingViolations())
		default:
			fmt.Println("ERR unknown command", f[0])
		}
	}
	return 0
}
