package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/commands"
)

// call is one REST call the fake API received.
type call struct {
	Method  string // "respond", "edit", "followup", "list", "overwrite"
	Token   string
	Resp    commands.Response
	Msg     commands.Message
	GuildID events.Snowflake
	Cmds    []commands.Command
}

// fakeAPI is an in-memory Discord for one application: it stores commands per scope like
// Discord does (adding ids and versions) and records every call. Each call is also sent on
// calls (buffered) so tests can wait for one without sleeping.
type fakeAPI struct {
	mu       sync.Mutex
	log      []call
	stored   map[events.Snowflake][]commands.Command
	nextID   uint64
	calls    chan call
	failNext error // returned by the next call, then cleared
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{stored: map[events.Snowflake][]commands.Command{}, nextID: 1000, calls: make(chan call, 256)}
}

func (f *fakeAPI) record(c call) error {
	f.mu.Lock()
	f.log = append(f.log, c)
	err := f.failNext
	f.failNext = nil
	f.mu.Unlock()
	f.calls <- c
	return err
}

func (f *fakeAPI) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.log...)
}

func (f *fakeAPI) count(method string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// wait returns the next call, failing the test after 10 s.
func (f *fakeAPI) wait(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a REST call")
		return call{}
	}
}

func (f *fakeAPI) ListCommands(ctx context.Context, appID, guildID events.Snowflake) ([]commands.Command, error) {
	if err := f.record(call{Method: "list", GuildID: guildID}); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Round-trip through JSON, as a real client would, so the comparison sees what Discord sends.
	b, _ := json.Marshal(f.stored[guildID])
	var out []commands.Command
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *fakeAPI) BulkOverwriteCommands(ctx context.Context, appID, guildID events.Snowflake, cmds []commands.Command) ([]commands.Command, error) {
	if err := f.record(call{Method: "overwrite", GuildID: guildID, Cmds: cmds}); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	stored := make([]commands.Command, len(cmds))
	for i, c := range cmds {
		f.nextID++
		c.ID = events.Snowflake(f.nextID)
		c.ApplicationID = appID
		c.GuildID = guildID
		c.Version = events.Snowflake(f.nextID + 1)
		if c.IntegrationTypes == nil {
			c.IntegrationTypes = []commands.IntegrationType{commands.GuildInstall}
		}
		stored[i] = c
	}
	f.stored[guildID] = stored
	return stored, nil
}

func (f *fakeAPI) CreateInteractionResponse(ctx context.Context, id events.Snowflake, token string, resp commands.Response) error {
	// Marshal as a client would, so bad JSON shapes fail here.
	if _, err := json.Marshal(resp); err != nil {
		return fmt.Errorf("fake: marshal response: %w", err)
	}
	return f.record(call{Method: "respond", Token: token, Resp: resp})
}

func (f *fakeAPI) EditOriginalResponse(ctx context.Context, appID events.Snowflake, token string, msg commands.Message) error {
	return f.record(call{Method: "edit", Token: token, Msg: msg})
}

func (f *fakeAPI) CreateFollowup(ctx context.Context, appID events.Snowflake, token string, msg commands.Message) (events.Snowflake, error) {
	return 77, f.record(call{Method: "followup", Token: token, Msg: msg})
}

// interactionJSON builds an INTERACTION_CREATE payload for a guild command.
func interactionJSON(typ int, data string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
		"id": "900", "application_id": "100", "type": %d, "token": "tok-secret",
		"guild_id": "200", "channel_id": "300", "locale": "de", "guild_locale": "en-US",
		"app_permissions": "2048",
		"channel": {"id": "300", "type": 0, "name": "general"},
		"member": {"user": {"id": "400", "username": "alice"}, "roles": ["500"], "joined_at": "2022-08-24T12:37:21.252000+00:00", "permissions": "8", "deaf": false, "mute": false},
		"data": %s
	}`, typ, data))
}

func fmtPlusV(v any) string { return fmt.Sprintf("%+v", v) }

// cmpEmpty treats nil and empty slices as equal.
var cmpEmpty = cmpopts.EquateEmpty()
