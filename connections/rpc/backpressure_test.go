package rpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/test/fakediscord/rpcsim"
)

// TestSlowReaderBackpressure: with nobody reading out, the queue fills and the reader waits
// (so answers wait too) instead of dropping events; once out is read again everything
// arrives in order and commands flow.
func TestSlowReaderBackpressure(t *testing.T) {
	sim := newSim(t)
	out := make(chan Event) // unbuffered and, for a while, unread
	c, err := Dial(ctx(t), rpcsim.DefaultClientID, out, append(simOptions(IPC, sim), WithEventBuffer(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next[*Ready](t, out)
	login(t, c)
	vc := rpcsim.VoiceChannelID
	if err := c.Subscribe(ctx(t), Subscription{Event: EventSpeakingStart, ChannelID: vc}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if n := sim.EmitSpeakingStart(vc, events.Snowflake(i)); n != 1 {
			t.Fatalf("SPEAKING_START %d reached %d connections", i, n)
		}
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.SetActivity(short, Activity{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("command behind a full queue: %v (stats %+v)", err, c.Stats())
	}
	if q := c.Stats().Queued; q != 1 {
		t.Fatalf("Queued = %d, want the buffer (1) full", q)
	}
	for i := 1; i <= 5; i++ {
		if sp := next[*SpeakingStart](t, out); sp.UserID != events.Snowflake(i) {
			t.Fatalf("event %d is user %d", i, sp.UserID)
		}
	}
	if err := c.SetActivity(ctx(t), Activity{State: "caught up"}); err != nil {
		t.Fatal(err)
	}
}
