// Package mls is the small part of RFC 9420 (Messaging Layer Security) that Discord's DAVE voice
// encryption needs, in pure Go on the standard library's crypto/hpke, crypto/ecdsa and
// crypto/hkdf.
//
// Scope: cipher suite 2 only (MLS_128_DHKEMP256_AES128GCM_SHA256_P256), basic credentials, Add and
// Remove proposals (from an external sender, as DAVE's voice server sends them, or from members),
// commits by reference with an UpdatePath when required, Welcome with an inline ratchet tree,
// PublicMessage framing, the key schedule, the exporter and the epoch authenticator. Not
// implemented: PrivateMessage, the secret tree and application messages, PSKs, ReInit, external
// commits, Update and GroupContextExtensions proposals, other suites and credential types.
//
// The usual DAVE flow, with one Group value per member and epoch:
//
//	signer, _ := mls.NewSigner(key)                      // ECDSA P-256
//	kp, _ := mls.NewKeyPackage(signer, userID)           // op 26 carries kp.KeyPackage.Marshal()
//	g, _ := mls.NewGroup(channelID, kp, mls.ExternalSendersExtension(server)) // pending group
//	g.ReceiveProposal(msg)                               // op 27, external Add/Remove
//	res, _ := g.Commit()                                 // op 28: res.Commit, res.Welcome
//	next, _ := g.ProcessCommit(announced)                // op 29 (or adopt res.Next if ours won)
//	joined, _ := mls.JoinWelcome(welcome, kp)            // op 30
//	base, _ := next.Export("Discord Secure Frames v0", senderIDLE, 16)
//
// Commit and ProcessCommit never modify their receiver; they return the next epoch's state.
// Every decoder checks bounds before use and reports a *DecodeError naming the structure and the
// byte offset; validation failures wrap the sentinel errors of this package (ErrBadSignature,
// ErrBadConfirmationTag, ...), so callers can use errors.Is and errors.As.
package mls
