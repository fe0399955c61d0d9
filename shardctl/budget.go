package shardctl

import (
	"errors"
	"fmt"
	"time"

	"github.com/cordage/cordage/events"
)

// ErrInsufficientBudget is wrapped by the error CheckBudget returns when the session-start
// budget cannot cover the shards to start.
var ErrInsufficientBudget = errors.New("shardctl: session start budget cannot cover the shards")

// BudgetError says how far a plan is over the session-start budget.
type BudgetError struct {
	Needed     int
	Remaining  int
	Total      int
	ResetAfter time.Duration
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("shardctl: %d shards need %d session starts but only %d of %d remain (resets in %v)",
		e.Needed, e.Needed, e.Remaining, e.Total, e.ResetAfter)
}

// Unwrap makes errors.Is(err, ErrInsufficientBudget) true.
func (e *BudgetError) Unwrap() error { return ErrInsufficientBudget }

// CheckBudget returns a *BudgetError when limit.Remaining is below shards. Starting anyway
// would run into Discord's limit, which terminates every session and resets the token.
func CheckBudget(limit events.SessionStartLimit, shards int) error {
	if shards < 0 {
		return fmt.Errorf("shardctl: negative shard count %d", shards)
	}
	if limit.Remaining < shards {
		return &BudgetError{
			Needed:     shards,
			Remaining:  limit.Remaining,
			Total:      limit.Total,
			ResetAfter: time.Duration(limit.ResetAfter) * time.Millisecond,
		}
	}
	return nil
}

// BudgetLow reports whether the budget left after starting shards sessions is low enough to
// warn about: fewer than two more full restarts, or under a tenth of the total.
func BudgetLow(limit events.SessionStartLimit, shards int) bool {
	left := limit.Remaining - shards
	return left < 2*shards || left*10 < limit.Total
}
