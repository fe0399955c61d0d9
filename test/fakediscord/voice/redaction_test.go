package voicesim

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cordage/cordage/events/voice"
)

// TestTokensAndKeysNeverLogged runs a call at debug level, with refused identifies, DAVE messages
// the DAVE server refuses, a resume and close codes, and checks that no log line holds a voice
// token or a transport key (as text, hex or the JSON array of numbers).
func TestTokensAndKeysNeverLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	srv := newServer(t, WithLogger(zap.New(core)))
	a := newClient(t, srv, 10)
	a.join(1, voice.ModeAES256GCMRTPSize)
	a.sendBinary(voice.OpDAVEMLSKeyPackage, []byte{1, 2, 3})
	kp, _ := keyPackage(t, 10)
	a.sendBinary(voice.OpDAVEMLSKeyPackage, kp)
	b := newClient(t, srv, 20)
	b.join(1, voice.ModeXChaCha20Poly1305RTPSize)
	bad := newClient(t, srv, 30)
	bad.token = a.token
	bad.identify(1)
	bad.expectClose()
	_ = srv.Faults().Drop(10)
	a.expectClose()
	a.close()
	a.dial()
	a.resume(0)
	a.expect(voice.OpResumed)
	_ = srv.Faults().Close(20, voice.CloseAuthenticationFailed)
	b.expectClose()
	srv.Leave(1, 10)
	a.expectClose()
	waitLedger(t, srv, func(l *Ledger) bool { return len(l.Calls) == 0 })

	secrets := []string{a.token, b.token}
	for _, k := range []voice.SecretKey{a.desc.SecretKey, b.desc.SecretKey} {
		js, _ := k.MarshalJSON()
		secrets = append(secrets, hex.EncodeToString(k[:]), string(js), string(k[:]), fmt.Sprint(k[:]))
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines: the test checks nothing")
	}
	for _, e := range logs.All() {
		var line bytes.Buffer
		line.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			fmt.Fprintf(&line, " %s=%v", k, v)
		}
		for _, s := range secrets {
			if strings.Contains(line.String(), s) {
				t.Fatalf("log line leaks a secret: %s", line.String())
			}
		}
	}
}
