package daveserver

import (
	"bytes"
	"testing"
	"time"

	"github.com/cordage/cordage/events/voice"
)

func TestFaultCorruptCommit(t *testing.T) {
	h := newHarness(t)
	h.join(1)
	h.sendKP(1)
	h.join(2)
	h.sendKP(2)
	h.s.SetFaults(Faults{CorruptCommits: 1})
	p := h.commitPayload(1, 0, 0)
	outs, err := h.s.HandleBinary(1, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	ann := find(outs, voice.OpDAVEMLSAnnounceCommit, 1)
	tr, _ := voice.ParseTransition(ann[0].Binary)
	commitLen := len(tr.Data)
	if bytes.Equal(tr.Data, p[:commitLen]) || !bytes.Equal(tr.Data[:commitLen-1], p[:commitLen-1]) {
		t.Fatal("announced commit is not the submitted one with its last byte changed")
	}
	if h.s.Faults().CorruptCommits != 0 {
		t.Fatal("fault counter not consumed")
	}
}

func TestFaultForeignSender(t *testing.T) {
	h := newHarness(t)
	h.s.SetFaults(Faults{ForeignSenders: 1})
	a := h.join(1)
	b := h.join(2)
	if bytes.Equal(a[0].Binary, h.s.ExternalSender()) {
		t.Fatal("first op 25 carries the server's own key")
	}
	if _, err := voice.ParseExternalSender(a[0].Binary); err != nil {
		t.Fatalf("foreign op 25 malformed: %v", err)
	}
	if !bytes.Equal(b[0].Binary, h.s.ExternalSender()) {
		t.Fatal("second op 25 is not the server's")
	}
}

func TestFaultStaleEpoch(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2)
	h.s.SetFaults(Faults{StaleEpochs: 1})
	h.join(3)
	h.sendKP(3)
	if q := h.clients[1].queue; len(q) != 1 || q[0].epoch != h.s.Epoch()-1 {
		t.Fatalf("queue %+v, want the previous epoch %d", q, h.s.Epoch()-1)
	}
}

func TestFaultIgnoreReady(t *testing.T) {
	h := newHarness(t)
	h.s.SetFaults(Faults{IgnoreReady: true})
	h.join(1)
	h.sendKP(1)
	h.join(2)
	h.sendKP(2)
	h.mustCommit(1, 0, 0)
	if outs := h.readyAll(1, 2); len(outs) != 0 {
		t.Fatalf("execute despite IgnoreReady: %v", outs)
	}
	h.clk.Advance(2 * time.Second)
	if outs := h.s.Tick(); len(find(outs, voice.OpDAVEExecuteTransition, 1)) != 1 {
		t.Fatalf("no execute at the timeout: %v", outs)
	}
}

func TestFaultForceDowngrade(t *testing.T) {
	h := newHarness(t)
	h.establish(1, 2)
	h.s.SetFaults(Faults{ForceDowngrade: true})
	outs := h.s.Tick()
	if p := find(outs, voice.OpDAVEPrepareTransition, 1); len(p) != 1 || p[0].JSON.(voice.DAVEPrepareTransition).ProtocolVersion != 0 {
		t.Fatalf("tick with ForceDowngrade sent %v", outs)
	}
	if h.s.Faults().ForceDowngrade {
		t.Fatal("ForceDowngrade not consumed")
	}
	h.clk.Advance(2 * time.Second)
	h.s.Tick()
	if h.s.ProtocolVersion() != 0 {
		t.Fatal("downgrade not executed after the timeout")
	}
}
