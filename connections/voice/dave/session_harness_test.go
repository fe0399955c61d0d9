package dave

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/connections/voice/mls"
	"github.com/cordage/cordage/events/voice"
)

// testCall stands in for Discord's voice gateway in its MLS delivery-service role: the external
// sender (op 25), external Add/Remove proposals (op 27), the first valid commit per epoch wins
// (op 29), welcomes to the added members (op 30), ready/execute (ops 23/22), invalid-commit
// re-adds (op 31), sole-member reset and protocol transitions. Everything runs on one goroutine:
// deliveries wait in a FIFO and the replies of each are handled before the next one, so every
// test is deterministic.
type testCall struct {
	t       testing.TB
	clk     *clock.Manual
	channel uint64
	groupID []byte
	ext     *mls.Signer
	op25    []byte
	seq     uint16

	members map[uint64]*testMember
	order   []uint64 // connection order

	established bool
	epoch       uint64
	leaves      []uint64            // user per leaf, 0 = blank
	props       map[string]testProp // unrevoked proposals of the epoch, by ref
	sentTo      map[uint64][][]byte // refs each member was sent this epoch
	inflight    map[uint64]testProp // initial group creation: the Add of each pending member
	kps         map[uint64][]byte   // key packages not yet added
	readd       map[uint64]bool     // flagged op 31: remove the old leaf with the next add
	ready       map[uint16]map[uint64]bool
	nextTID     uint16
	announced   [][]byte
	commits     int      // op 28 received
	winners     []uint64 // committer of each announced commit

	// Fault and ordering knobs.
	corrupt      map[uint64]bool         // corrupt the next announced commit for these users
	hold         bool                    // drop every commit (proposals pile up; tests revoke)
	welcomeFirst bool                    // send the welcomes before the announce
	commitOrder  func([]uint64) []uint64 // order in which members get an op 27
	version      int

	queue []func()
	// record, when set, sees every binary message the gateway sends (fuzz seeds).
	record func(to uint64, wire []byte)
	errs   map[uint64][]error
	log    *zap.Logger
}

type testProp struct {
	ref    []byte
	msg    []byte
	add    uint64 // user added, or 0
	remove uint32 // leaf removed (when add == 0)
}

type testMember struct {
	id uint64
	s  *Session
}

func newTestCall(t testing.TB) *testCall {
	t.Helper()
	key, err := mls.GenerateSignatureKey()
	if err != nil {
		t.Fatal(err)
	}
	ext, err := mls.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	op25, err := voice.ExternalSender{SignatureKey: ext.PublicKey(), Identity: []byte("voice-gateway")}.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCall{
		t: t, clk: clock.NewManual(time.Unix(1_700_000_000, 0)), channel: 1234567890123,
		ext: ext, op25: op25,
		members: map[uint64]*testMember{}, props: map[string]testProp{}, sentTo: map[uint64][][]byte{},
		inflight: map[uint64]testProp{}, kps: map[uint64][]byte{}, readd: map[uint64]bool{},
		ready: map[uint16]map[uint64]bool{}, nextTID: 1, corrupt: map[uint64]bool{},
		errs: map[uint64][]error{}, version: 1,
		log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	}
	c.groupID = []byte{0, 0, 1, 0x1f, 0x71, 0xfb, 0x04, 0xcb} // big-endian 1234567890123
	return c
}

// deliver queues a message to one member; replies go to the gateway.
func (c *testCall) deliver(id uint64, f func(*Session) ([]Message, error)) {
	c.queue = append(c.queue, func() {
		m := c.members[id]
		if m == nil {
			return // left meanwhile
		}
		msgs, err := f(m.s)
		if err != nil {
			c.errs[id] = append(c.errs[id], err)
		}
		for _, msg := range msgs {
			c.fromClient(id, msg)
		}
	})
}

func (c *testCall) binary(id uint64, op voice.Op, payload []byte) {
	c.seq++
	wire := voice.AppendServerBinary(nil, c.seq, op, payload)
	if c.record != nil {
		c.record(id, wire)
	}
	c.deliver(id, func(s *Session) ([]Message, error) {
		m, err := voice.ParseServerBinary(wire)
		if err != nil {
			return nil, err
		}
		return s.HandleBinary(m)
	})
}

func (c *testCall) json(id uint64, op voice.Op, d any) {
	b, err := json.Marshal(d)
	if err != nil {
		c.t.Fatal(err)
	}
	c.deliver(id, func(s *Session) ([]Message, error) { return s.HandleJSON(op, b) })
}

// run delivers until nothing is in flight.
func (c *testCall) run() {
	c.t.Helper()
	if !c.runFor(10000) {
		c.t.Fatal("delivery loop does not settle")
	}
}

// runFor delivers at most n messages and reports whether nothing is left in flight.
func (c *testCall) runFor(n int) bool {
	for ; n > 0 && len(c.queue) > 0; n-- {
		f := c.queue[0]
		c.queue = c.queue[1:]
		f()
	}
	return len(c.queue) == 0
}

func (c *testCall) session(id uint64) *Session { return c.members[id].s }

// join connects a user: clients-connect both ways, session description (version), op 25.
func (c *testCall) join(id uint64) *Session {
	c.t.Helper()
	s, err := NewSession(SessionConfig{UserID: id, ChannelID: c.channel, Clock: c.clk, Logger: c.log.With(zap.Uint64("member", id))})
	if err != nil {
		c.t.Fatal(err)
	}
	c.joinWith(id, s)
	return s
}

// joinWith connects a user whose session the test made.
func (c *testCall) joinWith(id uint64, s *Session) {
	for _, other := range c.order {
		c.deliver(other, func(s *Session) ([]Message, error) { s.ClientsConnect([]uint64{id}); return nil, nil })
	}
	c.members[id] = &testMember{id: id, s: s}
	c.order = append(c.order, id)
	all := slices.Clone(c.order)
	c.deliver(id, func(s *Session) ([]Message, error) { s.ClientsConnect(all); return nil, nil })
	v := c.version
	c.deliver(id, func(s *Session) ([]Message, error) { return s.SetProtocolVersion(v) })
	c.binary(id, voice.OpDAVEMLSExternalSender, c.op25)
}

// leave disconnects a user: client-disconnect, then a Remove (or a revoke of its pending Add),
// or the sole-member reset when one member would be left.
func (c *testCall) leave(id uint64) {
	c.t.Helper()
	delete(c.members, id)
	c.order = slices.DeleteFunc(c.order, func(u uint64) bool { return u == id })
	delete(c.kps, id)
	delete(c.inflight, id)
	for _, other := range c.order {
		c.deliver(other, func(s *Session) ([]Message, error) { s.ClientDisconnect(id); return nil, nil })
	}
	for tid, waiting := range c.ready {
		delete(waiting, id)
		c.maybeExecute(tid)
	}
	// A pending add of the user is revoked.
	for key, p := range c.props {
		if p.add == id {
			delete(c.props, key)
			c.broadcastGroup(voice.Proposals{Op: voice.ProposalsRevoke, Refs: [][]byte{p.ref}}, nil, 0)
		}
	}
	leaf := slices.Index(c.leaves, id)
	if !c.established || leaf < 0 {
		return
	}
	if remaining := c.holders(); len(remaining) == 2 {
		// Sole member reset: the gateway forgets the group; the last member starts over.
		sole := remaining[0]
		if sole == id {
			sole = remaining[1]
		}
		c.resetGroup()
		c.json(sole, voice.OpDAVEPrepareEpoch, voice.DAVEPrepareEpoch{ProtocolVersion: 1, Epoch: 1})
		c.json(sole, voice.OpDAVEPrepareTransition, voice.DAVEPrepareTransition{ProtocolVersion: 1, TransitionID: 0})
		return
	}
	c.propose(mls.Proposal{Type: mls.ProposalTypeRemove, Remove: uint32(leaf)}, 0, id)
}

func (c *testCall) resetGroup() {
	c.established, c.epoch, c.leaves = false, 0, nil
	clear(c.props)
	clear(c.sentTo)
	clear(c.inflight)
	clear(c.kps)
}

// holders are the connected users that hold a leaf.
func (c *testCall) holders() []uint64 {
	var out []uint64
	for _, u := range c.leaves {
		if u != 0 {
			out = append(out, u)
		}
	}
	return out
}

// propose frames one external proposal at the gateway's epoch and sends it to the group
// members except skip.
func (c *testCall) propose(p mls.Proposal, add, skip uint64) {
	c.t.Helper()
	msg, err := mls.ExternalProposal(c.ext, 0, c.groupID, c.epoch, &p)
	if err != nil {
		c.t.Fatal(err)
	}
	ref, err := mls.ProposalRef(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	tp := testProp{ref: ref, msg: msg, add: add, remove: p.Remove}
	c.props[string(ref)] = tp
	c.broadcastGroup(voice.Proposals{Op: voice.ProposalsAppend, Messages: msg}, [][]byte{ref}, skip)
}

// broadcastGroup sends an op 27 to every group member but skip, in commitOrder.
func (c *testCall) broadcastGroup(p voice.Proposals, refs [][]byte, skip uint64) {
	var to []uint64
	for _, u := range c.holders() {
		if u != skip && c.members[u] != nil {
			to = append(to, u)
		}
	}
	c.sendProposals(to, p, refs)
}

func (c *testCall) sendProposals(to []uint64, p voice.Proposals, refs [][]byte) {
	payload, err := p.AppendTo(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.commitOrder != nil {
		to = c.commitOrder(slices.Clone(to))
	}
	for _, u := range to {
		if p.Op == voice.ProposalsAppend {
			c.sentTo[u] = append(c.sentTo[u], refs...)
		} else {
			c.sentTo[u] = slices.DeleteFunc(c.sentTo[u], func(r []byte) bool {
				return slices.ContainsFunc(p.Refs, func(x []byte) bool { return bytes.Equal(x, r) })
			})
		}
		c.binary(u, voice.OpDAVEMLSProposals, payload)
	}
}

func (c *testCall) fromClient(id uint64, m Message) {
	c.t.Helper()
	switch m.Op {
	case voice.OpDAVEMLSKeyPackage:
		c.keyPackage(id, m.Binary)
	case voice.OpDAVEMLSCommitWelcome:
		c.commitWelcome(id, m.Binary)
	case voice.OpDAVEReadyForTransition:
		tid := m.JSON.(voice.DAVEReadyForTransition).TransitionID
		if w := c.ready[tid]; w != nil {
			delete(w, id)
			c.maybeExecute(tid)
		}
	case voice.OpDAVEMLSInvalidCommitWelcome:
		tid := m.JSON.(voice.DAVEInvalidCommitWelcome).TransitionID
		if w := c.ready[tid]; w != nil {
			delete(w, id)
			c.maybeExecute(tid)
		}
		c.readd[id] = true
	default:
		c.t.Fatalf("client %d sent op %v", id, m.Op)
	}
}

func (c *testCall) keyPackage(id uint64, b []byte) {
	c.t.Helper()
	kp, err := mls.DecodeKeyPackage(b)
	if err != nil {
		c.t.Fatalf("key package of %d: %v", id, err)
	}
	if err := kp.Verify(uint64(c.clk.Now().Unix())); err != nil {
		c.t.Fatalf("key package of %d: %v", id, err)
	}
	p := mls.Proposal{Type: mls.ProposalTypeAdd, Add: kp}
	if c.established {
		if c.readd[id] {
			delete(c.readd, id)
			if leaf := slices.Index(c.leaves, id); leaf >= 0 {
				c.propose(mls.Proposal{Type: mls.ProposalTypeRemove, Remove: uint32(leaf)}, 0, id)
			}
		}
		c.kps[id] = b
		c.propose(p, id, id)
		return
	}
	// Initial group creation: every pending member gets the Add of every other one.
	msg, err := mls.ExternalProposal(c.ext, 0, c.groupID, 0, &p)
	if err != nil {
		c.t.Fatal(err)
	}
	ref, _ := mls.ProposalRef(msg)
	mine := testProp{ref: ref, msg: msg, add: id}
	var others []uint64
	for u, tp := range c.inflight {
		if u == id {
			continue
		}
		others = append(others, u)
		payload := voice.Proposals{Op: voice.ProposalsAppend, Messages: tp.msg}
		c.sendProposals([]uint64{id}, payload, [][]byte{tp.ref})
	}
	slices.Sort(others)
	c.inflight[id] = mine
	c.sendProposals(others, voice.Proposals{Op: voice.ProposalsAppend, Messages: msg}, [][]byte{ref})
}

func (c *testCall) commitWelcome(id uint64, b []byte) {
	c.t.Helper()
	c.commits++
	if c.hold {
		return
	}
	m, n, err := mls.ReadMLSMessage(b)
	if err != nil || m.Public == nil || m.Public.Content.Commit == nil {
		c.t.Fatalf("op 28 of %d: %v", id, err)
	}
	if m.Public.Content.Epoch != c.epoch {
		return // stale
	}
	commit, welcome := b[:n], b[n:]
	var refs [][]byte
	for _, p := range m.Public.Content.Commit.Proposals {
		if p.Reference == nil {
			c.t.Fatalf("op 28 of %d: inline proposal", id)
		}
		refs = append(refs, p.Reference)
	}
	// Valid only if it references exactly the proposals this member was sent this epoch.
	sent := c.sentTo[id]
	if len(refs) != len(sent) || slices.ContainsFunc(refs, func(r []byte) bool {
		return !slices.ContainsFunc(sent, func(x []byte) bool { return bytes.Equal(x, r) })
	}) {
		return
	}
	// The winner: the gateway's view of the leaves moves on.
	var added []uint64
	if !c.established {
		c.leaves = []uint64{id}
		for _, r := range refs {
			for _, tp := range c.inflight {
				if bytes.Equal(tp.ref, r) {
					added = append(added, tp.add)
				}
			}
		}
	} else {
		var removes []uint32
		for _, r := range refs {
			tp := c.props[string(r)]
			if tp.add != 0 {
				added = append(added, tp.add)
			} else {
				removes = append(removes, tp.remove)
			}
		}
		for _, l := range removes {
			c.leaves[l] = 0
		}
		for len(c.leaves) > 0 && c.leaves[len(c.leaves)-1] == 0 {
			c.leaves = c.leaves[:len(c.leaves)-1]
		}
	}
	for _, u := range added {
		if i := slices.Index(c.leaves, 0); i >= 0 {
			c.leaves[i] = u
		} else {
			c.leaves = append(c.leaves, u)
		}
		delete(c.kps, u)
	}
	if (len(welcome) > 0) != (len(added) > 0) {
		c.t.Fatalf("op 28 of %d: welcome present %v with %d adds", id, len(welcome) > 0, len(added))
	}
	c.established = true
	c.epoch++
	clear(c.props)
	clear(c.sentTo)
	clear(c.inflight)
	tid := c.nextTID
	c.nextTID++
	c.announced = append(c.announced, commit)
	c.winners = append(c.winners, id)
	waiting := map[uint64]bool{}
	for _, u := range c.holders() {
		waiting[u] = true
	}
	c.ready[tid] = waiting
	welcomes := func() {
		for _, u := range added {
			c.binary(u, voice.OpDAVEMLSWelcome, voice.Transition{TransitionID: tid, Data: welcome}.AppendTo(nil))
		}
	}
	if c.welcomeFirst {
		welcomes()
	}
	for _, u := range c.order {
		data := commit
		if c.corrupt[u] {
			delete(c.corrupt, u)
			data = slices.Clone(commit)
			data[len(data)-5] ^= 0x40 // inside the membership tag
		}
		c.binary(u, voice.OpDAVEMLSAnnounceCommit, voice.Transition{TransitionID: tid, Data: data}.AppendTo(nil))
	}
	if !c.welcomeFirst {
		welcomes()
	}
}

func (c *testCall) maybeExecute(tid uint16) {
	if w, ok := c.ready[tid]; ok && len(w) == 0 {
		delete(c.ready, tid)
		for _, u := range c.order {
			c.json(u, voice.OpDAVEExecuteTransition, voice.DAVEExecuteTransition{TransitionID: tid})
		}
	}
}

// transition announces a protocol version change (op 21) to everyone and executes it once all
// are ready.
func (c *testCall) transition(version int) {
	tid := c.nextTID
	c.nextTID++
	waiting := map[uint64]bool{}
	for _, u := range c.order {
		waiting[u] = true
		c.json(u, voice.OpDAVEPrepareTransition, voice.DAVEPrepareTransition{ProtocolVersion: version, TransitionID: tid})
	}
	c.ready[tid] = waiting
}

// upgrade re-creates the group at version 1 (op 24 with epoch 1 to everyone).
func (c *testCall) upgrade() {
	c.version = 1
	c.resetGroup()
	for _, u := range c.order {
		c.json(u, voice.OpDAVEPrepareEpoch, voice.DAVEPrepareEpoch{ProtocolVersion: 1, Epoch: 1, TransitionID: 0})
	}
}

// check asserts that every member holding a leaf agrees with the gateway and with each other:
// epoch, members in leaf order, epoch authenticator and privacy code.
func (c *testCall) check() {
	c.t.Helper()
	var want []uint64
	for _, u := range c.leaves {
		if u != 0 {
			want = append(want, u)
		}
	}
	var auth []byte
	var code string
	for _, u := range want {
		s := c.session(u)
		if s.Epoch() != c.epoch {
			c.t.Fatalf("member %d at epoch %d, gateway at %d", u, s.Epoch(), c.epoch)
		}
		if got := s.Members(); !slices.Equal(got, want) {
			c.t.Fatalf("member %d sees %v, gateway %v", u, got, want)
		}
		a := s.EpochAuthenticator()
		if auth == nil {
			auth, code = a, s.PrivacyCode()
		} else if !bytes.Equal(a, auth) || s.PrivacyCode() != code {
			c.t.Fatalf("member %d has another epoch authenticator", u)
		}
		if s.ProtocolVersion() != 1 {
			c.t.Fatalf("member %d at protocol version %d", u, s.ProtocolVersion())
		}
	}
	if len(code) != 30 {
		c.t.Fatalf("privacy code %q", code)
	}
}

// exchange has every member encrypt a frame and every other member decrypt it.
func (c *testCall) exchange() {
	c.t.Helper()
	for _, from := range c.order {
		opus := []byte(fmt.Sprintf("opus frame from %d at epoch %d", from, c.epoch))
		frame, err := c.session(from).Encrypt(nil, opus)
		if err != nil {
			c.t.Fatalf("member %d encrypt: %v", from, err)
		}
		if bytes.Equal(frame, opus) {
			c.t.Fatalf("member %d sent its frame in clear", from)
		}
		for _, to := range c.order {
			if to == from {
				continue
			}
			got, err := c.session(to).Decrypt(from, nil, frame)
			if err != nil {
				c.t.Fatalf("member %d decrypting %d: %v", to, from, err)
			}
			if !bytes.Equal(got, opus) {
				c.t.Fatalf("member %d decrypted %q from %d", to, got, from)
			}
		}
	}
}

// noErrors asserts no member got an error from the session.
func (c *testCall) noErrors() {
	c.t.Helper()
	for u, errs := range c.errs {
		if len(errs) > 0 {
			c.t.Fatalf("member %d: %v", u, errors.Join(errs...))
		}
	}
}
