package voice

import (
	"github.com/cordage/cordage/connections/voice/dave"
	vgw "github.com/cordage/cordage/events/voice"
)

// e2ee is the DAVE session as the runtime drives it; *dave.Session implements it. It must be
// safe for concurrent use: the session goroutine feeds it protocol messages while Send encrypts
// and the UDP reader decrypts.
type e2ee interface {
	SetProtocolVersion(v int) ([]dave.Message, error)
	ClientsConnect(ids []uint64)
	ClientDisconnect(id uint64)
	HandleJSON(op vgw.Op, d []byte) ([]dave.Message, error)
	HandleBinary(m vgw.BinaryMessage) ([]dave.Message, error)
	Encrypt(dst, opus []byte) ([]byte, error)
	Decrypt(userID uint64, dst, frame []byte) ([]byte, error)
	ProtocolVersion() int
	EpochAuthenticator() []byte
	PrivacyCode() string
}

// newE2EE makes the DAVE session for one voice session (created at Ready, kept across resumes).
func (c *Conn) newE2EE(channelID uint64) (e2ee, error) {
	return dave.NewSession(dave.SessionConfig{
		UserID: uint64(c.m.user()), ChannelID: channelID, SignatureKey: c.cfg.SignatureKey,
		Clock: c.clk, Logger: c.log.Named("dave"),
	})
}

// DAVEProtocolVersion is the DAVE version in effect: 0 when media is not end-to-end encrypted.
func (c *Conn) DAVEProtocolVersion() int {
	if d := c.e2ee(); d != nil {
		return d.ProtocolVersion()
	}
	return 0
}

// EpochAuthenticator is the current MLS epoch's authenticator (nil without DAVE): equal for
// every member of the call, so users can compare it out of band.
func (c *Conn) EpochAuthenticator() []byte {
	if d := c.e2ee(); d != nil {
		return d.EpochAuthenticator()
	}
	return nil
}

// PrivacyCode is the call's displayable voice privacy code ("" without DAVE).
func (c *Conn) PrivacyCode() string {
	if d := c.e2ee(); d != nil {
		return d.PrivacyCode()
	}
	return ""
}
