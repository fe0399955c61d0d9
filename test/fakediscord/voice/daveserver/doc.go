// Package daveserver is Discord's server side of DAVE for one call, as the simulator's voice
// server needs it: the MLS external sender (op 25), key package validation (op 26), signed
// external Add and Remove proposals (op 27), the first-commit-wins rule (op 28, 29), welcome
// routing by KeyPackageRef (op 30), transitions (ops 21–24) and invalid commit recovery (op 31).
//
// A [Server] is a pure state machine: it starts no goroutine, opens no socket and reads time only
// from its clock. The voice server calls one method per event (a client identified, left, sent a
// DAVE message, or time passed) and sends the returned [Out] messages. A Server is not safe for
// concurrent use; the voice server serialises calls, as it does for the call's other state.
//
// The package is written independently of connections/voice/mls on purpose: the simulator's
// encoder and the client's decoder (and the other way round) are two readings of RFC 9420 that
// check each other. It knows only the MLS structures the server touches (KeyPackage, LeafNode,
// PublicMessage, Commit, Welcome); it never holds a group secret and cannot decrypt anything.
package daveserver
