package shardctl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/cordage/cordage/events"
)

// ErrGateUnavailable is wrapped by the errors a RedisGate returns when it cannot reach Redis. The
// runtime then holds new identifies back (and retries with backoff); connected shards are not
// affected.
var ErrGateUnavailable = errors.New("shardctl: identify gate store unavailable")

// ErrGateClosed is returned by Wait after Close.
var ErrGateClosed = errors.New("shardctl: identify gate closed")

// BudgetExhaustedError says why a RedisGate refused an identify: the shared session-start
// budget is spent (down to the reserve). It wraps ErrBudgetExhausted.
type BudgetExhaustedError struct {
	Remaining  int
	Total      int
	Reserve    int
	ResetAfter time.Duration
}

func (e *BudgetExhaustedError) Error() string {
	return fmt.Sprintf("shardctl: session start budget exhausted: %d of %d starts left (reserve %d), resets in %v; identifying now would make Discord reset the bot token",
		e.Remaining, e.Total, e.Reserve, e.ResetAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrBudgetExhausted) true.
func (e *BudgetExhaustedError) Unwrap() error { return ErrBudgetExhausted }

// RedisGate is a Gate shared by every process of a bot through Redis: at most one identify per
// rate-limit key (shard_id % max_concurrency) per spacing (5 s) across all of them, and a shared
// count of the daily session-start budget.
//
// Each key is a Redis lock with a TTL. Wait takes it with the TTL spacing+2×renew and renews it
// while the caller holds it; release cuts the TTL to exactly spacing, so the next identify on the
// key comes at least spacing after this one was written. A holder that dies stops renewing, and
// the key frees itself at most spacing+2×renew after its last sign of life: it blocks no longer
// than the 5-second rule needs (plus the renewal margin), whatever it was doing.
//
// Redis keeps time: TTLs run on the server's clock, so processes on machines whose clocks
// disagree still space their identifies correctly. A Redis that comes back empty (restarted
// without persistence) cannot tell what was granted before it died, so the first gate to see the
// empty store holds every key for one spacing.
//
// When Redis cannot be reached, Wait returns an error wrapping ErrGateUnavailable at once: the
// runtime refuses new identifies until Redis is back, and connected shards do not notice.
//
// Keys (all share one hash tag, so they live in one Redis Cluster slot):
//
//	{prefix}:identify:<key>   the lock of one rate-limit key (value: the holder's token)
//	{prefix}:budget           hash remaining/total, expiring when Discord resets the budget
//	{prefix}:epoch            marks a store that has been initialised
//	{prefix}:quiet            present for one spacing after the store was found empty
type RedisGate struct {
	rdb            redis.UniversalClient
	maxConcurrency int
	prefix         string
	spacing        time.Duration
	renew          time.Duration
	poll           time.Duration
	opTimeout      time.Duration
	reserve        int
	source         func(context.Context) (events.SessionStartLimit, error)
	log            *zap.Logger
	onBudget       func(remaining, total int)
	onGrant        func(shardID int, waited time.Duration)

	mu     sync.Mutex
	local  map[int]chan struct{} // per key: one waiter of this process talks to Redis at a time
	seeded bool                  // Seed was called: the budget is tracked even without a source

	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// RedisGateOption configures a RedisGate.
type RedisGateOption func(*RedisGate)

// WithKeyPrefix sets the hash tag of the gate's keys (default "cordage"). Bots that share a
// Redis need different prefixes; every process of one bot must use the same.
func WithKeyPrefix(p string) RedisGateOption {
	return func(g *RedisGate) {
		if p != "" {
			g.prefix = p
		}
	}
}

// WithSpacing sets the time between two identifies on one key (default IdentifyInterval, 5 s).
// Only tests and extra safety margins should change it: Discord's rule is 5 s.
func WithSpacing(d time.Duration) RedisGateOption {
	return func(g *RedisGate) {
		if d > 0 {
			g.spacing = d
		}
	}
}

// WithRenewInterval sets how often a held key's TTL is renewed (default spacing/10). A dead
// holder blocks its key at most spacing + 2 × this.
func WithRenewInterval(d time.Duration) RedisGateOption {
	return func(g *RedisGate) {
		if d > 0 {
			g.renew = d
		}
	}
}

// WithBudgetSource sets how the gate learns the session-start budget when Redis does not hold it
// (first use, after Discord's reset, after Redis lost its data): typically a call to
// GET /gateway/bot, such as connections.GetWebsocketGateway. With a source (or after Seed) every
// identify spends one start from the shared count.
func WithBudgetSource(f func(context.Context) (events.SessionStartLimit, error)) RedisGateOption {
	return func(g *RedisGate) { g.source = f }
}

// WithBudgetReserve keeps n session starts unused: the gate refuses an identify that would
// leave fewer than n (default 0, refuse only when none is left).
func WithBudgetReserve(n int) RedisGateOption {
	return func(g *RedisGate) { g.reserve = max(n, 0) }
}

// WithRedisGateLogger sets the logger (default zap.NewNop()). A low budget is logged at Warn.
func WithRedisGateLogger(l *zap.Logger) RedisGateOption {
	return func(g *RedisGate) {
		if l != nil {
			g.log = l
		}
	}
}

// WithBudgetHook calls fn after each granted identify with the shared budget left (for metrics,
// for example connections.Observer.SessionBudget). It must not block.
func WithBudgetHook(fn func(remaining, total int)) RedisGateOption {
	return func(g *RedisGate) { g.onBudget = fn }
}

// WithRedisGrantHook calls fn each time a shard is granted an identify, with how long it waited.
// It must not block.
func WithRedisGrantHook(fn func(shardID int, waited time.Duration)) RedisGateOption {
	return func(g *RedisGate) { g.onGrant = fn }
}

// WithOpTimeout bounds each Redis round trip of the gate (default 2 s).
func WithOpTimeout(d time.Duration) RedisGateOption {
	return func(g *RedisGate) {
		if d > 0 {
			g.opTimeout = d
		}
	}
}

// NewRedisGate returns a gate for a bot with the given max_concurrency (values below 1 count as
// 1), stored in rdb. Close it when done: it stops the goroutines that renew held keys.
func NewRedisGate(rdb redis.UniversalClient, maxConcurrency int, opts ...RedisGateOption) (*RedisGate, error) {
	if rdb == nil {
		return nil, errors.New("shardctl: NewRedisGate: nil Redis client")
	}
	g := &RedisGate{
		rdb:            rdb,
		maxConcurrency: max(maxConcurrency, 1),
		prefix:         "cordage",
		spacing:        IdentifyInterval,
		opTimeout:      2 * time.Second,
		log:            zap.NewNop(),
		local:          make(map[int]chan struct{}),
		closed:         make(chan struct{}),
	}
	for _, o := range opts {
		o(g)
	}
	if g.renew == 0 {
		g.renew = g.spacing / 10
	}
	g.poll = g.renew
	return g, nil
}

// MaxConcurrency returns the number of rate-limit keys.
func (g *RedisGate) MaxConcurrency() int { return g.maxConcurrency }

// Spacing returns the time between two identifies on one key.
func (g *RedisGate) Spacing() time.Duration { return g.spacing }

// Close stops renewing held keys (each gets the TTL spacing, as if released) and waits for the
// gate's goroutines. Wait fails with ErrGateClosed afterwards.
func (g *RedisGate) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	g.wg.Wait()
	return nil
}

func (g *RedisGate) key(name string) string { return "{" + g.prefix + "}:" + name }

func (g *RedisGate) localToken(k int) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch, ok := g.local[k]
	if !ok {
		ch = make(chan struct{}, 1)
		ch <- struct{}{}
		g.local[k] = ch
	}
	return ch
}

// acquireScript takes a rate-limit key's lock, spending one session start when the budget is
// tracked. Replies: {0, remaining, total} granted (remaining -1: untracked); {1, ms} busy, ask
// again after ms; {2} budget unknown; {3, remaining, total, reset_ms} budget exhausted.
var acquireScript = redis.NewScript(`
local lock, budget, epoch, quiet = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, hold, spacing, track, reserve, epochID = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
if redis.call('EXISTS', epoch) == 0 then
  redis.call('SET', epoch, epochID)
  redis.call('SET', quiet, '1', 'PX', spacing)
end
local q = redis.call('PTTL', quiet)
if q > 0 then return {1, q} end
local t = redis.call('PTTL', lock)
if t == -1 then
  redis.call('PEXPIRE', lock, spacing)
  return {1, tonumber(spacing)}
end
if t > 0 then return {1, t} end
if track == '1' then
  local r = redis.call('HGET', budget, 'remaining')
  if not r then return {2} end
  local total = tonumber(redis.call('HGET', budget, 'total') or '0')
  r = tonumber(r)
  if r - 1 < reserve then return {3, r, total, redis.call('PTTL', budget)} end
  r = redis.call('HINCRBY', budget, 'remaining', -1)
  redis.call('SET', lock, token, 'PX', hold)
  return {0, r, total}
end
redis.call('SET', lock, token, 'PX', hold)
return {0, -1, 0}
`)

// extendScript sets the TTL of a lock its holder still owns. Returns 1, or 0 when the lock is
// no longer the holder's.
var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// seedScript stores the budget Discord reported unless Redis already counts a lower one
// (processes that started earlier have spent from it), and expires it when Discord resets it.
var seedScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'remaining')
local rem = tonumber(ARGV[1])
if not cur then
  redis.call('HSET', KEYS[1], 'remaining', rem, 'total', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return rem
end
if rem < tonumber(cur) then
  redis.call('HSET', KEYS[1], 'remaining', rem)
  return rem
end
return tonumber(cur)
`)

// minBudgetTTL keeps a budget whose reset Discord says is imminent from expiring at once and
// sending every Wait back to GET /gateway/bot.
const minBudgetTTL = time.Second

// Seed records the session-start budget from GET /gateway/bot in Redis, so that every identify
// through any process spends from it. A count already in Redis wins when it is lower. After
// Seed the budget is tracked even without WithBudgetSource.
func (g *RedisGate) Seed(ctx context.Context, limit events.SessionStartLimit) error {
	g.mu.Lock()
	g.seeded = true
	g.mu.Unlock()
	reset := max(time.Duration(limit.ResetAfter)*time.Millisecond, minBudgetTTL)
	ctx, cancel := context.WithTimeout(ctx, g.opTimeout)
	defer cancel()
	err := seedScript.Run(ctx, g.rdb, []string{g.key("budget")},
		limit.Remaining, limit.Total, reset.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("%w: seed budget: %w", ErrGateUnavailable, err)
	}
	return nil
}

// Budget returns the shared session-start budget as Redis counts it: remaining, total, and
// ok=false when Redis holds none.
func (g *RedisGate) Budget(ctx context.Context) (remaining, total int, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, g.opTimeout)
	defer cancel()
	vals, err := g.rdb.HMGet(ctx, g.key("budget"), "remaining", "total").Result()
	if err != nil {
		return 0, 0, false, fmt.Errorf("%w: %w", ErrGateUnavailable, err)
	}
	if vals[0] == nil {
		return 0, 0, false, nil
	}
	remaining, _ = strconv.Atoi(fmt.Sprint(vals[0]))
	total, _ = strconv.Atoi(fmt.Sprint(vals[1]))
	return remaining, total, true, nil
}

func (g *RedisGate) tracked() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.source != nil || g.seeded
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Wait implements Gate.
func (g *RedisGate) Wait(ctx context.Context, shardID int) (func(), error) {
	if shardID < 0 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidShard, shardID)
	}
	select {
	case <-g.closed:
		return nil, ErrGateClosed
	default:
	}
	start := time.Now()
	k := shardID % g.maxConcurrency
	tok := g.localToken(k)
	select {
	case <-tok:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.closed:
		return nil, ErrGateClosed
	}
	giveBack := func() { tok <- struct{}{} }
	lock := g.key("identify:" + strconv.Itoa(k))
	keys := []string{lock, g.key("budget"), g.key("epoch"), g.key("quiet")}
	token := newToken()
	hold := g.spacing + 2*g.renew
	fetched := false
	for {
		track := "0"
		if g.tracked() {
			track = "1"
		}
		rctx, cancel := context.WithTimeout(ctx, g.opTimeout)
		res, err := acquireScript.Run(rctx, g.rdb, keys,
			token, hold.Milliseconds(), g.spacing.Milliseconds(), track, g.reserve, token).Int64Slice()
		cancel()
		if err != nil {
			giveBack()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: shard %d: %w", ErrGateUnavailable, shardID, err)
		}
		switch res[0] {
		case 0:
			g.granted(shardID, start, res)
			return g.hold(lock, token, giveBack), nil
		case 1:
			d := time.Duration(res[1]) * time.Millisecond
			if d > g.spacing {
				// Still held: its release will cut the TTL to spacing, so look again soon.
				d = g.poll
			}
			if err := g.sleep(ctx, d); err != nil {
				giveBack()
				return nil, err
			}
		case 2:
			if g.source == nil || fetched {
				giveBack()
				return nil, fmt.Errorf("%w: shard %d: the session-start budget is not in Redis (lost or reset) and no budget source is set; refusing to identify blind", ErrGateUnavailable, shardID)
			}
			fetched = true
			limit, err := g.source(ctx)
			if err == nil {
				err = g.Seed(ctx, limit)
			}
			if err != nil {
				giveBack()
				return nil, fmt.Errorf("%w: shard %d: fetch session-start budget: %w", ErrGateUnavailable, shardID, err)
			}
		case 3:
			giveBack()
			e := &BudgetExhaustedError{Remaining: int(res[1]), Total: int(res[2]), Reserve: g.reserve}
			if len(res) > 3 && res[3] > 0 {
				e.ResetAfter = time.Duration(res[3]) * time.Millisecond
			}
			g.log.Error("refusing identify", zap.Int("shard", shardID), zap.Error(e))
			return nil, e
		default:
			giveBack()
			return nil, fmt.Errorf("%w: unexpected script reply %v", ErrGateUnavailable, res)
		}
	}
}

func (g *RedisGate) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-g.closed:
		return ErrGateClosed
	}
}

func (g *RedisGate) granted(shardID int, start time.Time, res []int64) {
	waited := time.Since(start)
	if g.onGrant != nil {
		g.onGrant(shardID, waited)
	}
	if res[1] < 0 {
		return
	}
	remaining, total := int(res[1]), int(res[2])
	if g.onBudget != nil {
		g.onBudget(remaining, total)
	}
	if budgetLow(remaining, total, g.maxConcurrency) {
		g.log.Warn("session start budget is low",
			zap.Int("remaining", remaining), zap.Int("total", total), zap.Int("shard", shardID))
	}
}

// budgetLow: under a tenth of the total, or fewer starts than one full wave of identifies.
func budgetLow(remaining, total, maxConcurrency int) bool {
	return remaining*10 < total || remaining < maxConcurrency
}

// hold renews lock until release (or Close), then sets its TTL to spacing. The renewals and the
// final update run on a goroutine of the gate, so release never blocks the shard that calls it.
func (g *RedisGate) hold(lock, token string, giveBack func()) func() {
	released := make(chan struct{})
	g.wg.Go(func() {
		t := time.NewTicker(g.renew)
		defer t.Stop()
		hold := g.spacing + 2*g.renew
		for {
			select {
			case <-t.C:
				if !g.extend(lock, token, hold) {
					g.log.Error("identify lock lost while held; another process may identify on this key", zap.String("key", lock))
				}
			case <-released:
				g.extend(lock, token, g.spacing)
				return
			case <-g.closed:
				g.extend(lock, token, g.spacing)
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(released)
			giveBack()
		})
	}
}

func (g *RedisGate) extend(lock, token string, ttl time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), g.opTimeout)
	defer cancel()
	n, err := extendScript.Run(ctx, g.rdb, []string{lock}, token, ttl.Milliseconds()).Int64()
	if err != nil {
		g.log.Warn("identify lock: cannot reach Redis", zap.String("key", lock), zap.Error(err))
		return true // unknown; the TTL set earlier still protects the key
	}
	return n == 1
}
