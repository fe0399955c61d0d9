package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

// BenchmarkREST sends 1,000 messages from 50 goroutines over 20 channels through each library's
// REST client to restsim (5 messages per 5 s per channel, 50 requests per second globally), on
// the wall clock, as messaging's own BenchmarkMessageCreates does for Cordage alone. The ideal
// schedule under those limits is 46 s. It reports creates per second, the ratio of the time taken
// to the ideal, and how many 429s the simulator had to answer.
func BenchmarkREST(b *testing.B) {
	const channels, goroutines, total = 20, 50, 1000
	const ideal = 46 * time.Second
	type sender func(ctx context.Context, ch events.Snowflake, n int) error
	libs := []struct {
		name string
		make func(url string) (sender, func())
	}{
		{"cordage", func(url string) (sender, func()) {
			c, err := messaging.New(restsim.DefaultToken, messaging.WithBaseURL(url+"/api/v10"))
			if err != nil {
				panic(err)
			}
			return func(ctx context.Context, ch events.Snowflake, n int) error {
				_, err := c.CreateMessage(ctx, ch, messaging.MessageCreate{Content: strconv.Itoa(n)})
				return err
			}, func() {}
		}},
		{"disgo", func(url string) (sender, func()) {
			rc := rest.NewClient(restsim.DefaultToken, rest.WithURL(url+"/api/v10"),
				rest.WithLogger(slog.New(slog.DiscardHandler)),
				rest.WithRateLimiterConfigOpts(rest.WithRateLimiterLogger(slog.New(slog.DiscardHandler))),
				// Built as a dependency, disgo reports no version; restsim wants one, as Discord does.
				rest.WithUserAgent("DiscordBot (https://github.com/disgoorg/disgo, 0.19.6)"))
			c := rest.NewChannels(rc, discord.AllowedMentions{})
			return func(_ context.Context, ch events.Snowflake, n int) error {
				_, err := c.CreateMessage(snowflake.ID(ch), discord.MessageCreate{Content: strconv.Itoa(n)})
				return err
			}, func() { rc.Close(context.Background()) }
		}},
		{"discordgo", func(url string) (sender, func()) {
			discordgo.EndpointChannels = url + "/api/v10/channels/"
			s, err := discordgo.New("Bot " + restsim.DefaultToken)
			if err != nil {
				panic(err)
			}
			s.LogLevel = -1
			return func(_ context.Context, ch events.Snowflake, n int) error {
				_, err := s.ChannelMessageSend(ch.String(), strconv.Itoa(n))
				return err
			}, func() {}
		}},
	}
	for _, lib := range libs {
		b.Run("lib="+lib.name, func(b *testing.B) {
			for b.Loop() {
				sim := restsim.New(restsim.Config{NoSeed: true})
				g := sim.AddGuild("bench")
				chans := make([]events.Snowflake, channels)
				for i := range chans {
					chans[i] = sim.AddChannel(g, fmt.Sprint("c", i))
				}
				ts := httptest.NewServer(sim)
				send, closeClient := lib.make(ts.URL)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				var wg sync.WaitGroup
				var mu sync.Mutex
				var failed []error
				start := time.Now()
				for gi := range goroutines {
					wg.Go(func() {
						for k := range total / goroutines {
							n := gi*(total/goroutines) + k
							if err := send(ctx, chans[n%channels], n); err != nil {
								mu.Lock()
								failed = append(failed, err)
								mu.Unlock()
							}
						}
					})
				}
				wg.Wait()
				took := time.Since(start)
				cancel()
				closeClient()
				ts.Close()
				n429 := 0
				for _, e := range sim.Ledger() {
					if e.Status == 429 {
						n429++
					}
				}
				b.ReportMetric(float64(total-len(failed))/took.Seconds(), "creates/s")
				b.ReportMetric(took.Seconds()/ideal.Seconds(), "ratio-to-ideal")
				b.ReportMetric(float64(n429), "429s")
				b.ReportMetric(float64(len(failed)), "failed")
				if len(failed) > 0 {
					b.Logf("%s: %d failed, first: %v", lib.name, len(failed), failed[0])
				}
			}
		})
	}
}
