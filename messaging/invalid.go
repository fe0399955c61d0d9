package messaging

import (
	"sync"
	"time"
)

// invalidWindow counts 401, 403 and non-shared 429 answers over a sliding window, in one-second
// slots so that 10,000 entries cost a few hundred slots.
type invalidWindow struct {
	mu     sync.Mutex
	window time.Duration
	slots  []invalidSlot // oldest first
	total  int
}

type invalidSlot struct {
	sec int64
	n   int
}

func (w *invalidWindow) add(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trim(now)
	sec := now.Unix()
	if n := len(w.slots); n > 0 && w.slots[n-1].sec == sec {
		w.slots[n-1].n++
	} else {
		w.slots = append(w.slots, invalidSlot{sec: sec, n: 1})
	}
	w.total++
	return w.total
}

func (w *invalidWindow) count(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trim(now)
	return w.total
}

func (w *invalidWindow) trim(now time.Time) {
	cut := now.Add(-w.window).Unix()
	i := 0
	for i < len(w.slots) && w.slots[i].sec <= cut {
		w.total -= w.slots[i].n
		i++
	}
	if i > 0 {
		w.slots = append(w.slots[:0], w.slots[i:]...)
	}
}
