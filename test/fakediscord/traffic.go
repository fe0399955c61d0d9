package fakediscord

import (
	"fmt"
	"sync"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events"
)

// TrafficConfig describes a stream of dispatches for StartTraffic.
type TrafficConfig struct {
	// Rate is in events per second of clock time (default 100).
	Rate float64
	// Count is how many events to emit before stopping by itself (default 1000).
	Count int
	// Event is the dispatch name (default "MESSAGE_CREATE").
	Event string
	// Guilds receive the events in turn (default: all the bot's guilds). Ignored when Shards is
	// set.
	Guilds []events.Snowflake
	// Shards, when set, makes the events guild-less and sends them to these shards in turn.
	Shards []int
	// Payload builds event i's data for guild (0 for shard traffic). The default is a
	// MESSAGE_CREATE-shaped message whose content is "traffic <i>".
	Payload func(i int, guild events.Snowflake) any
}

// spawn runs f on a goroutine Close waits for; it reports false (and does not run f) after
// Close.
func (s *Server) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(f)
	return true
}

// StartTraffic emits cfg.Count dispatches at cfg.Rate per clock second, spread over the given
// guilds (routed to their shards) or shards. Events for which no live session exists are
// dropped. stop ends the traffic early and waits for the emitter; it is safe to call more than
// once, and after the traffic ended by itself.
func (s *Server) StartTraffic(cfg TrafficConfig) (stop func()) {
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	if cfg.Count <= 0 {
		cfg.Count = 1000
	}
	if cfg.Event == "" {
		cfg.Event = "MESSAGE_CREATE"
	}
	if len(cfg.Guilds) == 0 && len(cfg.Shards) == 0 {
		cfg.Guilds = s.Guilds()
	}
	if cfg.Payload == nil {
		cfg.Payload = s.defaultMessage
	}
	halt := make(chan struct{})
	done := make(chan struct{})
	if !s.spawn(func() {
		defer close(done)
		s.runTraffic(cfg, halt)
	}) {
		close(done)
	}
	var once sync.Once
	return func() {
		once.Do(func() { close(halt) })
		<-done
	}
}

func (s *Server) runTraffic(cfg TrafficConfig, halt <-chan struct{}) {
	if len(cfg.Guilds) == 0 && len(cfg.Shards) == 0 {
		return
	}
	// Tick no faster than every millisecond of wall time, and send whatever is due.
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	interval = max(interval, time.Duration(float64(time.Millisecond)*clock.Factor(s.clk)))
	tick := s.clk.NewTicker(interval)
	defer tick.Stop()
	start := s.clk.Now()
	sent := 0
	for sent < cfg.Count {
		select {
		case <-halt:
			return
		case <-s.quit:
			return
		case <-tick.C():
		}
		due := min(int(s.clk.Now().Sub(start).Seconds()*cfg.Rate)+1, cfg.Count)
		for ; sent < due; sent++ {
			// A high rate on a fast clock makes batches large: stop must not wait for one to end.
			if sent%64 == 0 && stopped(halt, s.quit) {
				return
			}
			if len(cfg.Shards) > 0 {
				_ = s.DispatchToShard(cfg.Shards[sent%len(cfg.Shards)], cfg.Event, cfg.Payload(sent, 0))
				continue
			}
			g := cfg.Guilds[sent%len(cfg.Guilds)]
			_ = s.Dispatch(g, cfg.Event, cfg.Payload(sent, g))
		}
	}
}

// defaultMessage is a MESSAGE_CREATE as a guild text channel (or a DM, for guild 0) sees it.
func (s *Server) defaultMessage(i int, guild events.Snowflake) any {
	author := s.world.botUser()
	channel := events.Snowflake(1 << 22)
	if guild != 0 {
		u := s.world.member(guild, i%max(1, s.world.members)).User
		if u != nil {
			author = *u
		}
		channel = s.world.textChannel(guild)
	}
	msg := map[string]any{
		"id":         events.NewSnowflake(worldEpoch.Add(time.Duration(i)*time.Millisecond), uint32(i)),
		"channel_id": channel,
		"author":     author,
		"content":    fmt.Sprintf("traffic %d", i),
		"timestamp":  worldEpoch.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
		"tts":        false, "mention_everyone": false, "mentions": []any{}, "mention_roles": []any{},
		"attachments": []any{}, "embeds": []any{}, "pinned": false, "type": 0,
	}
	if guild != 0 {
		msg["guild_id"] = guild
	}
	return msg
}

// stopped reports whether either channel is closed, without blocking.
func stopped(a, b <-chan struct{}) bool {
	select {
	case <-a:
		return true
	case <-b:
		return true
	default:
		return false
	}
}
