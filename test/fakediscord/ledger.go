package fakediscord

import (
	"cmp"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cordage/cordage/events"
)

// Ledger is a copy of what the server sent to every session, taken when Server.Ledger was
// called. With it a test proves that a client delivered every event exactly once: each entry has
// a sequence number, an event id that stays the same when one Dispatch reaches several sessions,
// and a hash of its payload that a client can compute from the bytes it received (PayloadHash).
type Ledger struct {
	// Sessions in the order they were started.
	Sessions []LedgerSession
}

// LedgerSession is one gateway session: everything it was sent, its resumes and its connections.
type LedgerSession struct {
	ID         string
	Shard      int
	ShardCount int
	Intents    events.Intent
	Started    time.Time // clock time of the accepted identify
	// Dispatches holds every dispatch of the session in sequence order (seq 1, 2, …), READY first.
	Dispatches []LedgerEntry
	// Resumes holds every successful resume, in order.
	Resumes []ResumeRecord
	// Connections holds how each connection that carried the session ended; the last one may be
	// still open (Ended is zero).
	Connections []ConnRecord
	// State is the session's state when the ledger was taken.
	State SessionState
}

// LedgerEntry is one dispatch sent (or buffered for replay) on a session.
type LedgerEntry struct {
	Seq     int64
	T       string
	GuildID events.Snowflake // 0 for guild-less events
	// EventID identifies the server-side event: one Dispatch call reaching two sessions gives
	// both entries the same EventID; a replay does not change it.
	EventID string
	// Hash is PayloadHash of the dispatch's d bytes exactly as sent.
	Hash string
	At   time.Time // clock time the dispatch was created
	// Writes counts how often the dispatch was written to a socket: 1 when sent live, more
	// after replays, 0 when it was only buffered (or is still queued).
	Writes int
	// Replays counts in how many resumes the dispatch was replayed.
	Replays int
}

// ResumeRecord is one successful resume of a session.
type ResumeRecord struct {
	At           time.Time
	FromSeq      int64   // the seq the client sent
	Replayed     []int64 // the seqs replayed, in order
	ViaResumeURL bool    // the client connected to resume_gateway_url, as it should
	ResumedSeq   int64   // seq of the RESUMED dispatch that ended the replay
}

// ConnRecord is one connection that carried a session.
type ConnRecord struct {
	ConnID int
	Opened time.Time
	Ended  time.Time // zero while open
	// How the connection ended: see the End* constants.
	End string
	// Code is the close code: the one the server sent, the one the client sent, or 1006 for a
	// connection that dropped without a close frame.
	Code events.CloseCode
	// Resumable reports whether the session could still be resumed after this connection ended.
	Resumable bool
}

// How a connection ended, in ConnRecord.End.
const (
	EndOpen        = ""              // still open
	EndServerClose = "server-close"  // the server sent a close frame (Code)
	EndClientClose = "client-close"  // the client sent a close frame (Code)
	EndDropped     = "dropped"       // the TCP connection ended without a close frame
	EndInvalidated = "invalidated"   // op 9 detached the session from the connection
	EndTakenOver   = "taken-over"    // another connection resumed the session
	EndServerStop  = "server-closed" // Server.Close
)

// SessionState is the life stage of a session.
type SessionState string

// Session states.
const (
	// SessionConnected: a connection carries the session.
	SessionConnected SessionState = "connected"
	// SessionResumable: no connection carries it, and a resume would succeed until it expires.
	SessionResumable SessionState = "resumable"
	// SessionDead: the session can no longer be resumed.
	SessionDead SessionState = "dead"
)

// PayloadHash returns the hash the ledger records for a dispatch whose "d" was d: an FNV-1a
// 64-bit hash in hex of the exact bytes.
func PayloadHash(d []byte) string {
	h := fnv.New64a()
	h.Write(d)
	return strconv.FormatUint(h.Sum64(), 16)
}

// Session returns the ledger session with the given id.
func (l *Ledger) Session(id string) (LedgerSession, bool) {
	for _, s := range l.Sessions {
		if s.ID == id {
			return s, true
		}
	}
	return LedgerSession{}, false
}

// EventIDs returns the distinct event ids of all sessions whose name is t (every name when t is
// empty), in the order the server first created them.
func (l *Ledger) EventIDs(t string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range l.Sessions {
		for _, e := range s.Dispatches {
			if (t == "" || e.T == t) && !seen[e.EventID] {
				seen[e.EventID] = true
				out = append(out, e.EventID)
			}
		}
	}
	// Event ids are "ev-N" with N counting up as the server creates events.
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(eventNum(a), eventNum(b)) })
	return out
}

// entry is the live form of a LedgerEntry.
type entry struct {
	seq     int64
	t       string
	guild   events.Snowflake
	eventID string
	hash    string
	at      time.Time
	d       []byte // the d bytes, kept for replay
	writes  atomic.Int32
	replays int // guarded by Server.mu
}

func (e *entry) snapshot() LedgerEntry {
	return LedgerEntry{
		Seq: e.seq, T: e.t, GuildID: e.guild, EventID: e.eventID, Hash: e.hash, At: e.at,
		Writes: int(e.writes.Load()), Replays: e.replays,
	}
}

func eventNum(id string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "ev-"), 10, 64)
	return n
}
