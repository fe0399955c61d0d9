package connections

import (
	"bytes"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		in   string
		kind inKind
		bad  bool
	}{
		{`{"op":10,"d":{"heartbeat_interval":41250}}`, inHello, false},
		{`{"op":10,"d":{"heartbeat_interval":0}}`, inCorrupt, true},
		{`{"op":10,"d":null}`, inCorrupt, true},
		{`{"op":11}`, inAck, false},
		{`{"op":1,"d":null}`, inHeartbeatRequest, false},
		{`{"op":7,"d":null}`, inReconnect, false},
		{`{"op":9,"d":true}`, inInvalidSession, false},
		{`{"t":"MESSAGE_CREATE","s":3,"op":0,"d":{"a":1}}`, inDispatch, false},
		{`{"op":42,"d":{}}`, inIgnore, false},
		{`not json`, inIgnore, true},
	}
	for _, c := range cases {
		env, m, err := classify([]byte(c.in))
		if m.kind != c.kind || (err != nil) != c.bad {
			t.Errorf("%s: kind %d err %v, want kind %d bad %v", c.in, m.kind, err, c.kind, c.bad)
		}
		if m.kind == inHello && m.interval != 41250*time.Millisecond {
			t.Errorf("interval %v", m.interval)
		}
		if m.kind == inDispatch && (env.S != 3 || env.T != "MESSAGE_CREATE" || string(env.D) != `{"a":1}`) {
			t.Errorf("dispatch %+v", env)
		}
	}
	if _, m, _ := classify([]byte(`{"op":9,"d":false}`)); m.resumable {
		t.Error("op 9 false is resumable")
	}
	if _, m, _ := classify([]byte(`{"op":9,"d":"yes"}`)); m.resumable {
		t.Error("op 9 with garbage is resumable")
	}
}

// FuzzClassify: whatever the gateway sends, the reader gets a decision or an error, never a
// panic, and a dispatch's data lies within the message.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		`{"op":10,"d":{"heartbeat_interval":41250}}`, `{"op":11}`, `{"op":9,"d":true}`,
		`{"t":"READY","s":1,"op":0,"d":{"session_id":"x"}}`, `{"op":0,"d":{},"s":5,"t":"X"}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		env, m, err := classify(msg)
		if err != nil && m.kind != inIgnore && m.kind != inCorrupt {
			t.Fatalf("error %v with kind %d", err, m.kind)
		}
		if m.kind == inDispatch && len(env.D) > 0 && !bytes.Contains(msg, env.D) {
			t.Fatalf("D %q not inside the message", env.D)
		}
		if m.kind == inHello && m.interval <= 0 {
			t.Fatalf("hello with interval %v", m.interval)
		}
	})
}

func TestReadMessageReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	got, err := readMessage(buf, bytes.NewReader([]byte("hello gateway")))
	if err != nil || string(got) != "hello gateway" || &got[0] != &buf[:1][0] {
		t.Fatalf("got %q, %v (reused %v)", got, err, &got[0] == &buf[:1][0])
	}
	big := bytes.Repeat([]byte("x"), 3<<20)
	got, err = readMessage(got, bytes.NewReader(big))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("big message: %d bytes, %v", len(got), err)
	}
	got, _ = readMessage(got, bytes.NewReader([]byte("small")))
	if cap(got) > 1<<20 {
		t.Fatalf("a 3 MiB buffer stayed pinned (cap %d)", cap(got))
	}
}
