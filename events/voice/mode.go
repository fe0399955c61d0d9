package voice

// Mode is a transport encryption mode for RTP over UDP.
type Mode string

// The two modes Discord still accepts. Every other mode was discontinued and a Select Protocol
// naming one is closed with 4016.
const (
	// ModeAES256GCMRTPSize: AES-256-GCM, 16-byte tag; preferred when offered.
	ModeAES256GCMRTPSize Mode = "aead_aes256_gcm_rtpsize"
	// ModeXChaCha20Poly1305RTPSize: XChaCha20-Poly1305, 16-byte tag; always offered, required.
	ModeXChaCha20Poly1305RTPSize Mode = "aead_xchacha20_poly1305_rtpsize"
)

// Supported reports whether m is a mode this vocabulary can encrypt with.
func (m Mode) Supported() bool {
	return m == ModeAES256GCMRTPSize || m == ModeXChaCha20Poly1305RTPSize
}

// ChooseMode picks the mode to select from the server's offer: AES-256-GCM when offered, else
// XChaCha20-Poly1305. ok is false when the offer holds neither.
func ChooseMode(offered []Mode) (m Mode, ok bool) {
	for _, o := range offered {
		if o == ModeAES256GCMRTPSize {
			return o, true
		}
	}
	for _, o := range offered {
		if o == ModeXChaCha20Poly1305RTPSize {
			return o, true
		}
	}
	return "", false
}
