package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/messaging"
	"github.com/cordage/cordage/test/fakediscord/restsim"
)

const msgRoute = "/channels/{channel.id}/messages"

func withMsgLimit(n int, window time.Duration) restsim.Config {
	return restsim.Config{Routes: map[string]restsim.Limit{
		"POST " + msgRoute: {Bucket: "msgs", Requests: n, Window: window},
	}}
}

func count429(l []restsim.Entry) int {
	n := 0
	for _, e := range l {
		if e.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// waitQueued waits until the client holds n queued requests.
func waitQueued(t *testing.T, c *messaging.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for messaging.Queued(c) != n {
		if time.Now().After(deadline) {
			t.Fatalf("queued = %d, want %d", messaging.Queued(c), n)
		}
		time.Sleep(200 * time.Microsecond) // polling a condition, not timing a rule
	}
}

// startSends creates n messages in ch from n goroutines; wait collects their errors.
func startSends(t *testing.T, e *env, ch events.Snowflake, n int) (wait func()) {
	t.Helper()
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: fmt.Sprint("m", i)})
			errs <- err
		})
	}
	return func() {
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestBucketRemainingAndReset(t *testing.T) {
	const window = time.Second
	e, clk := newManualEnv(t, withMsgLimit(3, window))
	wait := startSends(t, e, e.seed.ChannelIDs[0], 9)
	// The first request goes alone (the bucket is unknown), its answer lets two more go.
	e.settle(t, clk, 3, 6)
	for sent := 6; sent <= 9; sent += 3 {
		clk.Advance(window)
		e.quiet(t, sent-3)
		clk.Advance(time.Millisecond) // Reset-After plus the header's millisecond precision
		e.settle(t, clk, sent, 9-sent)
	}
	wait()
	if n := count429(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d 429s", n)
	}
	if s := e.client.Stats(); s.Requests != 9 || s.Retries != 0 || s.Invalid != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestSubSecondReset(t *testing.T) {
	const window = 300 * time.Millisecond
	e, clk := newManualEnv(t, withMsgLimit(2, window))
	wait := startSends(t, e, e.seed.ChannelIDs[0], 10)
	e.settle(t, clk, 2, 8)
	for sent := 4; sent <= 10; sent += 2 {
		clk.Advance(window)
		e.quiet(t, sent-2)
		clk.Advance(time.Millisecond)
		e.settle(t, clk, sent, 10-sent)
	}
	wait()
	if n := count429(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d 429s", n)
	}
}

func TestMajorParameterSeparatesBuckets(t *testing.T) {
	e, clk := newManualEnv(t, withMsgLimit(2, 2*time.Second))
	var waits []func()
	for _, ch := range e.seed.ChannelIDs {
		waits = append(waits, startSends(t, e, ch, 2))
	}
	// Each channel has its own bucket under the same hash: all six go without a reset.
	e.settle(t, clk, 6, 0)
	for _, w := range waits {
		w()
	}
	if n := count429(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d 429s", n)
	}
}

func TestSharedBucketAcrossRoutes(t *testing.T) {
	const window = 250 * time.Millisecond // the simulator's reaction bucket: 1 per 250 ms
	e, clk := newManualEnv(t, restsim.Config{})
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]
	m, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// Learn both routes; the second answer reveals that DELETE shares PUT's bucket.
	if err := e.client.AddReaction(ctx, ch, m.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(window)
	if err := e.client.RemoveOwnReaction(ctx, ch, m.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = e.client.AddReaction(ctx, ch, m.ID, "🎉")
			} else {
				err = e.client.RemoveOwnReaction(ctx, ch, m.ID, "🎉")
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	// One request per window, whichever route it is on.
	e.settle(t, clk, 3, 6)
	for sent := 4; sent <= 9; sent++ {
		clk.Advance(window)
		e.quiet(t, sent-1)
		clk.Advance(time.Millisecond)
		e.settle(t, clk, sent, 9-sent)
	}
	wg.Wait()
	if n := count429(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d 429s; PUT and DELETE share one bucket", n)
	}
}

func TestRateLimitScopes(t *testing.T) {
	for _, tc := range []struct {
		scope       restsim.Scope
		wantInvalid int
	}{
		{restsim.ScopeUser, 1},
		{restsim.ScopeShared, 0},
		{restsim.ScopeGlobal, 1},
	} {
		t.Run(string(tc.scope), func(t *testing.T) {
			e, clk := newManualEnv(t, restsim.Config{})
			ctx := testCtx(t)
			const retryAfter = 400 * time.Millisecond
			e.sim.InjectRateLimit(restsim.Match{Method: "POST", Route: msgRoute}, tc.scope, retryAfter, 1)
			done := make(chan error, 1)
			go func() {
				_, err := e.client.CreateMessage(ctx, e.seed.ChannelIDs[0], messaging.MessageCreate{Content: "x"})
				done <- err
			}()
			e.settle(t, clk, 1, 1)
			clk.Advance(retryAfter)
			e.quiet(t, 1)
			clk.Advance(time.Millisecond)
			if err := <-done; err != nil {
				t.Fatalf("CreateMessage after one 429: %v", err)
			}
			l := e.ledgerFor("POST", msgRoute)
			if len(l) != 2 || l[0].Status != 429 || l[0].Scope != tc.scope || l[1].Status != 200 {
				t.Fatalf("ledger = %+v", l)
			}
			s := e.client.Stats()
			if s.RateLimited[messaging.Scope(tc.scope)] != 1 || s.Retries != 1 || s.Invalid != tc.wantInvalid {
				t.Fatalf("stats = %+v", s)
			}
		})
	}
}

func TestGlobal429HoldsEveryRoute(t *testing.T) {
	e, clk := newManualEnv(t, restsim.Config{})
	ctx := testCtx(t)
	const retryAfter = 500 * time.Millisecond
	e.sim.InjectRateLimit(restsim.Match{Method: "GET", Route: "/channels/{channel.id}"}, restsim.ScopeGlobal, retryAfter, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := e.client.GetChannel(ctx, e.seed.ChannelIDs[0]); err != nil {
			t.Error(err)
		}
	})
	e.settle(t, clk, 1, 1)
	wg.Go(func() {
		if _, err := e.client.GetUser(ctx, e.seed.UserIDs[0]); err != nil {
			t.Error(err)
		}
	})
	e.settle(t, clk, 1, 2)
	e.quiet(t, 1)
	clk.Advance(retryAfter + time.Millisecond)
	e.settle(t, clk, 3, 0)
	wg.Wait()
}

type observerFunc func(messaging.RequestInfo)

func (f observerFunc) ObserveRequest(ri messaging.RequestInfo) { f(ri) }

func TestRealGlobalLimit(t *testing.T) {
	cfg := restsim.Config{GlobalLimit: 5, GlobalWindow: time.Second}
	e, clk := newManualEnv(t, cfg, messaging.WithGlobalLimit(5, time.Second, 100*time.Millisecond))
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 15 {
		wg.Go(func() {
			if _, err := e.client.GetUser(ctx, e.seed.UserIDs[i%5]); err != nil {
				t.Error(err)
			}
		})
	}
	e.settle(t, clk, 5, 10)
	clk.Advance(time.Second)
	e.quiet(t, 5) // the client keeps its 100 ms margin
	clk.Advance(100 * time.Millisecond)
	e.settle(t, clk, 10, 5)
	clk.Advance(1100 * time.Millisecond)
	e.settle(t, clk, 15, 0)
	wg.Wait()
	if n := count429(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d 429s under a global limit of 5/s", n)
	}

	// A client that believes in a higher global limit meets real global 429s; its retries,
	// held by the global retry_after, still get every request through.
	e2, clk2 := newManualEnv(t, cfg, messaging.WithGlobalLimit(100, time.Second, 0), messaging.WithMaxRetries(5))
	var left sync.WaitGroup
	for i := range 12 {
		left.Go(func() {
			if _, err := e2.client.GetUser(ctx, e2.seed.UserIDs[i%5]); err != nil {
				t.Error(err)
			}
		})
	}
	finished := make(chan struct{})
	go func() { left.Wait(); close(finished) }()
	e2.drive(t, clk2, time.Second, finished)
	var global int
	for _, en := range e2.sim.Ledger() {
		if en.Scope == restsim.ScopeGlobal {
			global++
		}
	}
	if global == 0 || e2.client.Stats().RateLimited[messaging.ScopeGlobal] != int64(global) || len(e2.sim.Ledger()) != 12+global {
		t.Fatalf("global 429s: ledger %d of %d, client %d", global, len(e2.sim.Ledger()), e2.client.Stats().RateLimited[messaging.ScopeGlobal])
	}
}

func TestRetriesBounded(t *testing.T) {
	e := newEnv(t, 50, restsim.Config{}, messaging.WithMaxRetries(2))
	ctx := testCtx(t)
	e.sim.InjectRateLimit(restsim.Match{Route: msgRoute}, restsim.ScopeUser, 100*time.Millisecond, 10)
	_, err := e.client.CreateMessage(ctx, e.seed.ChannelIDs[0], messaging.MessageCreate{Content: "x"})
	var rle *messaging.RateLimitError
	if !errors.As(err, &rle) || !errors.Is(err, messaging.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if rle.Attempts != 3 || rle.Scope != messaging.ScopeUser || rle.RetryAfter != 100*time.Millisecond || rle.Route != msgRoute {
		t.Fatalf("rate-limit error = %+v", rle)
	}
	if n := len(e.ledgerFor("POST", msgRoute)); n != 3 {
		t.Fatalf("sent %d times, want 3", n)
	}
}

func TestCancelRemovesQueuedRequest(t *testing.T) {
	const window = 3 * time.Second
	e, clk := newManualEnv(t, withMsgLimit(1, window))
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]
	if _, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "first"}); err != nil {
		t.Fatal(err)
	}
	results := map[string]chan error{}
	send := func(ctx context.Context, content string) {
		res := make(chan error, 1)
		results[content] = res
		go func() {
			_, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: content})
			res <- err
		}()
	}
	send(ctx, "A")
	waitQueued(t, e.client, 1)
	bctx, cancelB := context.WithCancel(ctx)
	send(bctx, "B")
	waitQueued(t, e.client, 2)
	send(ctx, "C")
	waitQueued(t, e.client, 3)
	cancelB()
	if err := <-results["B"]; !errors.Is(err, context.Canceled) {
		t.Fatalf("B: %v", err)
	}
	e.settle(t, clk, 1, 2)
	clk.Advance(window + time.Millisecond)
	e.settle(t, clk, 2, 1)
	clk.Advance(window + time.Millisecond)
	e.settle(t, clk, 3, 0)
	for _, k := range []string{"A", "C"} {
		if err := <-results[k]; err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	var order []string
	for _, en := range e.ledgerFor("POST", msgRoute) {
		order = append(order, string(en.Body))
	}
	if len(order) != 3 || order[1] != `{"content":"A"}` || order[2] != `{"content":"C"}` {
		t.Fatalf("sent %v", order)
	}
}

func TestFIFOWithinBucket(t *testing.T) {
	const window = time.Second
	e, clk := newManualEnv(t, withMsgLimit(1, window))
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]
	if _, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "warm-up"}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		})
		waitQueued(t, e.client, i+1)
	}
	for sent := 2; sent <= n+1; sent++ {
		e.settle(t, clk, sent-1, n+2-sent)
		clk.Advance(window + time.Millisecond)
	}
	wg.Wait()
	l := e.ledgerFor("POST", msgRoute)[1:]
	for i, en := range l {
		if want := fmt.Sprintf(`{"content":"%d"}`, i); string(en.Body) != want {
			t.Fatalf("request %d sent %s, want %s (FIFO)", i, en.Body, want)
		}
	}
	if len(l) != n || count429(l) != 0 {
		t.Fatalf("%d sent, %d 429s", len(l), count429(l))
	}
}

func TestWaitPastDeadlineFailsFast(t *testing.T) {
	e := newEnv(t, 10, withMsgLimit(1, 100*time.Second))
	ctx := testCtx(t)
	ch := e.seed.ChannelIDs[0]
	if _, err := e.client.CreateMessage(ctx, ch, messaging.MessageCreate{Content: "first"}); err != nil {
		t.Fatal(err)
	}
	// The bucket resets in 100 s of clock time, 10 s of wall time; the deadline is 2 s away.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := e.client.CreateMessage(short, ch, messaging.MessageCreate{Content: "second"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// It failed at once, knowing the wait was too long, not by sitting out the deadline.
	if !strings.Contains(err.Error(), "exceeds the context deadline") || short.Err() != nil {
		t.Fatalf("err = %v (ctx err %v)", err, short.Err())
	}
	if messaging.Queued(e.client) != 0 {
		t.Fatal("request left in the queue")
	}
}

func TestInteractionRoutesSkipGlobalLimitAndToken(t *testing.T) {
	e, _ := newManualEnv(t, restsim.Config{}, messaging.WithGlobalLimit(1, time.Hour, 0))
	ctx := testCtx(t)
	if _, err := e.client.GetCurrentUser(ctx); err != nil { // spends the only global slot
		t.Fatal(err)
	}
	it := e.sim.NewInteraction(e.seed.ChannelIDs[0])
	// The clock stands still: these would wait an hour if they counted toward the global limit.
	if err := e.client.DeferInteraction(ctx, it.ID, it.Token, true); err != nil {
		t.Fatal(err)
	}
	done := "done"
	if _, err := e.client.EditOriginal(ctx, it.ApplicationID, it.Token, messaging.WebhookEdit{Content: &done}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SendFollowup(ctx, it.ApplicationID, it.Token, messaging.WebhookMessage{Content: "more"}); err != nil {
		t.Fatal(err)
	}
	l := e.sim.Ledger()
	if len(l) != 4 || !l[0].Authorized {
		t.Fatalf("ledger = %+v", l)
	}
	for _, en := range l[1:] {
		if en.Authorized {
			t.Fatalf("%s %s carried the bot token", en.Method, en.Route)
		}
	}
	// A bot route still waits for the global window.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := e.client.GetCurrentUser(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("bot route: %v", err)
	}
}
