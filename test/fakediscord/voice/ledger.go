package voicesim

import (
	"slices"
	"time"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// Ledger is what the server did: every voice session with the messages it was sent, the resumes
// and connections it had, and every RTP packet the relay forwarded or held back.
//
// Its JSON uses snake_case names like the gateway simulator's ledger, snowflakes as strings,
// ops and close codes as numbers, and null for the closed time of a connection still open. GET
// /ledger of the control API also answers [] for every empty list. docs/fakediscord.md shows
// the shape.
type Ledger struct {
	Sessions []SessionRecord `json:"sessions"`
	// Relays lists relayed packets one by one, up to WithRelayLedgerLimit.
	Relays []RelayRecord `json:"relays"`
	UDP    UDPStats      `json:"udp"`
	// Refused lists connections that ended before they had a session: a refused Identify or
	// Resume, a payload before Identify, a missed first heartbeat.
	Refused []ConnRecord `json:"refused"`
	// Calls are the channels with users in them now, by channel id. A call ends (and its DAVE
	// group with it) when its last user leaves.
	Calls []CallRecord `json:"calls"`
}

// CallRecord is one call (a voice channel with users in it) at the time of the snapshot.
type CallRecord struct {
	GuildID   events.Snowflake   `json:"guild_id"`
	ChannelID events.Snowflake   `json:"channel_id"`
	Members   []events.Snowflake `json:"members"` // users with a live session, by id
	DAVE      *DAVEState         `json:"dave"`    // nil on a server without DAVE or before the first DAVE join
}

// DAVERejection is a DAVE message the call's DAVE server refused (the connection stays open).
type DAVERejection struct {
	Op  voice.Op `json:"op"`
	Err string   `json:"error"`
}

// SessionRecord is one voice session: one successful Identify.
type SessionRecord struct {
	ID             int              `json:"id"` // the simulator's number for the session, from 1
	GuildID        events.Snowflake `json:"guild_id"`
	ChannelID      events.Snowflake `json:"channel_id"`
	UserID         events.Snowflake `json:"user_id"`
	SessionID      string           `json:"session_id"`
	SSRC           uint32           `json:"ssrc"`
	Mode           voice.Mode       `json:"mode"`             // empty until Select Protocol
	MaxDAVEVersion int              `json:"max_dave_version"` // what Identify offered
	DAVEVersion    int              `json:"dave_version"`     // what Session Description gave
	// Sent lists every sequenced message, in seq order (Hello, heartbeat ACKs and Resumed carry no
	// seq and are not listed).
	Sent []MessageRecord `json:"sent"`
	// Received lists the ops the client sent, other than heartbeats.
	Received     []voice.Op     `json:"received"`
	Heartbeats   int            `json:"heartbeats"`
	ACKsWithheld int            `json:"acks_withheld"` // heartbeats left unanswered by WithholdACKs
	LastSeqAck   int64          `json:"last_seq_ack"`  // the seq_ack of the last heartbeat or resume (-1 before any)
	Resumes      []ResumeRecord `json:"resumes"`
	Connections  []ConnRecord   `json:"connections"`
	// DAVERejected lists the client's DAVE messages the DAVE server refused.
	DAVERejected []DAVERejection `json:"dave_rejected"`
	// Ended says why the session is over ("" while it lasts): "closed 4006 …", "resume window
	// expired", "replaced by a new identify", "left the channel", "server closed".
	Ended string `json:"ended"`
}

// MessageRecord is one sequenced server message.
type MessageRecord struct {
	Seq      int64    `json:"seq"`
	Op       voice.Op `json:"op"`
	Binary   bool     `json:"binary"`
	Written  int      `json:"written"`  // times written to a connection (a duplicate fault makes it 2)
	Replayed int      `json:"replayed"` // times sent again by a resume
	Dropped  bool     `json:"dropped"`  // a drop fault kept it from the wire (a resume replays it)
}

// ResumeRecord is one op 7 on a session.
type ResumeRecord struct {
	At       time.Time       `json:"at"`
	SeqAck   int64           `json:"seq_ack"`
	Replayed []int64         `json:"replayed"` // the seqs sent again after Resumed
	Accepted bool            `json:"accepted"`
	Code     voice.CloseCode `json:"code"` // the close code of a refused resume
}

// ConnRecord is one websocket connection of a session (the one that identified, then one per
// resume).
type ConnRecord struct {
	Opened time.Time `json:"opened"`
	Closed time.Time `json:"closed"` // zero while open (null in JSON)
	// End: "" while open, "server-close" (with Code), "client-close" (with the client's Code),
	// "dropped" (cut without a close frame: a fault, a replacement, or the client going away).
	End  string          `json:"end"`
	Code voice.CloseCode `json:"code"`
}

// RelayRecord is one RTP packet the relay took from a sender for one receiver.
type RelayRecord struct {
	From      events.Snowflake `json:"from"`
	To        events.Snowflake `json:"to"`
	SSRC      uint32           `json:"ssrc"` // the SSRC the receiver saw
	Seq       uint16           `json:"seq"`
	Timestamp uint32           `json:"timestamp"`
	Len       int              `json:"len"`  // bytes of Opus payload (DAVE frame included)
	DAVE      bool             `json:"dave"` // the payload was a DAVE protocol frame
	// Fault is "" for a packet sent, "loss" for one a UDP loss fault dropped, "reorder" for one
	// held back and sent after the next.
	Fault string `json:"fault"`
}

// UDPStats counts datagrams by what the relay did with them.
type UDPStats struct {
	Discoveries  int `json:"discoveries"`   // IP discovery requests answered
	Relayed      int `json:"relayed"`       // packets re-sealed and sent (one per receiver)
	RTCP         int `json:"rtcp"`          // RTCP packets dropped
	Unknown      int `json:"unknown"`       // RTP from an SSRC no session has, or from the wrong address; bad discovery
	BadAuth      int `json:"bad_auth"`      // packets that failed to open with the sender's key
	NotSpeaking  int `json:"not_speaking"`  // RTP from a session that has not sent Speaking yet (dropped)
	NoKey        int `json:"no_key"`        // RTP from a session that has not selected a protocol yet
	DAVEWithheld int `json:"dave_withheld"` // DAVE frames not sent to a receiver outside the DAVE group
	Lost         int `json:"lost"`          // dropped by a loss fault
	KeepAlives   int `json:"keepalives"`    // 8-byte keepalive datagrams, echoed to their sender
}

func (l *Ledger) clone() *Ledger {
	c := &Ledger{Relays: slices.Clone(l.Relays), UDP: l.UDP, Refused: slices.Clone(l.Refused), Sessions: make([]SessionRecord, len(l.Sessions))}
	for i, s := range l.Sessions {
		s.Sent = slices.Clone(s.Sent)
		s.Received = slices.Clone(s.Received)
		s.Resumes = slices.Clone(s.Resumes)
		for j := range s.Resumes {
			s.Resumes[j].Replayed = slices.Clone(s.Resumes[j].Replayed)
		}
		s.Connections = slices.Clone(s.Connections)
		s.DAVERejected = slices.Clone(s.DAVERejected)
		c.Sessions[i] = s
	}
	return c
}

// Session returns the last session record of user in the ledger, if any.
func (l *Ledger) Session(user events.Snowflake) (SessionRecord, bool) {
	for i := len(l.Sessions) - 1; i >= 0; i-- {
		if l.Sessions[i].UserID == user {
			return l.Sessions[i], true
		}
	}
	return SessionRecord{}, false
}

// RelayedTo returns the packets sent (without a fault) from one user to another, in order.
func (l *Ledger) RelayedTo(from, to events.Snowflake) []RelayRecord {
	var out []RelayRecord
	for _, r := range l.Relays {
		if r.From == from && r.To == to && r.Fault == "" {
			out = append(out, r)
		}
	}
	return out
}

// Closes returns every close code the server sent: those of sessions in session order, then
// those of refused connections.
func (l *Ledger) Closes() []voice.CloseCode {
	var out []voice.CloseCode
	for _, s := range l.Sessions {
		for _, c := range s.Connections {
			if c.End == "server-close" {
				out = append(out, c.Code)
			}
		}
	}
	for _, c := range l.Refused {
		if c.End == "server-close" {
			out = append(out, c.Code)
		}
	}
	return out
}
