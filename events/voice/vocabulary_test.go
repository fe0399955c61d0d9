package voice

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cordage/cordage/events"
)

func TestOpcodes(t *testing.T) {
	for op := Op(0); op <= 31; op++ {
		switch op {
		case 10, 17, 19:
			if op.Known() {
				t.Errorf("%d should be unknown", op)
			}
			if op.String() != fmt.Sprintf("Op(%d)", op) {
				t.Errorf("String(%d) = %q", op, op.String())
			}
			continue
		}
		if !op.Known() {
			t.Errorf("op %d unknown", op)
		}
		if op.ClientSends() && op.ServerSends() && op != OpSpeaking {
			t.Errorf("op %s both directions", op)
		}
		if !op.ClientSends() && !op.ServerSends() {
			t.Errorf("op %s no direction", op)
		}
		if got, want := op.Binary(), op >= 25 && op <= 30; got != want {
			t.Errorf("op %s Binary=%v", op, got)
		}
	}
	if OpVideo.Documented() || !OpHello.Documented() || !OpDAVEMLSWelcome.Documented() {
		t.Error("Documented wrong")
	}
	if OpDAVEPrepareTransition.Binary() || OpDAVEMLSInvalidCommitWelcome.Binary() {
		t.Error("JSON DAVE ops marked binary")
	}
}

// TestCloseCodePolicies pins the policy of every voice close code, one subtest per code.
func TestCloseCodePolicies(t *testing.T) {
	want := map[CloseCode]ClosePolicy{
		1000: PolicyResume, 1001: PolicyResume, 1006: PolicyResume, 4000: PolicyResume,
		4001: PolicyNewSession, 4002: PolicyNewSession, 4003: PolicyNewSession,
		4004: PolicyNewSession, 4005: PolicyNewSession, 4006: PolicyNewSession,
		4009: PolicyNewSession, 4011: PolicyFatal, 4012: PolicyFatal,
		4014: PolicyWaitServerUpdate, 4015: PolicyResume, 4016: PolicyFatal, 4017: PolicyFatal,
		4020: PolicyNewSession, 4021: PolicyFatal, 4022: PolicyFatal,
	}
	for code, p := range want {
		t.Run(code.String(), func(t *testing.T) {
			if got := code.Policy(); got != p {
				t.Fatalf("Policy = %v, want %v", got, p)
			}
			err := error(&CloseError{Code: code, Reason: "r"})
			if got := errors.Is(err, ErrClosedFatal); got != (p == PolicyFatal) {
				t.Fatalf("Is(ErrClosedFatal) = %v", got)
			}
			if got := errors.Is(err, ErrDAVERequired); got != (code == 4017) {
				t.Fatalf("Is(ErrDAVERequired) = %v", got)
			}
			c, ok := CloseCodeOf(fmt.Errorf("wrapped: %w", err))
			if !ok || c != code {
				t.Fatalf("CloseCodeOf = %v %v", c, ok)
			}
		})
	}
	if len(CloseCodes) != 16 {
		t.Fatalf("table has %d codes", len(CloseCodes))
	}
	for i, c := range CloseCodes {
		if i > 0 && CloseCodes[i-1].Code >= c.Code {
			t.Errorf("table not in order at %v", c.Code)
		}
		if _, ok := want[c.Code]; !ok {
			t.Errorf("code %v has no pinned policy", c.Code)
		}
		if c.Retries != 0 && c.Policy == PolicyFatal {
			t.Errorf("%v: fatal code with retries", c.Code)
		}
	}
	if s := CloseDAVERequired.String(); s != "4017 E2EE/DAVE protocol required" {
		t.Errorf("String = %q", s)
	}
	if (&CloseError{Code: 4017}).Error() != "voice: closed with 4017 E2EE/DAVE protocol required" {
		t.Error((&CloseError{Code: 4017}).Error())
	}
}

func TestIdentifyWireAndRedaction(t *testing.T) {
	id := Identify{ServerID: 41771983423143937, UserID: 104694319306248192, SessionID: "my_session_id",
		Token: "my_token", MaxDAVEProtocolVersion: DAVEProtocolVersion}
	b, err := Encode(OpIdentify, id)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"op":0,"d":{"server_id":"41771983423143937","user_id":"104694319306248192","session_id":"my_session_id","token":"my_token","max_dave_protocol_version":1}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, id); strings.Contains(s, "my_token") {
			t.Errorf("%s leaks the token: %s", verb, s)
		}
		r := Resume{Token: "my_token"}
		if s := fmt.Sprintf(verb, r); strings.Contains(s, "my_token") {
			t.Errorf("%s leaks the token: %s", verb, s)
		}
		sd := SessionDescription{SecretKey: SecretKey{0xAB, 0xCD}}
		if s := fmt.Sprintf(verb, sd); strings.Contains(s, "171") || strings.Contains(s, "ab") {
			t.Errorf("%s leaks the key: %s", verb, s)
		}
	}
}

func TestServerPayloads(t *testing.T) {
	var env Envelope
	in := `{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1234,"modes":["aead_aes256_gcm_rtpsize","aead_xchacha20_poly1305_rtpsize","xsalsa20_poly1305"],"heartbeat_interval":1}}`
	if err := json.Unmarshal([]byte(in), &env); err != nil {
		t.Fatal(err)
	}
	if env.Op != OpReady || env.HasSeq {
		t.Fatalf("env %+v", env)
	}
	var r Ready
	if err := env.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.SSRC != 1 || r.Port != 1234 || len(r.Modes) != 3 {
		t.Fatalf("%+v", r)
	}
	if m, ok := ChooseMode(r.Modes); !ok || m != ModeAES256GCMRTPSize {
		t.Fatal(m)
	}
	if m, ok := ChooseMode([]Mode{"xsalsa20_poly1305", ModeXChaCha20Poly1305RTPSize}); !ok || m != ModeXChaCha20Poly1305RTPSize {
		t.Fatal(m)
	}
	if _, ok := ChooseMode([]Mode{"xsalsa20_poly1305"}); ok {
		t.Fatal("chose a discontinued mode")
	}

	key := make([]string, 32)
	for i := range key {
		key[i] = fmt.Sprint(i * 7)
	}
	in = `{"op":4,"seq":7,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":[` + strings.Join(key, ",") + `],"dave_protocol_version":1,"audio_codec":"opus"}}`
	if err := json.Unmarshal([]byte(in), &env); err != nil {
		t.Fatal(err)
	}
	if !env.HasSeq || env.Seq != 7 {
		t.Fatalf("seq %+v", env)
	}
	var sd SessionDescription
	if err := env.Decode(&sd); err != nil {
		t.Fatal(err)
	}
	if sd.SecretKey[31] != 217 || sd.DAVEProtocolVersion != 1 {
		t.Fatalf("%v", sd.SecretKey[:])
	}
	round, _ := json.Marshal(sd.SecretKey)
	if string(round) != "["+strings.Join(key, ",")+"]" {
		t.Fatalf("key round trip %s", round)
	}
	for _, bad := range []string{`[1,2]`, `"abc"`, `[` + strings.Repeat("1,", 32) + `1]`, `[` + strings.Repeat("1,", 31) + `256]`, `[` + strings.Repeat("1,", 31) + `-1]`} {
		var k SecretKey
		if err := json.Unmarshal([]byte(bad), &k); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"d":1}`), &env); err == nil {
		t.Error("accepted message without op")
	}

	b, _ := EncodeSeq(OpClientsConnect, ClientsConnect{UserIDs: []events.Snowflake{1, 2}}, 0)
	if string(b) != `{"op":11,"d":{"user_ids":["1","2"]},"seq":0}` {
		t.Fatal(string(b))
	}
	b, _ = Encode(OpHeartbeat, Heartbeat{T: 1501184119561, SeqAck: -1})
	if string(b) != `{"op":3,"d":{"t":1501184119561,"seq_ack":-1}}` {
		t.Fatal(string(b))
	}
	b, _ = Encode(OpSpeaking, Speaking{Speaking: SpeakingMicrophone | SpeakingPriority, SSRC: 1})
	if string(b) != `{"op":5,"d":{"speaking":5,"delay":0,"ssrc":1}}` {
		t.Fatal(string(b))
	}
	b, _ = Encode(OpSelectProtocol, SelectProtocol{Protocol: "udp", Data: SelectProtocolData{Address: "127.0.0.1", Port: 1337, Mode: ModeXChaCha20Poly1305RTPSize}})
	if string(b) != `{"op":1,"d":{"protocol":"udp","data":{"address":"127.0.0.1","port":1337,"mode":"aead_xchacha20_poly1305_rtpsize"}}}` {
		t.Fatal(string(b))
	}
	var pe DAVEPrepareEpoch
	if err := json.Unmarshal([]byte(`{"protocol_version":1,"epoch":1,"transition_id":0}`), &pe); err != nil || pe.Epoch != 1 {
		t.Fatal(err, pe)
	}
	var sp Speaking
	if err := json.Unmarshal([]byte(`{"user_id":"80351110224678912","ssrc":99,"speaking":1}`), &sp); err != nil || sp.UserID != 80351110224678912 {
		t.Fatal(err, sp)
	}
	if diff := cmp.Diff(Hello{V: 8, HeartbeatInterval: 13750.5}, func() Hello {
		var h Hello
		_ = json.Unmarshal([]byte(`{"v":8,"heartbeat_interval":13750.5}`), &h)
		return h
	}()); diff != "" {
		t.Fatal(diff)
	}
}
