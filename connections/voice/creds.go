package voice

import (
	"context"
	"time"

	"sync"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
	vgw "github.com/cordage/cordage/events/voice"
)

// creds is what the main gateway tells a voice connection: the voice session id (from
// VOICE_STATE_UPDATE) and the token and endpoint (from VOICE_SERVER_UPDATE). The Manager writes
// it from the bot's event loop without ever blocking; the supervisor reads snapshots.
type creds struct {
	mu      sync.Mutex
	cur     credSnapshot
	changed chan struct{} // capacity 1: "something changed, look again"
}

type credSnapshot struct {
	SessionID  string
	ChannelID  *events.Snowflake
	StateSeen  bool
	Token      vgw.Token // prints as [redacted]
	Endpoint   string
	HasServer  bool   // a VOICE_SERVER_UPDATE with a non-null endpoint is the latest one
	ServerSeen bool   // some VOICE_SERVER_UPDATE arrived (maybe with a null endpoint)
	Gen        uint64 // bumps on every VOICE_SERVER_UPDATE and session id change
}

// usable reports whether a voice session can start from s.
func (s credSnapshot) usable() bool {
	return s.StateSeen && s.ChannelID != nil && s.HasServer && s.SessionID != ""
}

func newCreds() *creds { return &creds{changed: make(chan struct{}, 1)} }

func (c *creds) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *creds) state(vs events.VoiceState) {
	c.mu.Lock()
	if vs.SessionID != c.cur.SessionID {
		c.cur.Gen++
	}
	c.cur.SessionID, c.cur.ChannelID, c.cur.StateSeen = vs.SessionID, vs.ChannelID, true
	c.mu.Unlock()
	c.notify()
}

func (c *creds) server(su events.VoiceServerUpdate) {
	c.mu.Lock()
	c.cur.Gen++
	c.cur.ServerSeen = true
	c.cur.Token = vgw.Token(su.Token)
	if su.Endpoint == nil || *su.Endpoint == "" {
		c.cur.HasServer, c.cur.Endpoint = false, ""
	} else {
		c.cur.HasServer, c.cur.Endpoint = true, *su.Endpoint
	}
	c.mu.Unlock()
	c.notify()
}

// forget drops the server half, so that the next wait needs a fresh VOICE_SERVER_UPDATE.
func (c *creds) forget() {
	c.mu.Lock()
	c.cur.HasServer, c.cur.ServerSeen, c.cur.StateSeen = false, false, false
	c.mu.Unlock()
}

func (c *creds) snapshot() credSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// await waits until the credentials are usable and newer than after (Gen), for at most d of
// clk time. It returns the snapshot, or timeout when d passed, or ctx's error.
func (c *creds) await(ctx context.Context, clk clock.Clock, d time.Duration, after uint64, timeout error) (credSnapshot, error) {
	t := clk.NewTimer(d)
	defer t.Stop()
	for {
		if s := c.snapshot(); s.usable() && s.Gen > after {
			return s, nil
		}
		select {
		case <-c.changed:
		case <-t.C():
			return credSnapshot{}, timeout
		case <-ctx.Done():
			return credSnapshot{}, ctx.Err()
		}
	}
}
