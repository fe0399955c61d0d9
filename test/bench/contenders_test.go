package bench

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/bwmarrin/discordgo"
	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/json/option"
	disgogw "github.com/disgoorg/disgo/gateway"
	"github.com/gorilla/websocket"

	"github.com/cordage/cordage/connections"
	"github.com/cordage/cordage/events"
)

// contender is one client library in one configuration. open connects the given shards of a
// count-shard bot to the simulator and calls on (from any goroutine) for every dispatch it
// hands to the caller, with the dispatch name. close disconnects and waits.
type contender struct {
	name string
	open func(ctx context.Context, sim *simProc, shards []int, count, maxConc int, on func(t string), dial netDial) (close func(), err error)
	// noDial: open ignores dial (arikawa builds its own websocket dialer)
	noDial bool
	// cordage only
	typed bool
	comp  connections.Compression
}

// Compression names used in benchmark names.
const (
	compNone = "json"
	compZlib = "zlib"
	compZstd = "zstd"
)

func init() {
	// discordgo and arikawa speak v9 by default; the simulator (like Discord for new bots)
	// wants v10, and both accept v10 payloads for everything measured here.
	discordgo.APIVersion = "10"
	gateway.Version = "10"
}

// contenders returns every library that supports comp.
func contenders(comp string) []contender {
	var out []contender
	switch comp {
	case compNone:
		out = append(out, cordage(connections.None, false), cordage(connections.None, true), disgo(disgogw.CompressionNone), discordGo(), arikawa())
	case compZlib:
		out = append(out, naive(), cordage(connections.ZlibStream, false), cordage(connections.ZlibStream, true), disgo(disgogw.CompressionZlibStream))
	case compZstd:
		out = append(out, cordage(connections.ZstdStream, false), cordage(connections.ZstdStream, true), disgo(disgogw.CompressionZstdStream))
	}
	return out
}

// cordage is the runtime; typed also decodes every dispatch into the events type for it (what
// the peers always do) with encoding/json.
func cordage(comp connections.Compression, typed bool) contender {
	name := "cordage"
	if typed {
		name = "cordage+typed"
	}
	return contender{name: name, typed: typed, comp: comp, open: func(ctx context.Context, sim *simProc, shards []int, count, maxConc int, on func(string), dial netDial) (func(), error) {
		var extra []connections.Option
		if dial != nil {
			extra = append(extra, connections.WithDialer(cordageDialer(dial)))
		}
		return openCordage(ctx, sim, shards, count, maxConc, on, comp, typed, extra...)
	}}
}

// openWith opens a cordage contender with extra options.
func (c contender) openWith(ctx context.Context, sim *simProc, shards []int, count, maxConc int, on func(string), extra ...connections.Option) (func(), error) {
	return openCordage(ctx, sim, shards, count, maxConc, on, c.comp, c.typed, extra...)
}

func openCordage(ctx context.Context, sim *simProc, shards []int, count, maxConc int, on func(string), comp connections.Compression, typed bool, extra ...connections.Option) (func(), error) {
	{
		out := make(chan connections.Event, 1024)
		gw := events.GatewayBot{URL: sim.Gateway, Shards: count, SessionStartLimit: events.SessionStartLimit{
			Total: 100000, Remaining: 100000, ResetAfter: 86400000, MaxConcurrency: maxConc}}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case ev := <-out:
					if ev.Kind != connections.KindDispatch {
						continue
					}
					if typed {
						if v := events.NewDispatchData(ev.Type); v != nil {
							if err := ev.Decode(v); err != nil {
								panic(fmt.Sprintf("decode %s: %v", ev.Type, err))
							}
						}
					}
					on(ev.Type)
				case <-stop:
					return
				}
			}
		})
		opts := append([]connections.Option{connections.WithCompression(comp), connections.WithIntents(events.IntentsAll), connections.WithShardCount(count)}, extra...)
		c, err := connections.ConnectShards(ctx, sim.Token, out, gw, shards, opts...)
		if err != nil {
			close(stop)
			wg.Wait()
			return nil, err
		}
		return func() {
			_ = c.Close()
			close(stop)
			wg.Wait()
		}, nil
	}
}

func naive() contender {
	return contender{name: "naive", open: func(ctx context.Context, sim *simProc, shards []int, count, _ int, on func(string), dial netDial) (func(), error) {
		out := make(chan *naiveEvent, 1024)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case ev := <-out:
					on(ev.Type)
				case <-stop:
					return
				}
			}
		})
		var clients []*naiveClient
		closeAll := func() {
			for _, c := range clients {
				c.close()
			}
			close(stop)
			wg.Wait()
		}
		for _, id := range shards {
			c, err := dialNaive(sim.Gateway, sim.Token, id, count, out, dial)
			if err != nil {
				closeAll()
				return nil, err
			}
			clients = append(clients, c)
		}
		return closeAll, nil
	}}
}

func disgo(ct disgogw.CompressionType) contender {
	return contender{name: "disgo", open: func(ctx context.Context, sim *simProc, shards []int, count, _ int, on func(string), dial netDial) (func(), error) {
		var gws []disgogw.Gateway
		closeAll := func() {
			for _, g := range gws {
				g.Close(context.Background())
			}
		}
		// Shards open concurrently: disgo's Open returns only once the shard is ready.
		var mu sync.Mutex
		var firstErr error
		var wg sync.WaitGroup
		for _, id := range shards {
			wg.Go(func() {
				g := disgogw.New(sim.Token, func(_ disgogw.Gateway, t disgogw.EventType, _ int, _ disgogw.EventData) { on(string(t)) },
					disgogw.WithURL(sim.Gateway), disgogw.WithCompression(ct), disgogw.WithIntents(disgogw.Intents(events.IntentsAll)),
					disgogw.WithShardID(id), disgogw.WithShardCount(count), disgogw.WithAutoReconnect(false),
					disgogw.WithLogger(slog.New(slog.DiscardHandler)), disgogw.WithDialer(withNetDial(websocket.DefaultDialer, dial)))
				err := g.Open(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					firstErr = err
					return
				}
				gws = append(gws, g)
			})
		}
		wg.Wait()
		if firstErr != nil {
			closeAll()
			return nil, firstErr
		}
		return closeAll, nil
	}}
}

var discordgoMu sync.Mutex // its endpoints are package variables

// discordGo is bwmarrin/discordgo with its state cache off (the others keep none) and its
// default asynchronous handlers. It has no transport compression; its payload compression
// (identify compress) is not used by the simulator, so it reads plain JSON.
func discordGo() contender {
	return contender{name: "discordgo", open: func(ctx context.Context, sim *simProc, shards []int, count, _ int, on func(string), dial netDial) (func(), error) {
		discordgoMu.Lock()
		defer discordgoMu.Unlock()
		discordgo.EndpointGateway = sim.REST + "/gateway"
		discordgo.EndpointGatewayBot = sim.REST + "/gateway/bot"
		var ss []*discordgo.Session
		closeAll := func() {
			// Close waits a second for the close frame's echo: close them concurrently.
			var wg sync.WaitGroup
			for _, s := range ss {
				wg.Go(func() { _ = s.Close() })
			}
			wg.Wait()
		}
		var mu sync.Mutex
		var firstErr error
		var wg sync.WaitGroup
		for _, id := range shards {
			s, err := discordgo.New(sim.Token)
			if err != nil {
				closeAll()
				return nil, err
			}
			s.StateEnabled = false
			s.LogLevel = -1
			s.Dialer = withNetDial(s.Dialer, dial)
			s.Identify.Intents = discordgo.Intent(events.IntentsAll)
			s.ShardID, s.ShardCount = id, count
			s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) { on(e.Type) })
			// Open returns only once the shard is ready: open them concurrently.
			wg.Go(func() {
				err := s.Open()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					firstErr = err
					return
				}
				ss = append(ss, s)
			})
		}
		wg.Wait()
		if firstErr != nil {
			closeAll()
			return nil, firstErr
		}
		return closeAll, nil
	}}
}

// arikawa is diamondburned/arikawa's gateway package (no state cache). Like discordgo it has
// payload compression only.
func arikawa() contender {
	return contender{name: "arikawa", noDial: true, open: func(ctx context.Context, sim *simProc, shards []int, count, _ int, on func(string), dial netDial) (func(), error) {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, id := range shards {
			ident := gateway.DefaultIdentifier(sim.Token)
			ident.Compress = false
			ident.Intents = option.NewUint(uint(events.IntentsAll))
			ident.SetShard(id, count)
			g := gateway.NewCustomWithIdentifier(gateway.AddGatewayParams(sim.Gateway), ident, nil)
			ops := g.Connect(ctx)
			wg.Go(func() {
				for op := range ops {
					if op.Code == 0 {
						on(string(op.Type))
					}
				}
			})
		}
		return func() {
			cancel()
			wg.Wait()
		}, nil
	}}
}
