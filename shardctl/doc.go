// Package shardctl decides when a shard may start a session and how a bot's shards are planned.
//
// Discord allows max_concurrency identifies per 5 seconds, one per rate-limit key
// shard_id % max_concurrency, and a daily budget of session starts that, once exhausted,
// terminates every session and resets the bot token. A [Gate] is the single point through which
// the runtime (package connections) asks permission to identify; resumes never ask.
//
// [NewLocalGate] serves one process. A cross-process gate (for example one backed by Redis)
// implements the same one-method interface.
//
// # Planning
//
// [CheckBudget] refuses a plan the session-start budget cannot cover, [BudgetLow] says when to
// warn, and [Waves] orders shards so that buckets start in order (with 32 shards and
// max_concurrency 16: shards 0–15 together, then 16–31).
package shardctl
