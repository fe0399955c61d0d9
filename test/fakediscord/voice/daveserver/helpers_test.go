package daveserver

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cordage/cordage/clock"
	"github.com/cordage/cordage/events/voice"
)

// The test side writes and reads MLS structures with its own small encoder, apart from the
// package's, so that a mistake in one shows up against the other.

type enc struct{ b []byte }

func (e *enc) u8(v uint8) *enc   { e.b = append(e.b, v); return e }
func (e *enc) u16(v uint16) *enc { e.b = binary.BigEndian.AppendUint16(e.b, v); return e }
func (e *enc) u32(v uint32) *enc { e.b = binary.BigEndian.AppendUint32(e.b, v); return e }
func (e *enc) u64(v uint64) *enc { e.b = binary.BigEndian.AppendUint64(e.b, v); return e }
func (e *enc) raw(p []byte) *enc { e.b = append(e.b, p...); return e }

// vec writes an opaque<V>: RFC 9420 §2.1.2 varint length, then the bytes.
func (e *enc) vec(p []byte) *enc {
	switch n := len(p); {
	case n < 64:
		e.b = append(e.b, byte(n))
	case n < 16384:
		e.b = append(e.b, 0x40|byte(n>>8), byte(n))
	default:
		e.b = append(e.b, 0x80|byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	e.b = append(e.b, p...)
	return e
}

func u16s(vs ...uint16) []byte {
	e := &enc{}
	for _, v := range vs {
		e.u16(v)
	}
	return e.b
}

func tSign(t testing.TB, key *ecdsa.PrivateKey, label string, content []byte) []byte {
	t.Helper()
	h := sha256.Sum256((&enc{}).vec([]byte("MLS 1.0 " + label)).vec(content).b)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func tVerify(key *ecdsa.PublicKey, label string, content, sig []byte) bool {
	h := sha256.Sum256((&enc{}).vec([]byte("MLS 1.0 " + label)).vec(content).b)
	return ecdsa.VerifyASN1(key, h[:], sig)
}

func tRef(label string, value []byte) []byte {
	h := sha256.Sum256((&enc{}).vec([]byte(label)).vec(value).b)
	return h[:]
}

func newSigKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func point(t testing.TB) []byte {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey().Bytes()
}

func sigPub(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kpSpec describes a key package to build; the zero changes give what libdave and davey send.
type kpSpec struct {
	user                uint64
	sig                 *ecdsa.PrivateKey
	identity            []byte // nil: user as big-endian u64
	credType            uint16 // 0: basic
	suite               uint16 // 0: 2
	versions            []uint16
	suites              []uint16
	creds               []uint16
	capExts             []uint16
	leafExts            []uint16
	notBefore, notAfter uint64
	sameInitKey         bool
	badLeafSig          bool
	badKPSig            bool
	kpExt               bool
}

func defaultKP(user uint64, sig *ecdsa.PrivateKey) kpSpec {
	return kpSpec{user: user, sig: sig, versions: []uint16{1}, suites: []uint16{2}, creds: []uint16{1}, notAfter: math.MaxUint64}
}

func makeKeyPackage(t testing.TB, s kpSpec) []byte {
	t.Helper()
	encKey := point(t)
	initKey := point(t)
	if s.sameInitKey {
		initKey = encKey
	}
	id := s.identity
	if id == nil {
		id = binary.BigEndian.AppendUint64(nil, s.user)
	}
	credType := s.credType
	if credType == 0 {
		credType = 1
	}
	leaf := (&enc{}).vec(encKey).vec(sigPub(t, s.sig)).u16(credType).vec(id)
	leaf.vec(u16s(s.versions...)).vec(u16s(s.suites...)).vec(u16s(s.capExts...)).vec(nil).vec(u16s(s.creds...))
	leaf.u8(1).u64(s.notBefore).u64(s.notAfter)
	exts := &enc{}
	for _, x := range s.leafExts {
		exts.u16(x).vec([]byte{1, 2, 3})
	}
	leaf.vec(exts.b)
	leafSig := tSign(t, s.sig, "LeafNodeTBS", leaf.b)
	if s.badLeafSig {
		leafSig = tSign(t, s.sig, "LeafNodeTBS", append(slices.Clone(leaf.b), 0))
	}
	leaf.vec(leafSig)

	suite := s.suite
	if suite == 0 {
		suite = 2
	}
	kp := (&enc{}).u16(1).u16(suite).vec(initKey).raw(leaf.b)
	if s.kpExt {
		kp.vec((&enc{}).u16(0xff00).vec([]byte("x")).b)
	} else {
		kp.vec(nil)
	}
	kpSig := tSign(t, s.sig, "KeyPackageTBS", kp.b)
	if s.badKPSig {
		kpSig = tSign(t, s.sig, "KeyPackageTBS", kp.b[1:])
	}
	return kp.vec(kpSig).b
}

// commitSpec describes an op 28 commit to build.
type commitSpec struct {
	groupID    []byte
	epoch      uint64
	leaf       uint32
	refs       [][]byte
	path       bool
	pathUser   uint64
	pathSig    []byte // the path leaf's signature key
	senderType uint8  // 0: member
	inline     bool
}

func makeCommit(t testing.TB, c commitSpec) []byte {
	t.Helper()
	st := c.senderType
	if st == 0 {
		st = 1
	}
	props := &enc{}
	for _, r := range c.refs {
		props.u8(2).vec(r)
	}
	if c.inline {
		props.u8(1).u16(3).u32(0)
	}
	m := (&enc{}).u16(1).u16(1).vec(c.groupID).u64(c.epoch).u8(st).u32(c.leaf).vec(nil).u8(3).vec(props.b)
	if c.path {
		leaf := (&enc{}).vec(point(t)).vec(c.pathSig).u16(1).vec(binary.BigEndian.AppendUint64(nil, c.pathUser))
		leaf.vec(u16s(1)).vec(u16s(2)).vec(nil).vec(nil).vec(u16s(1))
		leaf.u8(3).vec(bytes.Repeat([]byte{7}, 32)).vec(nil).vec(bytes.Repeat([]byte{9}, 70))
		node := (&enc{}).vec(point(t)).vec((&enc{}).vec(point(t)).vec(bytes.Repeat([]byte{5}, 48)).b)
		m.u8(1).raw(leaf.b).vec(node.b)
	} else {
		m.u8(0)
	}
	m.vec(bytes.Repeat([]byte{0x30}, 71)) // signature (not checked by the server)
	m.vec(bytes.Repeat([]byte{0xc1}, 32)) // confirmation tag
	m.vec(bytes.Repeat([]byte{0xa7}, 32)) // membership tag
	return m.b
}

// makeWelcome builds a Welcome with one EncryptedGroupSecrets per ref.
func makeWelcome(refs ...[]byte) []byte {
	secrets := &enc{}
	for i, r := range refs {
		secrets.vec(r).vec(bytes.Repeat([]byte{byte(i + 1)}, 65)).vec(bytes.Repeat([]byte{0xee}, 40))
	}
	return (&enc{}).u16(2).vec(secrets.b).vec(bytes.Repeat([]byte{0x61}, 120)).b
}

// gotProposal is one proposal a fake client took from op 27, read by the test-side parser.
type gotProposal struct {
	groupID []byte
	epoch   uint64
	add     bool
	kp      []byte
	removed uint32
	ref     []byte
}

// fakeClient is the test's stand-in for a DAVE client: a signature key, its key package and
// the proposals queued from op 27.
type fakeClient struct {
	id    uint64
	sig   *ecdsa.PrivateKey
	kp    []byte
	queue []gotProposal
}

// harness drives a Server and delivers its output to fake clients.
type harness struct {
	t       *testing.T
	s       *Server
	clk     *clock.Manual
	pub     *ecdsa.PublicKey
	clients map[uint64]*fakeClient
	inbox   map[uint64][]Out
	known   [][]byte // every key package built, so the parser can find where an Add's ends
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	s, err := New(Config{Clock: clk, ProtocolVersion: 1, ChannelID: 1234567890123, ExecuteTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	es, err := voice.ParseExternalSender(s.ExternalSender())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), es.SignatureKey)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, s: s, clk: clk, pub: pub, clients: map[uint64]*fakeClient{}, inbox: map[uint64][]Out{}}
}

func (h *harness) groupID() []byte { return binary.BigEndian.AppendUint64(nil, 1234567890123) }

// deliver hands each Out to its recipients; op 27 goes into the fake clients' queues after
// the test-side parser checked it.
func (h *harness) deliver(outs []Out) {
	h.t.Helper()
	for _, o := range outs {
		to := o.To
		if to == nil {
			for id := range h.clients {
				to = append(to, id)
			}
		}
		for _, u := range to {
			h.inbox[u] = append(h.inbox[u], o)
			c := h.clients[u]
			if c == nil {
				h.t.Fatalf("out %s to unknown user %d", o.Op, u)
			}
			switch o.Op {
			case voice.OpDAVEMLSProposals:
				p, err := voice.ParseProposals(o.Binary)
				if err != nil {
					h.t.Fatalf("op 27 to %d: %v", u, err)
				}
				if p.Op == voice.ProposalsRevoke {
					for _, r := range p.Refs {
						i := slices.IndexFunc(c.queue, func(g gotProposal) bool { return bytes.Equal(g.ref, r) })
						if i < 0 {
							h.t.Fatalf("user %d: revoke of a ref it does not hold", u)
						}
						c.queue = slices.Delete(c.queue, i, i+1)
					}
					continue
				}
				c.queue = append(c.queue, h.parseProposals(p.Messages)...)
			case voice.OpDAVEMLSAnnounceCommit, voice.OpDAVEMLSWelcome:
				c.queue = nil
			case voice.OpDAVEPrepareEpoch:
				c.queue = nil
			}
		}
	}
}

// parseProposals reads proposal_messages the way a client must: each an MLSMessage holding a
// PublicMessage proposal from external sender 0, signed over FramedContentTBS without a group
// context, with no membership tag.
func (h *harness) parseProposals(b []byte) []gotProposal {
	h.t.Helper()
	var out []gotProposal
	for len(b) > 0 {
		msg := b
		rd := func(n int) []byte {
			if len(b) < n {
				h.t.Fatalf("proposal message truncated")
			}
			p := b[:n]
			b = b[n:]
			return p
		}
		vec := func() []byte {
			n := int(b[0] & 0x3f)
			l := 1 << (b[0] >> 6)
			for i := 1; i < l; i++ {
				n = n<<8 | int(b[i])
			}
			rd(l)
			return rd(n)
		}
		var g gotProposal
		if v := binary.BigEndian.Uint16(rd(2)); v != 1 {
			h.t.Fatalf("version %d", v)
		}
		if w := binary.BigEndian.Uint16(rd(2)); w != 1 {
			h.t.Fatalf("wire format %d, want public_message", w)
		}
		g.groupID = vec()
		g.epoch = binary.BigEndian.Uint64(rd(8))
		if st := rd(1)[0]; st != 2 {
			h.t.Fatalf("sender type %d, want external", st)
		}
		if idx := binary.BigEndian.Uint32(rd(4)); idx != 0 {
			h.t.Fatalf("sender index %d", idx)
		}
		if ad := vec(); len(ad) != 0 {
			h.t.Fatalf("authenticated data %x", ad)
		}
		if ct := rd(1)[0]; ct != 2 {
			h.t.Fatalf("content type %d, want proposal", ct)
		}
		switch pt := binary.BigEndian.Uint16(rd(2)); pt {
		case 1:
			g.add = true
			i := slices.IndexFunc(h.known, func(kp []byte) bool { return bytes.HasPrefix(b, kp) })
			if i < 0 {
				h.t.Fatalf("add proposal carries a key package the test never built")
			}
			g.kp = rd(len(h.known[i]))
		case 3:
			g.removed = binary.BigEndian.Uint32(rd(4))
		default:
			h.t.Fatalf("proposal type %d", pt)
		}
		tbsLen := len(msg) - len(b)
		sig := vec()
		if !tVerify(h.pub, "FramedContentTBS", msg[:tbsLen], sig) {
			h.t.Fatalf("proposal signature does not verify with the op 25 key")
		}
		msgLen := len(msg) - len(b)
		g.ref = tRef("MLS 1.0 Proposal Reference", msg[2:msgLen])
		out = append(out, g)
	}
	return out
}

// join connects a DAVE client and returns what the server sent.
func (h *harness) join(u uint64) []Out {
	h.t.Helper()
	c := h.clients[u]
	if c == nil {
		c = &fakeClient{id: u, sig: newSigKey(h.t)}
		h.clients[u] = c
	}
	c.queue = nil
	outs := h.s.Join(u, 1)
	h.deliver(outs)
	return outs
}

// sendKP makes and sends a fresh key package for u.
func (h *harness) sendKP(u uint64) []Out {
	h.t.Helper()
	c := h.clients[u]
	c.kp = makeKeyPackage(h.t, defaultKP(u, c.sig))
	h.known = append(h.known, c.kp)
	outs, err := h.s.HandleBinary(u, voice.BinaryMessage{Op: voice.OpDAVEMLSKeyPackage, Payload: c.kp})
	if err != nil {
		h.t.Fatalf("key package of %d: %v", u, err)
	}
	h.deliver(outs)
	return outs
}

func (h *harness) leave(u uint64) []Out {
	h.t.Helper()
	delete(h.clients, u)
	outs := h.s.Leave(u)
	h.deliver(outs)
	return outs
}

// commitPayload builds u's op 28 for everything in its queue, with a path when it removes
// someone and a welcome when it adds someone.
func (h *harness) commitPayload(u uint64, leaf uint32, epoch uint64) []byte {
	h.t.Helper()
	c := h.clients[u]
	spec := commitSpec{groupID: h.groupID(), epoch: epoch, leaf: leaf, pathUser: u, pathSig: sigPub(h.t, c.sig)}
	var joinRefs [][]byte
	for _, g := range c.queue {
		spec.refs = append(spec.refs, g.ref)
		if g.add {
			joinRefs = append(joinRefs, tRef("MLS 1.0 KeyPackage Reference", g.kp))
		} else {
			spec.path = true
		}
	}
	p := makeCommit(h.t, spec)
	if len(joinRefs) > 0 {
		p = append(p, makeWelcome(joinRefs...)...)
	}
	return p
}

func (h *harness) commit(u uint64, leaf uint32, epoch uint64) ([]Out, error) {
	h.t.Helper()
	outs, err := h.s.HandleBinary(u, voice.BinaryMessage{Op: voice.OpDAVEMLSCommitWelcome, Payload: h.commitPayload(u, leaf, epoch)})
	if err == nil {
		h.deliver(outs)
	}
	return outs, err
}

func (h *harness) mustCommit(u uint64, leaf uint32, epoch uint64) []Out {
	h.t.Helper()
	outs, err := h.commit(u, leaf, epoch)
	if err != nil {
		h.t.Fatalf("commit by %d: %v", u, err)
	}
	if len(outs) == 0 {
		h.t.Fatalf("commit by %d was not announced", u)
	}
	return outs
}

func (h *harness) jsonOp(u uint64, op voice.Op, tid uint16) []Out {
	h.t.Helper()
	d, _ := json.Marshal(map[string]uint16{"transition_id": tid})
	outs, err := h.s.HandleJSON(u, op, d)
	if err != nil {
		h.t.Fatalf("%s from %d: %v", op, u, err)
	}
	h.deliver(outs)
	return outs
}

// readyAll sends op 23 from every user for the pending transition and returns the output.
func (h *harness) readyAll(users ...uint64) []Out {
	h.t.Helper()
	tid, ok := h.s.TransitionPending()
	if !ok {
		h.t.Fatalf("no transition pending")
	}
	var outs []Out
	for _, u := range users {
		outs = append(outs, h.jsonOp(u, voice.OpDAVEReadyForTransition, tid)...)
	}
	return outs
}

// find returns the Outs with op to user u (To nil counts for everyone).
func find(outs []Out, op voice.Op, u uint64) []Out {
	var r []Out
	for _, o := range outs {
		if o.Op == op && (o.To == nil || slices.Contains(o.To, u)) {
			r = append(r, o)
		}
	}
	return r
}

// establish builds a group of the given users in order: the first two create it (the first
// commits), the rest are added one commit at a time by the first user. It ends with no
// transition pending.
func (h *harness) establish(users ...uint64) {
	h.t.Helper()
	for _, u := range users[:2] {
		h.join(u)
		h.sendKP(u)
	}
	h.mustCommit(users[0], 0, 0)
	h.readyAll(users[:2]...)
	for i, u := range users[2:] {
		h.join(u)
		h.sendKP(u)
		h.mustCommit(users[0], 0, h.s.Epoch())
		h.readyAll(users[:i+3]...)
	}
}
