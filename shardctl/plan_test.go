package shardctl

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events"
)

func TestWaves(t *testing.T) {
	got := Waves(ShardIDs(6), 4)
	want := [][]int{{0, 1, 2, 3}, {4, 5}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatal(d)
	}
	// A sparse subset: each key's shards go one per wave, lowest first.
	got = Waves([]int{9, 1, 5, 2}, 4)
	want = [][]int{{1, 2}, {5}, {9}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatal(d)
	}
	if d := cmp.Diff([]int{1, 2, 5, 9}, BucketOrder([]int{9, 1, 5, 2}, 4)); d != "" {
		t.Fatal(d)
	}
	if got := StartupTime(32, 16, 5*time.Second); got != 10*time.Second {
		t.Fatalf("startup %v", got)
	}
	if got := StartupTime(5, 2, 5*time.Second); got != 15*time.Second {
		t.Fatalf("startup %v", got)
	}
}

func TestValidateShards(t *testing.T) {
	if err := ValidateShards([]int{0, 1}, 2); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]int{{2}, {-1}, {0, 0}} {
		if err := ValidateShards(bad, 2); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	if err := ValidateShards(nil, 0); err == nil {
		t.Fatal("count 0 accepted")
	}
}

func TestCheckBudget(t *testing.T) {
	lim := events.SessionStartLimit{Total: 1000, Remaining: 3, ResetAfter: 60000, MaxConcurrency: 1}
	err := CheckBudget(lim, 4)
	var be *BudgetError
	if !errors.Is(err, ErrInsufficientBudget) || !errors.As(err, &be) || be.Remaining != 3 || be.Needed != 4 {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "only 3 of 1000 remain") {
		t.Fatalf("unclear message: %v", err)
	}
	if err := CheckBudget(lim, 3); err != nil {
		t.Fatal(err)
	}
	if !BudgetLow(lim, 3) {
		t.Fatal("3 of 1000 left is low")
	}
	if BudgetLow(events.SessionStartLimit{Total: 1000, Remaining: 1000}, 4) {
		t.Fatal("full budget is not low")
	}
}
