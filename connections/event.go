package connections

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Kind says what an Event carries.
type Kind uint8

// Event kinds. KindDispatch is a Discord dispatch; every other kind is a runtime event whose
// details are in Event.Runtime as the events type of the same name.
const (
	KindDispatch           Kind = iota // Type, Seq and Data are the dispatch's t, s and d
	KindShardReady                     // events.ShardReady
	KindShardResumed                   // events.ShardResumed
	KindShardDisconnected              // events.ShardDisconnected
	KindShardReconnecting              // events.ShardReconnecting
	KindSessionReplaced                // events.SessionReplaced: events may be missing
	KindConnectedAllShards             // events.ConnectedAllShards
	KindReShard                        // events.ReShard
	KindShardStopped                   // events.ShardStopped
	KindEventsDropped                  // events.EventsDropped (only under a shedding policy)
)

var kindNames = [...]string{
	KindDispatch:           "Dispatch",
	KindShardReady:         "ShardReady",
	KindShardResumed:       "ShardResumed",
	KindShardDisconnected:  "ShardDisconnected",
	KindShardReconnecting:  "ShardReconnecting",
	KindSessionReplaced:    "SessionReplaced",
	KindConnectedAllShards: "ConnectedAllShards",
	KindReShard:            "ReShard",
	KindShardStopped:       "ShardStopped",
	KindEventsDropped:      "EventsDropped",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Event is what the runtime sends on the out channel, by value.
//
// For a dispatch, Type is the event name ("MESSAGE_CREATE"), Seq its sequence number in the
// shard's session and Data the exact bytes of its "d", copied: the receiver owns them. For a
// runtime event, Type is Kind's name, Seq is 0 and Runtime holds the details (for example an
// events.ShardReady value).
//
// Per shard, events arrive in order. Runtime events that concern the whole connection
// (ConnectedAllShards, ReShard) carry Shard -1; ConnectedAllShards arrives after the READY that
// completed the set.
type Event struct {
	Shard   int
	Kind    Kind
	Type    string
	Seq     int64
	Data    json.RawMessage
	Runtime any
}

// Decode decodes a dispatch's data into v.
func (e Event) Decode(v any) error {
	if e.Kind != KindDispatch {
		return fmt.Errorf("connections: %v event has no data", e.Kind)
	}
	return json.Unmarshal(e.Data, v)
}

func runtimeEvent(shard int, k Kind, detail any) Event {
	return Event{Shard: shard, Kind: k, Type: k.String(), Runtime: detail}
}
