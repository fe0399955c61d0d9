package voicesim

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events"
	"github.com/cordage/cordage/events/voice"
)

// TestLedgerJSONShape pins the JSON names of every ledger record (docs/fakediscord.md documents
// them for bots in other languages) and checks that the JSON reads back into the same Ledger.
func TestLedgerJSONShape(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := &Ledger{
		Sessions: []SessionRecord{{
			ID: 1, GuildID: 1, ChannelID: 2, UserID: 10, SessionID: "s", SSRC: 7,
			Mode: voice.ModeAES256GCMRTPSize, MaxDAVEVersion: 1, DAVEVersion: 1,
			Sent:         []MessageRecord{{Seq: 1, Op: voice.OpReady, Written: 1}},
			Received:     []voice.Op{voice.OpIdentify},
			Heartbeats:   2,
			ACKsWithheld: 1,
			LastSeqAck:   1,
			Resumes:      []ResumeRecord{{At: t0, SeqAck: 1, Accepted: true}},
			Connections: []ConnRecord{
				{Opened: t0, Closed: t0.Add(time.Second), End: "server-close", Code: voice.CloseSessionTimeout},
				{Opened: t0.Add(time.Second)},
			},
			DAVERejected: []DAVERejection{{Op: voice.OpDAVEMLSCommitWelcome, Err: "bad commit"}},
		}},
		Relays:  []RelayRecord{{From: 10, To: 20, SSRC: 7, Seq: 3, Timestamp: 960, Len: 4, DAVE: true, Fault: "loss"}},
		UDP:     UDPStats{Discoveries: 1, Relayed: 2, RTCP: 3, Unknown: 4, BadAuth: 5, NotSpeaking: 6, NoKey: 7, DAVEWithheld: 8, Lost: 9},
		Refused: nil,
		Calls:   []CallRecord{{GuildID: 1, ChannelID: 2, Members: []events.Snowflake{10}, DAVE: &DAVEState{ProtocolVersion: 1, Epoch: 3, Transition: 4}}},
	}
	l.fillEmpty()
	got, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sessions":[{"id":1,"guild_id":"1","channel_id":"2","user_id":"10","session_id":"s","ssrc":7,` +
		`"mode":"aead_aes256_gcm_rtpsize","max_dave_version":1,"dave_version":1,` +
		`"sent":[{"seq":1,"op":2,"binary":false,"written":1,"replayed":0,"dropped":false}],` +
		`"received":[0],"heartbeats":2,"acks_withheld":1,"last_seq_ack":1,` +
		`"resumes":[{"at":"2026-01-02T03:04:05Z","seq_ack":1,"replayed":[],"accepted":true,"code":0}],` +
		`"connections":[{"opened":"2026-01-02T03:04:05Z","end":"server-close","code":4009,"closed":"2026-01-02T03:04:06Z"},` +
		`{"opened":"2026-01-02T03:04:06Z","end":"","code":0,"closed":null}],` +
		`"dave_rejected":[{"op":28,"error":"bad commit"}],"ended":""}],` +
		`"relays":[{"from":"10","to":"20","ssrc":7,"seq":3,"timestamp":960,"len":4,"dave":true,"fault":"loss"}],` +
		`"udp":{"discoveries":1,"relayed":2,"rtcp":3,"unknown":4,"bad_auth":5,"not_speaking":6,"no_key":7,` +
		`"dave_withheld":8,"lost":9,"keepalives":0},` +
		`"refused":[],` +
		`"calls":[{"guild_id":"1","channel_id":"2","members":["10"],"dave":{"protocol_version":1,"epoch":3,"members":[],"transition":4}}]}`
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("ledger JSON\n got %s\nwant %s", got, want)
	}
	var back Ledger
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(*l, back); d != "" {
		t.Fatalf("ledger JSON does not read back (-sent +read):\n%s", d)
	}
}

// TestLedgerFillEmptyKeepsLists checks that fillEmpty only replaces nil lists.
func TestLedgerFillEmptyKeepsLists(t *testing.T) {
	l := &Ledger{Sessions: []SessionRecord{{Resumes: []ResumeRecord{{Replayed: []int64{4, 5}}}}}}
	l.fillEmpty()
	if r := l.Sessions[0].Resumes[0].Replayed; len(r) != 2 || r[0] != 4 {
		t.Fatalf("fillEmpty changed a list: %v", r)
	}
	if l.Sessions[0].Sent == nil || l.Relays == nil || l.Calls == nil {
		t.Fatal("fillEmpty left a nil list")
	}
}
