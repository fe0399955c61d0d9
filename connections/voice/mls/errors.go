package mls

import "errors"

// Validation failures. Errors returned by this package wrap one of these (or a *DecodeError), so
// callers can branch with errors.Is / errors.As.
var (
	ErrUnsupported          = errors.New("unsupported")
	ErrInvalidKey           = errors.New("invalid key")
	ErrBadSignature         = errors.New("bad signature")
	ErrBadMembershipTag     = errors.New("bad membership tag")
	ErrBadConfirmationTag   = errors.New("bad confirmation tag")
	ErrWrongGroup           = errors.New("message for another group")
	ErrWrongEpoch           = errors.New("message for another epoch")
	ErrUnknownSender        = errors.New("unknown sender")
	ErrUnknownProposal      = errors.New("unknown proposal reference")
	ErrInvalidProposal      = errors.New("invalid proposal")
	ErrInvalidCommit        = errors.New("invalid commit")
	ErrInvalidLeafNode      = errors.New("invalid leaf node")
	ErrInvalidKeyPackage    = errors.New("invalid key package")
	ErrTreeHash             = errors.New("tree hash mismatch")
	ErrParentHash           = errors.New("parent hash invalid")
	ErrInvalidTree          = errors.New("invalid ratchet tree")
	ErrDecrypt              = errors.New("decryption failed")
	ErrNoMatchingKeyPackage = errors.New("welcome has no secrets for this key package")
	ErrInvalidWelcome       = errors.New("invalid welcome")
)
