package shardctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SessionState is a shard's resumable session as its owner publishes it in Redis: what another
// process needs to resume the session instead of identifying.
type SessionState struct {
	Shard     int    `json:"shard"`
	Count     int    `json:"count"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
	ResumeURL string `json:"resume_url"`
	Owner     string `json:"owner"`
}

// LeaseStore keeps, in Redis, which process owns which shard (a lease with a TTL the owner
// renews), the processes that are alive (a membership set with expiry), and each shard's last
// published session state. It holds no state of its own and is safe for concurrent use.
//
// Keys (one hash tag, so one Redis Cluster slot):
//
//	{prefix}:members        sorted set: node id → expiry (ms, Redis clock)
//	{prefix}:lease:<shard>  the owning node id, with the lease TTL
//	{prefix}:state:<shard>  the shard's SessionState as JSON, with the state TTL
//	{prefix}:lease-epoch    marks an initialised store
//	{prefix}:lease-quiet    present for one lease TTL after the store was found empty: only
//	                        nodes that already run a shard may (re)claim it meanwhile
type LeaseStore struct {
	rdb       redis.UniversalClient
	prefix    string
	ttl       time.Duration
	stateTTL  time.Duration
	opTimeout time.Duration
}

// LeaseOption configures a LeaseStore.
type LeaseOption func(*LeaseStore)

// WithLeasePrefix sets the hash tag of the keys (default "cordage").
func WithLeasePrefix(p string) LeaseOption {
	return func(s *LeaseStore) {
		if p != "" {
			s.prefix = p
		}
	}
}

// WithLeaseTTL sets how long a lease and a membership last without renewal (default 10 s): how
// long a dead process's shards wait before others take them over.
func WithLeaseTTL(d time.Duration) LeaseOption {
	return func(s *LeaseStore) {
		if d > 0 {
			s.ttl = d
		}
	}
}

// WithStateTTL sets how long a published session state stays usable after its last update
// (default 2 min, inside the few minutes Discord keeps a dropped session resumable).
func WithStateTTL(d time.Duration) LeaseOption {
	return func(s *LeaseStore) {
		if d > 0 {
			s.stateTTL = d
		}
	}
}

// NewLeaseStore returns a store in rdb.
func NewLeaseStore(rdb redis.UniversalClient, opts ...LeaseOption) (*LeaseStore, error) {
	if rdb == nil {
		return nil, errors.New("shardctl: NewLeaseStore: nil Redis client")
	}
	s := &LeaseStore{rdb: rdb, prefix: "cordage", ttl: 10 * time.Second, stateTTL: 2 * time.Minute, opTimeout: 2 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// TTL returns the lease TTL.
func (s *LeaseStore) TTL() time.Duration { return s.ttl }

func (s *LeaseStore) key(name string) string    { return "{" + s.prefix + "}:" + name }
func (s *LeaseStore) lease(shard int) string    { return s.key("lease:" + strconv.Itoa(shard)) }
func (s *LeaseStore) stateKey(shard int) string { return s.key("state:" + strconv.Itoa(shard)) }

func (s *LeaseStore) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

var heartbeatScript = redis.NewScript(`
local members, epoch, quiet = KEYS[1], KEYS[2], KEYS[3]
local node, ttl = ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', epoch) == 0 then
  redis.call('SET', epoch, '1')
  redis.call('SET', quiet, '1', 'PX', ttl)
end
redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
redis.call('ZADD', members, now + ttl, node)
return redis.call('ZRANGE', members, 0, -1)
`)

// Heartbeat records node as alive for one lease TTL and returns every live node, sorted.
func (s *LeaseStore) Heartbeat(ctx context.Context, node string) ([]string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	m, err := heartbeatScript.Run(ctx, s.rdb, []string{s.key("members"), s.key("lease-epoch"), s.key("lease-quiet")},
		node, s.ttl.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("shardctl: lease heartbeat: %w", err)
	}
	slices.Sort(m)
	return m, nil
}

// Leave removes node from the live set at once (a graceful exit).
func (s *LeaseStore) Leave(ctx context.Context, node string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return s.rdb.ZRem(ctx, s.key("members"), node).Err()
}

var claimScript = redis.NewScript(`
local lease, quiet = KEYS[1], KEYS[2]
local node, ttl = ARGV[1], ARGV[2]
local cur = redis.call('GET', lease)
if cur == node then
  redis.call('PEXPIRE', lease, ttl)
  return 1
end
if cur then return 0 end
if redis.call('EXISTS', quiet) == 1 then return 0 end
redis.call('SET', lease, node, 'PX', ttl)
return 1
`)

// Claim takes shard's lease for node if it is free (or already node's). While the store is in
// its quiet period after losing its data, only Renew (by nodes that run the shard) can take it.
func (s *LeaseStore) Claim(ctx context.Context, node string, shard int) (bool, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := claimScript.Run(ctx, s.rdb, []string{s.lease(shard), s.key("lease-quiet")}, node, s.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("shardctl: claim shard %d: %w", shard, err)
	}
	return n == 1, nil
}

var renewScript = redis.NewScript(`
local node, ttl, sttl = ARGV[1], ARGV[2], ARGV[3]
local lost = {}
for i = 1, #KEYS / 2 do
  local lease, state, js = KEYS[2*i-1], KEYS[2*i], ARGV[3+i]
  local cur = redis.call('GET', lease)
  if cur == node or not cur then
    redis.call('SET', lease, node, 'PX', ttl)
    if js ~= '' then redis.call('SET', state, js, 'PX', sttl) else redis.call('DEL', state) end
  else
    table.insert(lost, i - 1)
  end
end
return lost
`)

// Renew extends node's leases on the shards in states and publishes each state that has a
// session; a state without one (the shard is identifying) deletes the published state, which no
// longer describes a resumable session. A lease the store no longer holds (it lost its data) is taken again, since node still
// runs the shard. It returns the shards whose lease another node holds now: node must stop them.
func (s *LeaseStore) Renew(ctx context.Context, node string, states []SessionState) (lost []int, err error) {
	if len(states) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, 2*len(states))
	args := []any{node, s.ttl.Milliseconds(), s.stateTTL.Milliseconds()}
	for _, st := range states {
		keys = append(keys, s.lease(st.Shard), s.stateKey(st.Shard))
		js := ""
		if st.SessionID != "" {
			st.Owner = node
			b, err := json.Marshal(st)
			if err != nil {
				return nil, err
			}
			js = string(b)
		}
		args = append(args, js)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	idx, err := renewScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("shardctl: renew leases: %w", err)
	}
	for _, i := range idx {
		lost = append(lost, states[i].Shard)
	}
	return lost, nil
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) else redis.call('DEL', KEYS[2]) end
redis.call('DEL', KEYS[1])
return 1
`)

// Release publishes final (deleting the published state if final has no session) and gives up node's lease on final.Shard, so
// that the next owner resumes from exactly that state. It reports false when node did not hold
// the lease (then nothing is written).
func (s *LeaseStore) Release(ctx context.Context, node string, final SessionState) (bool, error) {
	js := ""
	if final.SessionID != "" {
		final.Owner = node
		b, err := json.Marshal(final)
		if err != nil {
			return false, err
		}
		js = string(b)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.lease(final.Shard), s.stateKey(final.Shard)},
		node, js, s.stateTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("shardctl: release shard %d: %w", final.Shard, err)
	}
	return n == 1, nil
}

// State returns the last published state of shard; ok is false when there is none (never
// published, or older than the state TTL).
func (s *LeaseStore) State(ctx context.Context, shard int) (st SessionState, ok bool, err error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	b, err := s.rdb.Get(ctx, s.stateKey(shard)).Bytes()
	if errors.Is(err, redis.Nil) {
		return SessionState{}, false, nil
	}
	if err != nil {
		return SessionState{}, false, fmt.Errorf("shardctl: load state of shard %d: %w", shard, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return SessionState{}, false, fmt.Errorf("shardctl: state of shard %d is corrupt: %w", shard, err)
	}
	return st, st.SessionID != "" && st.Shard == shard, nil
}

// Owners returns the node holding each shard's lease, "" for free shards.
func (s *LeaseStore) Owners(ctx context.Context, count int) ([]string, error) {
	if count <= 0 {
		return nil, nil
	}
	keys := make([]string, count)
	for i := range keys {
		keys[i] = s.lease(i)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	// One GET per key in a pipeline: MGET across keys is fine too, but a pipeline keeps working
	// on a Redis Cluster without relying on the hash tag.
	cmds := make([]*redis.StringCmd, count)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("shardctl: lease owners: %w", err)
	}
	out := make([]string, count)
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// Owner picks the node that should run shard among the live nodes, by rendezvous hashing: every
// process computes the same answer from the same member list, and when a node joins or leaves
// only the shards it gains or loses move. It returns "" for no nodes.
func Owner(nodes []string, shard int) string {
	best, bestScore := "", uint64(0)
	for _, n := range nodes {
		h := fnv.New64a()
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(shard)))
		// FNV's low bits mix poorly for short inputs; a final avalanche spreads them.
		sc := mix64(h.Sum64())
		if best == "" || sc > bestScore || (sc == bestScore && n < best) {
			best, bestScore = n, sc
		}
	}
	return best
}

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
