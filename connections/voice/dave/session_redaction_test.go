package dave

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/connections/voice/mls"
)

// Neither log lines (at debug level) nor errors carry key material: the members' signature
// keys and the sender base secrets of each epoch appear in none of them, raw, hex or base64.
func TestSessionKeysNeverLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	c := newTestCall(t)
	c.log = zap.New(core)
	keys := map[uint64]*ecdsa.PrivateKey{}
	var secrets [][]byte
	join := func(id uint64) {
		k, err := mls.GenerateSignatureKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[id] = k
		s, err := NewSession(SessionConfig{UserID: id, ChannelID: c.channel, SignatureKey: k, Clock: c.clk, Logger: c.log})
		if err != nil {
			t.Fatal(err)
		}
		c.joinWith(id, s)
	}
	collect := func() {
		for _, u := range c.order {
			s := c.session(u)
			s.mu.Lock()
			for _, v := range c.order {
				if s.group != nil {
					ctx := SenderContext(v)
					b, _ := s.group.Export(ExporterLabel, ctx[:], KeyLen)
					secrets = append(secrets, b)
				}
			}
			s.mu.Unlock()
		}
	}
	join(1)
	join(2)
	c.run()
	collect()
	c.corrupt[2] = true
	join(3)
	c.run()
	collect()
	c.leave(1)
	c.run()
	collect()
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	var text strings.Builder
	for _, e := range logs.All() {
		fmt.Fprintf(&text, "%s %v\n", e.Message, e.ContextMap())
	}
	for _, errs := range c.errs {
		for _, err := range errs {
			fmt.Fprintf(&text, "%v %+v\n", err, err)
		}
	}
	all := text.String()
	var forbidden [][]byte
	for _, k := range keys {
		d, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		forbidden = append(forbidden, d)
	}
	forbidden = append(forbidden, secrets...)
	for _, f := range forbidden {
		for _, form := range []string{string(f), hex.EncodeToString(f), base64.StdEncoding.EncodeToString(f), fmt.Sprint(f)} {
			if strings.Contains(all, form) {
				t.Fatalf("key material in logs or errors: %q", form)
			}
		}
	}
	if !bytes.Contains([]byte(all), []byte("invalid commit")) {
		t.Fatal("the corrupted commit left no trace to check")
	}
}
