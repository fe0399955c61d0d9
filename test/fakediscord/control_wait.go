package fakediscord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Bounds of POST wait's timeout, in wall time: the caller's HTTP client waits in wall time.
const (
	defaultWaitTimeout = 10 * time.Second
	maxWaitTimeout     = 5 * time.Minute
)

// waitBody is the body of POST wait: every given condition must hold at once. Counts are
// "at least". Shard narrows "connected" and "resumes" to one shard.
type waitBody struct {
	Connected  *int      `json:"connected"`  // sessions in state connected
	Identifies *int      `json:"identifies"` // accepted identifies
	Resumes    *int      `json:"resumes"`    // successful resumes, summed over sessions
	Shard      *int      `json:"shard"`
	Timeout    *Duration `json:"timeout"` // wall time; default 10 s, at most 5 min
}

// WaitView is the answer of POST wait once its conditions hold.
type WaitView struct {
	Connected  int `json:"connected"`
	Identifies int `json:"identifies"`
	Resumes    int `json:"resumes"`
}

func (b *waitBody) measure(sn *Snapshot) WaitView {
	var v WaitView
	for _, si := range sn.Sessions {
		if b.Shard != nil && si.Shard != *b.Shard {
			continue
		}
		if si.State == SessionConnected {
			v.Connected++
		}
		v.Resumes += si.Resumes
	}
	for _, id := range sn.Identifies {
		if id.Accepted {
			v.Identifies++
		}
	}
	return v
}

func (b *waitBody) holds(v WaitView) bool {
	return (b.Connected == nil || v.Connected >= *b.Connected) &&
		(b.Identifies == nil || v.Identifies >= *b.Identifies) &&
		(b.Resumes == nil || v.Resumes >= *b.Resumes)
}

// wait answers POST wait: it blocks until the conditions hold (200 with the counts), the
// timeout passes (408 with the counts reached in the error), or the server closes (503). It
// lets a test in any language wait for "the bot is connected" or "it resumed" without polling.
func (c *control) wait(w http.ResponseWriter, r *http.Request) {
	var b waitBody
	if !decodeBody(w, r, &b) {
		return
	}
	if b.Connected == nil && b.Identifies == nil && b.Resumes == nil {
		writeControlError(w, http.StatusBadRequest, `give at least one of "connected", "identifies", "resumes"`)
		return
	}
	for name, n := range map[string]*int{"connected": b.Connected, "identifies": b.Identifies, "resumes": b.Resumes, "shard": b.Shard} {
		if n != nil && *n < 0 {
			writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`%q must not be negative, got %d`, name, *n))
			return
		}
	}
	timeout := defaultWaitTimeout
	if b.Timeout != nil {
		timeout = time.Duration(*b.Timeout)
		if timeout <= 0 || timeout > maxWaitTimeout {
			writeControlError(w, http.StatusBadRequest, fmt.Sprintf(`"timeout" must be in (0, %v], got %v`, maxWaitTimeout, timeout))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	var last WaitView
	err := c.s.WaitFor(ctx, func(sn *Snapshot) bool {
		last = b.measure(sn)
		return b.holds(last)
	})
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, last)
	case errors.Is(err, context.DeadlineExceeded):
		writeControlError(w, http.StatusRequestTimeout, fmt.Sprintf(
			"conditions not met within %v: connected %d, identifies %d, resumes %d", timeout, last.Connected, last.Identifies, last.Resumes))
	default:
		writeServerError(w, err)
	}
}
