package connections_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord"
)

// idleStackServerEnv makes TestIdleStackServer serve instead of skipping.
const idleStackServerEnv = "CORDAGE_IDLE_STACK_SERVER"

const (
	idleStackShards = 256
	idleStackGuilds = 512
)

// TestIdleShardStack checks that an idle shard's goroutines (its loop and its reader) sit on
// 4 KiB stacks each after GC: both wait at a shallow depth, so the runtime halves their
// stacks from 8 KiB. The simulator runs in a child process, so that StackInuse counts the
// client's goroutines alone.
func TestIdleShardStack(t *testing.T) {
	if raceEnabled {
		t.Skip("stack sizes under the race detector are not those of a normal build")
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStackServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), idleStackServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the child's cue to stop
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	var token, rest string
	for lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "SERVER" {
			token, rest = f[1], f[2]
			break
		}
	}
	if rest == "" {
		t.Fatal("the simulator child said nothing usable")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }() // ends when the child exits

	m0 := settledStacks()
	out := make(chan connections.Event, 4096)
	conn, err := connections.ConnectBot(t.Context(), token, out, connections.WithAPIURL(rest))
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, out)
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	})
	ready(t, rec)
	// GUILD_CREATEs follow READY; a shard is idle once its guilds are in.
	rec.wait(t, "every GUILD_CREATE", func(evs []connections.Event) bool {
		return countType(evs, events.EventGuildCreate) == idleStackGuilds
	})
	m1 := settledStacks()
	per := float64(m1-m0) / idleStackShards
	t.Logf("stack per idle shard: %.2f KiB (%d shards)", per/1024, idleStackShards)
	// Two goroutines at 4 KiB, plus the Conn's own goroutines (and the REST client's) spread
	// over the shards. With the loop's stack at 8 KiB, as it was when the loop waited under
	// run's and connect's frames, this read 12.9 KiB. Stacks freed by an earlier run in the same
	// process (-count) can be reused and read a little low, never high.
	if per > 10*1024 {
		t.Fatalf("stack per idle shard %.2f KiB, want at most 10 (two 4 KiB stacks)", per/1024)
	}
}

// settledStacks returns the bytes of goroutine stacks in use after two GCs (the first shrinks
// stacks, the second frees what the first left).
func settledStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}

// TestIdleStackServer is TestIdleShardStack's simulator, in a child process. It serves until
// its stdin closes.
func TestIdleStackServer(t *testing.T) {
	if os.Getenv(idleStackServerEnv) == "" {
		t.Skip("the child of TestIdleShardStack")
	}
	srv, err := fakediscord.New(fakediscord.WithShardCount(idleStackShards), fakediscord.WithMaxConcurrency(idleStackShards), fakediscord.WithGuilds(idleStackGuilds))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	os.Stdout.WriteString("SERVER " + srv.Token() + " " + srv.RESTURL() + "\n")
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	select {
	case <-stop:
	case <-time.After(2 * time.Minute):
		t.Error("the parent never closed stdin")
	}
}
