package mls

// epochSecrets are the values RFC 9420 §8 derives from one epoch secret.
type epochSecrets struct {
	senderData    []byte
	encryption    []byte
	exporter      []byte
	external      []byte
	confirmation  []byte
	membership    []byte
	resumption    []byte
	authenticator []byte
	init          []byte
}

func deriveEpochSecrets(epochSecret []byte) epochSecrets {
	return epochSecrets{
		senderData:    deriveSecret(epochSecret, "sender data"),
		encryption:    deriveSecret(epochSecret, "encryption"),
		exporter:      deriveSecret(epochSecret, "exporter"),
		external:      deriveSecret(epochSecret, "external"),
		confirmation:  deriveSecret(epochSecret, "confirm"),
		membership:    deriveSecret(epochSecret, "membership"),
		resumption:    deriveSecret(epochSecret, "resumption"),
		authenticator: deriveSecret(epochSecret, "authentication"),
		init:          deriveSecret(epochSecret, "init"),
	}
}

// joinerSecret combines the previous init secret with the commit secret under the new context.
func joinerSecret(initSecret, commitSecret, groupContext []byte) []byte {
	return expandWithLabel(extract(initSecret, commitSecret), "joiner", groupContext, hashLen)
}

// fromJoiner derives the welcome secret and the epoch secrets (no PSKs: psk_secret is zero).
func fromJoiner(joiner, groupContext []byte) (welcome []byte, s epochSecrets) {
	return fromJoinerPSK(joiner, make([]byte, hashLen), groupContext)
}

func fromJoinerPSK(joiner, pskSecret, groupContext []byte) (welcome []byte, s epochSecrets) {
	member := extract(joiner, pskSecret)
	welcome = deriveSecret(member, "welcome")
	epoch := expandWithLabel(member, "epoch", groupContext, hashLen)
	return welcome, deriveEpochSecrets(epoch)
}

func welcomeKeyNonce(welcomeSecret []byte) (key, nonce []byte) {
	return expandWithLabel(welcomeSecret, "key", nil, aeadKey),
		expandWithLabel(welcomeSecret, "nonce", nil, aeadNonc)
}

// exporter is RFC 9420 §8.5 MLS-Exporter.
func exporter(exporterSecret []byte, label string, context []byte, length int) []byte {
	return expandWithLabel(deriveSecret(exporterSecret, label), "exported", hashBytes(context), length)
}

// interimTranscriptHash folds the confirmation tag into the confirmed transcript hash.
func interimTranscriptHash(confirmed, confirmationTag []byte) []byte {
	return hashBytes(encode(func(w *writer) {
		w.b = append(w.b, confirmed...)
		w.opaque(confirmationTag)
	}))
}

// confirmedTranscriptHash hashes the previous interim hash with the commit's content and signature.
func confirmedTranscriptHash(interim []byte, content *FramedContent, signature []byte) []byte {
	return hashBytes(encode(func(w *writer) {
		w.b = append(w.b, interim...)
		w.u16(WireFormatPublicMessage)
		content.marshal(w)
		w.opaque(signature)
	}))
}
