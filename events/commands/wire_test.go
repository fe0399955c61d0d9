package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// wireEnv is the real REST client against the REST simulator, which was written from Discord's
// documentation independently of this package.
func wireEnv(t *testing.T) (*restsim.Server, *messaging.Client) {
	t.Helper()
	sim := restsim.New(restsim.Config{})
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	client, err := messaging.New(restsim.DefaultToken, messaging.WithBaseURL(ts.URL+"/api/v10"), messaging.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return sim, client
}

func TestWireSyncAgainstSimulator(t *testing.T) {
	sim, client := wireEnv(t)
	r := commands.New()
	for _, err := range []error{reg[Ping](r), reg[RollDice](r), reg[Everything](r), reg[Numbers](r)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := r.Group(commands.Meta{Name: "admin", Description: "Server tools"})
	if err := commands.Register(admin, nop[Ban]); err != nil {
		t.Fatal(err)
	}
	app := restsim.DefaultApplicationID
	guild := sim.Seeded().GuildID
	for _, scope := range []events.Snowflake{0, guild} {
		changed, err := r.Sync(t.Context(), client, app, scope)
		if err != nil || !changed {
			t.Fatalf("scope %v first sync: changed=%v err=%v", scope, changed, err)
		}
		// What the simulator stored, read back by the real client, must compare equal.
		changed, err = r.Sync(t.Context(), client, app, scope)
		if err != nil || changed {
			var have []json.RawMessage = sim.Commands(scope)
			t.Fatalf("scope %v second sync: changed=%v err=%v\nsimulator has %s", scope, changed, err, have)
		}
	}
	if n := len(sim.Commands(0)); n != 5 {
		t.Errorf("simulator has %d global commands", n)
	}
}

func TestWireAnswersAgainstSimulator(t *testing.T) {
	sim, client := wireEnv(t)
	clk := clock.NewManual(time.Unix(0, 0))
	r := commands.New(commands.WithClock(clk))
	started, release := make(chan struct{}), make(chan struct{})
	err := commands.Register(r, func(ctx context.Context, c *commands.Context, o RollDice) error {
		if o.Mode == "slow" {
			close(started)
			<-release
		}
		if err := c.Reply(ctx, fmt.Sprintf("%s rolled a d%d", c.User.Username, o.Sides)); err != nil {
			return err
		}
		_, err := c.Followup(ctx, commands.Message{Content: "again", Flags: commands.FlagEphemeral})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	seed := sim.Seeded()
	payload := func(it restsim.Interaction, mode string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":"%v","application_id":"%v","type":2,"token":%q,"guild_id":"%v","channel_id":"%v",
			"member":{"user":{"id":"%v","username":"alice"},"roles":[],"joined_at":""},
			"data":{"name":"roll_dice","type":1,"options":[{"name":"mode","type":3,"value":%q},{"name":"target","type":6,"value":"%v"}]}}`,
			it.ID, it.ApplicationID, it.Token, it.GuildID, it.ChannelID, seed.UserIDs[0], mode, seed.UserIDs[1]))
	}

	fast := sim.NewInteraction(seed.ChannelIDs[0])
	if err := r.Handle(t.Context(), client, payload(fast, "sum")); err != nil {
		t.Fatal(err)
	}
	st := sim.InteractionState(fast.ID)
	var orig struct{ Content string }
	_ = json.Unmarshal(st.Original, &orig)
	if st.ResponseType != 4 || orig.Content != "alice rolled a d6" || st.Followups != 1 {
		t.Errorf("fast: %+v %s", st, st.Original)
	}

	slow := sim.NewInteraction(seed.ChannelIDs[0])
	done := make(chan error, 1)
	sig := &signalResponder{Responder: client, responded: make(chan error, 1)}
	go func() { done <- r.Handle(context.Background(), sig, payload(slow, "slow")) }()
	<-started
	clk.Advance(2 * time.Second) // the automatic defer goes out while the handler still runs
	select {
	case err := <-sig.responded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no deferred response")
	}
	if st := sim.InteractionState(slow.ID); st.ResponseType != 5 {
		t.Fatalf("simulator saw %+v", st)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st = sim.InteractionState(slow.ID)
	_ = json.Unmarshal(st.Original, &orig)
	if st.ResponseType != 5 || orig.Content != "alice rolled a d6" || st.Followups != 1 {
		t.Errorf("slow: %+v %s", st, st.Original)
	}
}

// signalResponder reports each initial response after the REST call returned.
type signalResponder struct {
	commands.Responder
	responded chan error
}

func (s *signalResponder) CreateInteractionResponse(ctx context.Context, id events.Snowflake, token string, resp commands.Response) error {
	err := s.Responder.CreateInteractionResponse(ctx, id, token, resp)
	s.responded <- err
	return err
}
