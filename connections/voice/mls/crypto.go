package mls

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
)

// CipherSuite is an MLS cipher suite identifier. Only CipherSuiteP256 is implemented.
type CipherSuite uint16

// CipherSuiteP256 is MLS_128_DHKEMP256_AES128GCM_SHA256_P256 (RFC 9420 suite 2), the one DAVE uses.
const CipherSuiteP256 CipherSuite = 2

// ProtocolVersion mls10 is the only version.
const mls10 uint16 = 1

const (
	hashLen  = sha256.Size // KDF.Nh
	aeadKey  = 16          // AEAD.Nk for AES-128-GCM
	aeadNonc = 12          // AEAD.Nn
)

const labelPrefix = "MLS 1.0 "

var (
	hpkeKEM  = hpke.DHKEM(ecdh.P256())
	hpkeKDF  = hpke.HKDFSHA256()
	hpkeAEAD = hpke.AES128GCM()
)

func hashBytes(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func extract(salt, ikm []byte) []byte {
	out, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		// HKDF-SHA256 extract cannot fail; keep the invariant loud in development.
		panic("mls: hkdf extract: " + err.Error())
	}
	return out
}

// expandWithLabel is RFC 9420 §8 ExpandWithLabel.
func expandWithLabel(secret []byte, label string, context []byte, length int) []byte {
	info := encode(func(w *writer) {
		w.u16(uint16(length))
		w.opaque([]byte(labelPrefix + label))
		w.opaque(context)
	})
	out, err := hkdf.Expand(sha256.New, secret, string(info), length)
	if err != nil {
		panic("mls: hkdf expand: " + err.Error()) // only for length > 255*32, never asked for
	}
	return out
}

func deriveSecret(secret []byte, label string) []byte {
	return expandWithLabel(secret, label, nil, hashLen)
}

func mac(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func macEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// refHash is RFC 9420 §5.2 RefHash.
func refHash(label string, value []byte) []byte {
	return hashBytes(encode(func(w *writer) {
		w.opaque([]byte(label))
		w.opaque(value)
	}))
}

func signContent(label string, content []byte) []byte {
	return encode(func(w *writer) {
		w.opaque([]byte(labelPrefix + label))
		w.opaque(content)
	})
}

// signWithLabel is RFC 9420 §5.1.2 SignWithLabel: ECDSA P-256 over SHA-256, DER encoded.
func signWithLabel(key *ecdsa.PrivateKey, label string, content []byte) ([]byte, error) {
	digest := sha256.Sum256(signContent(label, content))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("mls: sign %s: %w", label, err)
	}
	return sig, nil
}

// verifyWithLabel checks a signature against a 65-byte uncompressed P-256 public key.
func verifyWithLabel(pub []byte, label string, content, sig []byte) bool {
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		return false
	}
	digest := sha256.Sum256(signContent(label, content))
	return ecdsa.VerifyASN1(pk, digest[:], sig)
}

// SignaturePublicKey returns the MLS encoding of an ECDSA P-256 public key (uncompressed point).
func SignaturePublicKey(k *ecdsa.PublicKey) ([]byte, error) {
	if k == nil || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("mls: %w: signature key must be ECDSA P-256", ErrUnsupported)
	}
	return k.Bytes()
}

// GenerateSignatureKey makes a fresh ECDSA P-256 signature key (DAVE uses one per call).
func GenerateSignatureKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// hpkeCiphertext is RFC 9420 HPKECiphertext.
type hpkeCiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

func (c *hpkeCiphertext) marshal(w *writer) {
	w.opaque(c.KEMOutput)
	w.opaque(c.Ciphertext)
}

func (c *hpkeCiphertext) unmarshal(r *reader) {
	defer r.enter("HPKECiphertext")()
	c.KEMOutput = r.opaque()
	c.Ciphertext = r.opaque()
}

func encryptContext(label string, context []byte) []byte {
	return encode(func(w *writer) {
		w.opaque([]byte(labelPrefix + label))
		w.opaque(context)
	})
}

// encryptWithLabel is RFC 9420 §5.1.3 EncryptWithLabel (HPKE base mode, empty AAD).
func encryptWithLabel(pub []byte, label string, context, plaintext []byte) (hpkeCiphertext, error) {
	pk, err := hpkeKEM.NewPublicKey(pub)
	if err != nil {
		return hpkeCiphertext{}, fmt.Errorf("mls: %w: HPKE public key: %v", ErrInvalidKey, err)
	}
	enc, s, err := hpke.NewSender(pk, hpkeKDF, hpkeAEAD, encryptContext(label, context))
	if err != nil {
		return hpkeCiphertext{}, fmt.Errorf("mls: hpke setup: %w", err)
	}
	ct, err := s.Seal(nil, plaintext)
	if err != nil {
		return hpkeCiphertext{}, fmt.Errorf("mls: hpke seal: %w", err)
	}
	return hpkeCiphertext{KEMOutput: enc, Ciphertext: ct}, nil
}

func decryptWithLabel(priv hpke.PrivateKey, label string, context []byte, ct hpkeCiphertext) ([]byte, error) {
	rcp, err := hpke.NewRecipient(ct.KEMOutput, priv, hpkeKDF, hpkeAEAD, encryptContext(label, context))
	if err != nil {
		return nil, fmt.Errorf("mls: %w: %s: %v", ErrDecrypt, label, err)
	}
	pt, err := rcp.Open(nil, ct.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("mls: %w: %s: %v", ErrDecrypt, label, err)
	}
	return pt, nil
}

// deriveNodeKey turns a path secret into the node's HPKE key pair (RFC 9420 §7.4).
func deriveNodeKey(pathSecret []byte) (hpke.PrivateKey, error) {
	k, err := hpkeKEM.DeriveKeyPair(deriveSecret(pathSecret, "node"))
	if err != nil {
		return nil, fmt.Errorf("mls: derive node key: %w", err)
	}
	return k, nil
}

func generateHPKEKey() (hpke.PrivateKey, error) {
	return hpkeKEM.GenerateKey()
}

func aeadSeal(key, nonce, plaintext []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("mls: aes key size") // keys come from our own key schedule, always 16 bytes
	}
	g, _ := cipher.NewGCM(block)
	return g.Seal(nil, nonce, plaintext, nil)
}

func aeadOpen(key, nonce, ciphertext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, _ := cipher.NewGCM(block)
	return g.Open(nil, nonce, ciphertext, nil)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
