package dave

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Sender keys. Every member derives each sender's base secret from the MLS exporter of the
// current epoch, then runs the MLS hash ratchet (RFC 9420 §9.1) on it to get one AES-128 key per
// generation. DAVE uses ciphersuite 2, so the KDF is HKDF-SHA256 (Nh = 32) and keys are 16 bytes.

// Sizes and labels of the sender key derivation.
const (
	// ExporterLabel is the MLS exporter label for sender base secrets.
	ExporterLabel = "Discord Secure Frames v0"
	// KeyLen is the AES-128 key length (and the exported base secret length).
	KeyLen  = 16
	hashLen = sha256.Size
	// maxRatchetStep bounds how far one Key call may move a ratchet, so that a caller can never
	// be made to derive millions of secrets. The decryptor's own limit (MaxGenerationGap) is far
	// below it.
	maxRatchetStep = 1 << 16
)

// expandWithLabel is RFC 9420's ExpandWithLabel over HKDF-SHA256:
// Expand(secret, KDFLabel{u16 length, "MLS 1.0 "+label <V>, context <V>}, length).
func expandWithLabel(secret []byte, label string, context []byte, length int) []byte {
	full := "MLS 1.0 " + label
	info := make([]byte, 0, 2+2+len(full)+4+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = appendMLSVector(info, []byte(full))
	info = appendMLSVector(info, context)
	out, err := hkdf.Expand(sha256.New, secret, string(info), length)
	if err != nil {
		// Only a length over 255·32 fails, and every length here is a constant below that.
		panic("dave: hkdf expand: " + err.Error())
	}
	return out
}

// appendMLSVector appends body with an MLS varint length; bodies here are short labels, contexts
// and hashes (< 2^14 bytes).
func appendMLSVector(dst, body []byte) []byte {
	if n := len(body); n < 1<<6 {
		dst = append(dst, byte(n))
	} else {
		dst = append(dst, byte(n>>8)|0x40, byte(n))
	}
	return append(dst, body...)
}

// exportSecret is RFC 9420's MLS-Exporter (§8.5) on an epoch's exporter_secret:
// ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported", Hash(context), length).
func exportSecret(exporterSecret []byte, label string, context []byte, length int) []byte {
	return exportWithInnerLabel(exporterSecret, label, context, length, "exported")
}

// exportWithInnerLabel is the exporter with the inner label as a parameter: drafts of MLS used
// "exporter" there, and the published test vectors we check the construction against still do.
func exportWithInnerLabel(exporterSecret []byte, label string, context []byte, length int, inner string) []byte {
	derived := expandWithLabel(exporterSecret, label, nil, hashLen)
	h := sha256.Sum256(context)
	return expandWithLabel(derived, inner, h[:], length)
}

// SenderContext is the exporter context for a sender: the user id as a little-endian u64.
func SenderContext(userID uint64) [8]byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], userID)
	return b
}

// SenderBaseSecret derives a sender's ratchet base secret from an epoch's MLS exporter_secret:
// MLS-Exporter("Discord Secure Frames v0", user id as little-endian u64, 16). An MLS layer that
// exposes only MLS-Exporter gets the same value from Export(ExporterLabel, SenderContext(id), 16).
func SenderBaseSecret(exporterSecret []byte, userID uint64) []byte {
	ctx := SenderContext(userID)
	return exportSecret(exporterSecret, ExporterLabel, ctx[:], KeyLen)
}

// KeyRatchet is the MLS hash ratchet for one sender in one epoch:
//
//	secret_0   = base
//	key_g      = ExpandWithLabel(secret_g, "key", u32 g, 16)
//	secret_g+1 = ExpandWithLabel(secret_g, "secret", u32 g, 32)
//
// It only moves forward. Keys of skipped generations are kept until erased, so frames that
// arrive out of order across a generation change still decrypt. Not safe for concurrent use.
type KeyRatchet struct {
	next   uint32 // generation whose secret is held
	secret []byte
	keys   map[uint32][KeyLen]byte // derived, not yet erased
	spent  bool                    // next wrapped past 2^32-1: nothing more to derive
}

// NewKeyRatchet starts a ratchet at generation 0 from a base secret (16 bytes from the exporter
// in DAVE; any non-empty length works). It copies base.
func NewKeyRatchet(base []byte) *KeyRatchet {
	return &KeyRatchet{secret: append([]byte(nil), base...), keys: make(map[uint32][KeyLen]byte)}
}

var errGeneration = errors.New("dave: generation erased or out of reach")

// Key returns the key for generation gen, deriving forward as needed. It fails for a generation
// that was erased or passed without being kept, and for one more than 2^16 ahead.
func (r *KeyRatchet) Key(gen uint32) ([KeyLen]byte, error) {
	if k, ok := r.keys[gen]; ok {
		return k, nil
	}
	if r.spent || gen < r.next || gen-r.next >= maxRatchetStep {
		return [KeyLen]byte{}, errGeneration
	}
	var ctx [4]byte
	for {
		g := r.next
		binary.BigEndian.PutUint32(ctx[:], g)
		var k [KeyLen]byte
		copy(k[:], expandWithLabel(r.secret, "key", ctx[:], KeyLen))
		next := expandWithLabel(r.secret, "secret", ctx[:], hashLen)
		clear(r.secret)
		r.secret = next
		r.keys[g] = k
		r.next++
		if r.next == 0 {
			r.spent = true
		}
		if g == gen {
			return k, nil
		}
	}
}

// Erase forgets the key of generation gen.
func (r *KeyRatchet) Erase(gen uint32) {
	if k, ok := r.keys[gen]; ok {
		clear(k[:])
		delete(r.keys, gen)
	}
}
